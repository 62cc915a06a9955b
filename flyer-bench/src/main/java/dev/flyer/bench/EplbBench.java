package dev.flyer.bench;

import dev.flyer.eplb.ExpertLoadBalancer;
import java.util.List;
import java.util.Random;

/**
 * {@code flyer bench eplb}: milliseconds to rebalance DeepSeek-V3-sized load statistics
 * (58 MoE layers x 256 experts in 8 groups) for the deployments EPLB is used for. The original
 * runs in PyTorch, which this machine's registries cannot install, so there is no peer column.
 */
public final class EplbBench {
    /** One deployment: replicas, nodes, GPUs. */
    public record Deployment(int replicas, int nodes, int gpus) {}

    public static final List<Deployment> DEPLOYMENTS = List.of(
            new Deployment(288, 4, 32), new Deployment(320, 8, 64), new Deployment(288, 18, 144),
            new Deployment(320, 20, 160), new Deployment(512, 32, 256));

    private EplbBench() {}

    public static int steps() {
        return DEPLOYMENTS.size();
    }

    public static BenchReport run(long warmupNs, int samples, Progress progress) {
        BenchReport report = new BenchReport("flyer bench eplb (58 layers x 256 experts, 8 groups, Zipf-skewed loads)");
        double[][] weight = zipfLoads(58, 256, new Random(2025));
        for (Deployment d : DEPLOYMENTS) {
            String policy = 8 % d.nodes() == 0 ? "hierarchical" : "global";
            progress.step(d.replicas() + " replicas on " + d.gpus() + " GPUs");
            double seconds = Measure.bestSeconds(
                    () -> ExpertLoadBalancer.rebalance(weight, d.replicas(), 8, d.nodes(), d.gpus()), warmupNs, samples);
            report.add(BenchRow.of("rebalance -> " + d.replicas() + " replicas, " + d.nodes() + " nodes / "
                    + d.gpus() + " GPUs (" + policy + ")", "ms", seconds * 1e3));
            progress.done();
        }
        report.note("lower is better; the original (PyTorch) cannot be installed here, so no peer runs beside it");
        return report;
    }

    /** Token counts per expert drawn from a Zipf-like law with a random expert order per layer. */
    public static double[][] zipfLoads(int layers, int experts, Random random) {
        double[][] w = new double[layers][experts];
        for (int l = 0; l < layers; l++) {
            for (int e = 0; e < experts; e++) {
                int rank = 1 + random.nextInt(experts);
                w[l][e] = Math.round(100_000.0 / Math.pow(rank, 0.8) * (0.5 + random.nextDouble()));
            }
        }
        return w;
    }
}
