package dev.flyer.ep;

import dev.flyer.core.tensor.Tensor;
import dev.flyer.dist.DistEnv;
import dev.flyer.dist.ProcessGroup;
import java.lang.foreign.Arena;
import java.time.Duration;

/**
 * A rank of the multi-process test: nodes of two ranks (shared memory inside, TCP across), a
 * two-hop normal round trip and a low-latency round trip, each checked; prints one line when good.
 */
public final class EpCheckMain {
    private EpCheckMain() {}

    public static void main(String[] args) throws Exception {
        DistEnv env = DistEnv.fromEnvironment();
        int perNode = Integer.parseInt(args[0]);
        ProcessGroup.Options o = ProcessGroup.Options.defaults().withTimeout(Duration.ofSeconds(30)).byNode(perNode);
        try (ProcessGroup g = ProcessGroup.init(env, o);
             EpBuffer buffer = new EpBuffer(g, EpConfig.defaults().withRanksPerNode(perNode).withLowLatencyBytes(1L << 28));
             Arena arena = Arena.ofShared()) {
            int rank = g.rank();
            int experts = 4 * g.size();
            Routing routing = EpJob.routing(1000 + rank, 32, 3, experts, 4);
            Tensor x = EpJob.bf16(arena, 32, 256, (t, c) -> rank);
            DispatchResult d = buffer.dispatch(DispatchRequest.of(x, routing, experts).into(arena)).await();
            int[] prefix = d.handle().recvPrefix();
            for (int s = 0; s < g.size(); s++) {
                for (int row = prefix[s]; row < prefix[s + 1]; row++) {
                    if (d.recvX().getFloat(row, 255) != s) {
                        throw new IllegalStateException("row " + row + " should come from rank " + s);
                    }
                }
            }
            CombineResult c = buffer.combine(CombineRequest.of(d.recvX(), d.handle()).into(arena)).await();
            int[] reached = d.handle().ranksPerToken();
            for (int t = 0; t < 32; t++) {
                if (c.combinedX().getFloat(t, 0) != (float) rank * reached[t]) {
                    throw new IllegalStateException("token " + t + " combined to " + c.combinedX().getFloat(t, 0));
                }
            }
            LowLatencyDispatchResult ll = buffer.lowLatencyDispatch(
                    LowLatencyDispatchRequest.of(x, routing, 32, experts).withHook(true)).await();
            int total = 0;
            for (int n : ll.recvCount()) {
                total += n;
            }
            g.barrier();
            System.out.println("rank " + rank + " of " + g.size() + " ep ok: " + d.numRecvTokens() + " rows, "
                    + total + " low-latency rows, via " + g.transportTo((rank + perNode) % g.size()));
        }
    }
}
