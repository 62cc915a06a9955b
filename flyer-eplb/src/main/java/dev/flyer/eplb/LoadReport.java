package dev.flyer.eplb;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Per-GPU load of a placement against the plain expert-parallel placement without redundancy
 * (expert {@code e} of {@code E} on GPU {@code floor(e * numGpus / E)}): the load of a GPU is the
 * sum over its slots of {@code weight[expert] / replicas(expert)}; imbalance is max / mean.
 *
 * @param before {@code [layers][numGpus]} loads without rebalancing
 * @param after {@code [layers][numGpus]} loads with the placement
 * @param colocated {@code [layers]} (GPU, expert) pairs holding more than one replica of the expert
 */
public record LoadReport(double[][] before, double[][] after, int[] colocated) {
    /** Measures {@code placement} for {@code weight} on {@code numGpus} GPUs. */
    public static LoadReport of(double[][] weight, Placement placement, int numGpus) {
        int layers = weight.length;
        int numLogical = weight[0].length;
        int slotsPerGpu = placement.numReplicas() / numGpus;
        double[][] before = new double[layers][numGpus];
        double[][] after = new double[layers][numGpus];
        int[] colocated = new int[layers];
        for (int l = 0; l < layers; l++) {
            for (int e = 0; e < numLogical; e++) {
                before[l][(int) ((long) e * numGpus / numLogical)] += weight[l][e];
            }
            int[][] replicasOnGpu = new int[numGpus][numLogical];
            for (int p = 0; p < placement.numReplicas(); p++) {
                int e = placement.phy2log()[l][p];
                int gpu = p / slotsPerGpu;
                after[l][gpu] += weight[l][e] / placement.logcnt()[l][e];
                if (++replicasOnGpu[gpu][e] == 2) {
                    colocated[l]++;
                }
            }
        }
        return new LoadReport(before, after, colocated);
    }

    /** max / mean of one layer's loads (1.0 is perfect balance). */
    public static double imbalance(double[] loads) {
        double max = 0;
        double sum = 0;
        for (double v : loads) {
            max = Math.max(max, v);
            sum += v;
        }
        return sum == 0 ? 1.0 : max / (sum / loads.length);
    }

    /** Prints a table: per layer max/mean before and after, and co-located replicas. */
    public void print(PrintStream out) {
        out.printf(Locale.ROOT, "%-6s  %-22s  %-22s  %s%n", "layer", "max/mean before", "max/mean after",
                "co-located replicas");
        double sumBefore = 0;
        double sumAfter = 0;
        for (int l = 0; l < before.length; l++) {
            double b = imbalance(before[l]);
            double a = imbalance(after[l]);
            sumBefore += b;
            sumAfter += a;
            out.printf(Locale.ROOT, "%-6d  %-22.4f  %-22.4f  %d%n", l, b, a, colocated[l]);
        }
        out.printf(Locale.ROOT, "%-6s  %-22.4f  %-22.4f%n", "mean", sumBefore / before.length, sumAfter / before.length);
    }
}
