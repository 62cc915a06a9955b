package dev.flyer.eplb;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.eplb.internal.BalancedPacking;
import dev.flyer.eplb.internal.ExpertReplication;
import java.util.Arrays;

/**
 * The expert-parallel load balancer of DeepSeek-V3: replicates heavy experts and places the
 * replicas on GPUs so that every GPU carries nearly the same load.
 *
 * <p>Contract: {@link #rebalance} returns what {@code rebalance_experts} in deepseek-ai/EPLB
 * {@code eplb.py} (commit d52c72d) returns for the same inputs, bit for bit: the hierarchical
 * policy when {@code numGroups % numNodes == 0} (pack expert groups onto nodes, replicate within
 * each node, pack replicas onto the node's GPUs), else the global policy (the same with one group
 * and one node). The original's asserts are {@link IllegalArgumentException}s naming the values.
 * Weights are converted to float32 first, as the original does.
 *
 * <p>Implementation notes: layers are independent and run in parallel on the compute pool; each
 * runs the three steps with int and float arrays ({@code inverse} of a permutation is a scatter). Tie-breaking and float32 accumulation
 * are documented in {@link BalancedPacking} and {@link ExpertReplication}. Beyond the original:
 * {@link Options#avoidColocation()} packs replicas of one expert onto different GPUs of a node
 * where the default packing's maximum GPU load allows it (off by default).
 */
public final class ExpertLoadBalancer {
    /** Extras beyond the original; {@link #defaults()} reproduces the original exactly. */
    public record Options(boolean avoidColocation) {
        public static Options defaults() {
            return new Options(false);
        }
    }

    private ExpertLoadBalancer() {}

    /** {@code rebalance_experts(weight, numReplicas, numGroups, numNodes, numGpus)}. */
    public static Placement rebalance(double[][] weight, int numReplicas, int numGroups, int numNodes, int numGpus) {
        return rebalance(weight, numReplicas, numGroups, numNodes, numGpus, Options.defaults());
    }

    /** As {@link #rebalance(double[][], int, int, int, int)} with extras. */
    public static Placement rebalance(double[][] weight, int numReplicas, int numGroups, int numNodes, int numGpus,
                                      Options options) {
        float[][] w = toFloat32(weight);
        int layers = w.length;
        int numLogical = layers == 0 ? 0 : w[0].length;
        checkPositive("num_replicas", numReplicas);
        checkPositive("num_groups", numGroups);
        checkPositive("num_nodes", numNodes);
        checkPositive("num_gpus", numGpus);
        boolean hierarchical = numGroups % numNodes == 0;
        int groups = hierarchical ? numGroups : 1;
        int nodes = hierarchical ? numNodes : 1;
        checkShape(numLogical, numReplicas, groups, nodes, numGpus);
        int[][] phy2log = new int[layers][numReplicas];
        int[][] phyRank = new int[layers][numReplicas];
        int[][] logcnt = new int[layers][numLogical];
        ComputePool.shared().parallelFor(layers, (l, worker) -> Hierarchical.layer(w[l], numReplicas, groups, nodes,
                numGpus, options.avoidColocation(), phy2log[l], phyRank[l], logcnt[l]));
        return new Placement(phy2log, phyRank, log2phy(phy2log, phyRank, logcnt), logcnt);
    }

    private static int[][][] log2phy(int[][] phy2log, int[][] phyRank, int[][] logcnt) {
        int maxLogCnt = 0;
        for (int[] row : logcnt) {
            for (int c : row) {
                maxLogCnt = Math.max(maxLogCnt, c);
            }
        }
        int[][][] out = new int[phy2log.length][][];
        for (int l = 0; l < phy2log.length; l++) {
            out[l] = new int[logcnt[l].length][maxLogCnt];
            for (int[] slots : out[l]) {
                Arrays.fill(slots, -1);
            }
            for (int p = 0; p < phy2log[l].length; p++) {
                out[l][phy2log[l][p]][phyRank[l][p]] = p;
            }
        }
        return out;
    }

    private static float[][] toFloat32(double[][] weight) {
        if (weight.length == 0) {
            throw new IllegalArgumentException("weight must have at least one layer");
        }
        float[][] w = new float[weight.length][];
        for (int l = 0; l < weight.length; l++) {
            if (weight[l].length != weight[0].length) {
                throw new IllegalArgumentException("weight row " + l + " has " + weight[l].length
                        + " experts but row 0 has " + weight[0].length);
            }
            w[l] = new float[weight[l].length];
            for (int e = 0; e < w[l].length; e++) {
                if (!Double.isFinite(weight[l][e])) {
                    throw new IllegalArgumentException("weight[" + l + "][" + e + "] = " + weight[l][e] + " is not finite");
                }
                w[l][e] = (float) weight[l][e];
            }
        }
        if (w[0].length == 0) {
            throw new IllegalArgumentException("weight must have at least one expert");
        }
        return w;
    }

    private static void checkShape(int numLogical, int numReplicas, int groups, int nodes, int gpus) {
        require(numLogical % groups == 0, "num_logical_experts (" + numLogical + ") must be a multiple of num_groups ("
                + groups + ")");
        require(groups % nodes == 0, "num_groups (" + groups + ") must be a multiple of num_nodes (" + nodes + ")");
        require(gpus % nodes == 0, "num_gpus (" + gpus + ") must be a multiple of num_nodes (" + nodes + ")");
        require(numReplicas % gpus == 0, "num_replicas (" + numReplicas + ") must be a multiple of num_gpus ("
                + gpus + ")");
        require(numReplicas >= numLogical, "num_replicas (" + numReplicas + ") must be at least num_logical_experts ("
                + numLogical + ")");
    }

    private static void checkPositive(String name, int value) {
        require(value > 0, name + " must be positive, got " + value);
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    /** The three steps for one layer. */
    private static final class Hierarchical {
        static void layer(float[] w, int numPhysical, int groups, int nodes, int gpus, boolean avoid,
                          int[] pphy2log, int[] pphyRank, int[] logcnt) {
            int numLogical = w.length;
            int groupSize = numLogical / groups;
            int groupsPerNode = groups / nodes;
            int phyPerGpu = numPhysical / gpus;
            int logPerNode = numLogical / nodes;
            int phyPerNode = numPhysical / nodes;

            // Step 1: pack groups onto nodes
            float[] groupLoad = new float[groups];
            for (int g = 0; g < groups; g++) {
                for (int k = 0; k < groupSize; k++) {
                    groupLoad[g] += w[g * groupSize + k];
                }
            }
            int[] groupPack = new int[groups];
            int[] groupRank = new int[groups];
            BalancedPacking.pack(groupLoad, nodes, groupPack, groupRank);
            int[] log2mlog = new int[numLogical];
            for (int e = 0; e < numLogical; e++) {
                int g = e / groupSize;
                log2mlog[e] = (groupPack[g] * groupsPerNode + groupRank[g]) * groupSize + e % groupSize;
            }
            int[] mlog2log = inverse(log2mlog);

            // Step 2: replicate within each node; Step 3: pack the node's replicas onto its GPUs
            int[] mlogcnt = new int[numLogical];
            float[] nodeLoad = new float[logPerNode];
            int[] phy2mlog = new int[phyPerNode];
            int[] phyRank = new int[phyPerNode];
            int[] count = new int[logPerNode];
            float[] phyLoad = new float[phyPerNode];
            int[] packIndex = new int[phyPerNode];
            int[] rankInPack = new int[phyPerNode];
            int[] phy2pphy = new int[phyPerNode];
            for (int node = 0; node < nodes; node++) {
                for (int j = 0; j < logPerNode; j++) {
                    nodeLoad[j] = w[mlog2log[node * logPerNode + j]];
                }
                ExpertReplication.replicate(nodeLoad, phyPerNode, phy2mlog, phyRank, count);
                for (int p = 0; p < phyPerNode; p++) {
                    phyLoad[p] = nodeLoad[phy2mlog[p]] / (float) count[phy2mlog[p]];
                }
                if (avoid) {
                    BalancedPacking.packAvoiding(phyLoad, phy2mlog, gpus / nodes, packIndex, rankInPack);
                } else {
                    BalancedPacking.pack(phyLoad, gpus / nodes, packIndex, rankInPack);
                }
                for (int p = 0; p < phyPerNode; p++) {
                    phy2pphy[p] = packIndex[p] * phyPerGpu + rankInPack[p];
                }
                int[] pphy2phy = inverse(phy2pphy);
                for (int q = 0; q < phyPerNode; q++) {
                    int mlog = phy2mlog[pphy2phy[q]] + node * logPerNode;
                    pphy2log[node * phyPerNode + q] = mlog2log[mlog];
                    pphyRank[node * phyPerNode + q] = phyRank[pphy2phy[q]];
                }
                System.arraycopy(count, 0, mlogcnt, node * logPerNode, logPerNode);
            }
            for (int e = 0; e < numLogical; e++) {
                logcnt[e] = mlogcnt[log2mlog[e]];
            }
        }

        static int[] inverse(int[] permutation) {
            int[] inverse = new int[permutation.length];
            for (int i = 0; i < permutation.length; i++) {
                inverse[permutation[i]] = i;
            }
            return inverse;
        }
    }
}
