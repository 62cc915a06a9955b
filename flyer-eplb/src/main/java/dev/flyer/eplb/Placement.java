package dev.flyer.eplb;

/**
 * Where every physical expert slot goes, per MoE layer.
 *
 * @param phy2log {@code [layers][numReplicas]}: the logical expert in each physical slot; slots
 *     {@code [g * numReplicas / numGpus, (g + 1) * numReplicas / numGpus)} belong to GPU {@code g}
 * @param phyRank {@code [layers][numReplicas]}: which replica of its expert each slot is (0-based)
 * @param log2phy {@code [layers][numLogical][maxLogCnt]}: the slots of each expert, by replica
 *     rank, padded with -1; {@code maxLogCnt} is the largest replica count over all layers
 * @param logcnt {@code [layers][numLogical]}: replicas per logical expert
 */
public record Placement(int[][] phy2log, int[][] phyRank, int[][][] log2phy, int[][] logcnt) {
    public int layers() {
        return phy2log.length;
    }

    public int numReplicas() {
        return phy2log.length == 0 ? 0 : phy2log[0].length;
    }

    public int numLogical() {
        return logcnt.length == 0 ? 0 : logcnt[0].length;
    }
}
