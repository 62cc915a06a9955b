package dev.flyer.cli.internal;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.flyer.eplb.EplbJson;
import dev.flyer.eplb.ExpertLoadBalancer;
import dev.flyer.eplb.LoadReport;
import dev.flyer.eplb.Placement;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code flyer eplb [FILE]}: the expert-parallel load balancer on JSON input. */
@Command(name = "eplb", mixinStandardHelpOptions = true,
        description = {"Expert-parallel load balancer (EPLB's rebalance_experts).",
            "Reads {\"weight\": [[...]], \"num_replicas\": R, \"num_groups\": G, \"num_nodes\": N, \"num_gpus\": P}",
            "(or an array of them) and prints {\"phy2log\", \"log2phy\", \"logcnt\"} (an array for an array)."})
public final class EplbCommand implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "FILE", description = "Input JSON (default or '-': standard input).")
    String file;

    @Option(names = "--report", description = "Print a per-layer load table (max/mean per GPU before and after) "
            + "instead of JSON.")
    boolean report;

    @Option(names = "--avoid-colocation", description = "Keep replicas of one expert on different GPUs where "
            + "the maximum GPU load allows it (not in the original).")
    boolean avoidColocation;

    @Override
    public Integer call() throws Exception {
        EplbJson.Input input;
        if (file == null || file.equals("-")) {
            input = EplbJson.read(System.in);
        } else {
            try (InputStream in = Files.newInputStream(Path.of(file))) {
                input = EplbJson.read(in);
            }
        }
        ExpertLoadBalancer.Options options = new ExpertLoadBalancer.Options(avoidColocation);
        ArrayNode outputs = EplbJson.array();
        for (int i = 0; i < input.requests().size(); i++) {
            EplbJson.Request r = input.requests().get(i);
            Placement p = r.solve(options);
            if (report) {
                if (input.array()) {
                    System.out.println("request " + i + ":");
                }
                System.out.printf("%d layers, %d experts -> %d replicas on %d nodes / %d GPUs (%s policy)%n",
                        p.layers(), p.numLogical(), p.numReplicas(), r.numNodes(), r.numGpus(),
                        r.numGroups() % r.numNodes() == 0 ? "hierarchical" : "global");
                LoadReport.of(r.weight(), p, r.numGpus()).print(System.out);
            } else {
                outputs.add(EplbJson.toJson(p));
            }
        }
        if (!report) {
            System.out.println(EplbJson.text(input.array() ? outputs : outputs.get(0)));
        }
        return 0;
    }
}
