package dev.flyer.cli.internal;

import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.dist.DistEnv;
import dev.flyer.dist.ProcessGroup;
import dev.flyer.ep.CombineRequest;
import dev.flyer.ep.CombineResult;
import dev.flyer.ep.DispatchRequest;
import dev.flyer.ep.DispatchResult;
import dev.flyer.ep.EpBuffer;
import dev.flyer.ep.EpConfig;
import dev.flyer.ep.LowLatencyCombineRequest;
import dev.flyer.ep.LowLatencyDispatchRequest;
import dev.flyer.ep.LowLatencyDispatchResult;
import dev.flyer.ep.Routing;
import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flyer ep ...}: expert-parallel dispatch and combine in a job a launcher set up. */
@Command(name = "ep", mixinStandardHelpOptions = true, description = "MoE expert-parallel communication (DeepEP).",
        subcommands = EpCommand.Check.class)
public final class EpCommand extends CommandGroup {

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = {"Join the job from the environment and check a normal and a low-latency",
                "dispatch/combine round trip with tokens that carry their rank.",
                "Example: flyer launch -n 4 -- ep check --ranks-per-node 2"})
    static final class Check implements Callable<Integer> {
        @Option(names = "--ranks-per-node", defaultValue = "0",
                description = "Ranks per node: shared memory inside, TCP across (default: all ranks one node).")
        int perNode;

        @Option(names = "--tokens", defaultValue = "64", description = "Tokens per rank (default: ${DEFAULT-VALUE}).")
        int tokens;

        @Option(names = "--hidden", defaultValue = "512", description = "Hidden size, a multiple of 512 (default: ${DEFAULT-VALUE}).")
        int hidden;

        @Override
        public Integer call() throws Exception {
            DistEnv env = DistEnv.fromEnvironment();
            int nodeRanks = perNode > 0 ? perNode : env.worldSize();
            ProcessGroup.Options o = ProcessGroup.Options.defaults().byNode(nodeRanks);
            int experts = 8 * env.worldSize();
            int topk = Math.min(4, experts);
            try (ProcessGroup g = ProcessGroup.init(env, o);
                 EpBuffer buffer = new EpBuffer(g, EpConfig.defaults().withRanksPerNode(nodeRanks)
                         .withLowLatencyBytes(EpBuffer.lowLatencySizeHint(tokens, hidden, g.size(), experts, topk)));
                 Arena arena = Arena.ofShared()) {
                int rank = g.rank();
                // random experts, weights 1/topk: identity experts then give back x exactly
                Routing random = Routing.random(new Random(rank), tokens, topk, experts);
                float[] weights = new float[random.topkIdx().length];
                java.util.Arrays.fill(weights, 1f / topk);
                Routing routing = new Routing(tokens, topk, random.topkIdx(), weights);
                Tensor x = Tensor.allocate(arena, DType.BF16, tokens, hidden);
                for (int t = 0; t < tokens; t++) {
                    for (int c = 0; c < hidden; c++) {
                        x.setFloat(rank, t, c);
                    }
                }
                long t0 = System.nanoTime();
                DispatchResult d = buffer.dispatch(DispatchRequest.of(x, routing, experts)).await();
                int[] prefix = d.handle().recvPrefix();
                for (int s = 0; s < g.size(); s++) {
                    for (int row = prefix[s]; row < prefix[s + 1]; row++) {
                        if (d.recvX().getFloat(row, hidden - 1) != s) {
                            throw new IllegalStateException("received row " + row + " does not come from rank " + s);
                        }
                    }
                }
                CombineResult c = buffer.combine(CombineRequest.of(d.recvX(), d.handle())).await();
                int[] reached = d.handle().ranksPerToken();
                for (int t = 0; t < tokens; t++) {
                    if (c.combinedX().getFloat(t, 0) != (float) rank * reached[t]) {
                        throw new IllegalStateException("token " + t + " combined to " + c.combinedX().getFloat(t, 0));
                    }
                }
                LowLatencyDispatchResult ll = buffer.lowLatencyDispatch(LowLatencyDispatchRequest.of(x, routing, tokens,
                        experts).withFp8(false, false, false).withHook(true)).await();
                // identity experts: each token comes back as x times the sum of its weights (1)
                Tensor back = buffer.lowLatencyCombine(LowLatencyCombineRequest.of(ll.recvX(), routing, ll.handle()))
                        .await();
                for (int t = 0; t < tokens; t++) {
                    if (back.getFloat(t, 0) != rank) {
                        throw new IllegalStateException("low-latency token " + t + " combined to " + back.getFloat(t, 0));
                    }
                }
                double ms = (System.nanoTime() - t0) / 1e6;
                g.barrier();
                System.out.printf("rank %d of %d: normal %d rows in, low latency %d rows in, combined %d tokens "
                                + "(%.1f ms) ok; to rank %d via %s%n", rank, g.size(), d.numRecvTokens(),
                        java.util.Arrays.stream(ll.recvCount()).sum(), back.size(0), ms, (rank + 1) % g.size(),
                        g.size() > 1 ? g.transportTo((rank + 1) % g.size()) : "-");
            }
            return 0;
        }
    }
}
