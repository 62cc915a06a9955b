package dev.flyer.ep;

/**
 * The layout a normal dispatch established, for the reverse path ({@link EpBuffer#combine}) and
 * for cached dispatches (DeepEP's dispatch {@code handle}). Opaque apart from the accessors;
 * valid on the rank (and buffer) that produced it.
 */
public final class DispatchHandle {
    final int rank;
    final int numRanks;
    final int ranksPerNode;
    final boolean twoHop;
    final int numTokens;
    final int numTopk;
    /** Per destination rank, this rank's tokens that go there, ascending. */
    final int[][] sendTokens;
    /** Per destination node, this rank's tokens with any expert there, ascending (two-hop). */
    final int[][] sendTokensToNode;
    /** Per source rank, where its block starts in the received rows; {@code [R + 1]}. */
    final int[] recvPrefix;
    final int[] recvSrcIdx;
    /** Forwarder: per source node, the local-rank masks of the tokens source (node, my local index) sent. */
    final int[][] packetMasks;
    final int[] numRecvTokensPerExpert;
    /** {@code posInRank[r * T + t]}: index of token t in sendTokens[r], or -1. */
    final int[] posInRank;

    DispatchHandle(int rank, int numRanks, int ranksPerNode, boolean twoHop, int numTokens, int numTopk,
                   int[][] sendTokens, int[][] sendTokensToNode, int[] recvPrefix, int[] recvSrcIdx,
                   int[][] packetMasks, int[] numRecvTokensPerExpert) {
        this.rank = rank;
        this.numRanks = numRanks;
        this.ranksPerNode = ranksPerNode;
        this.twoHop = twoHop;
        this.numTokens = numTokens;
        this.numTopk = numTopk;
        this.sendTokens = sendTokens;
        this.sendTokensToNode = sendTokensToNode;
        this.recvPrefix = recvPrefix;
        this.recvSrcIdx = recvSrcIdx;
        this.packetMasks = packetMasks;
        this.numRecvTokensPerExpert = numRecvTokensPerExpert;
        this.posInRank = new int[numRanks * numTokens];
        java.util.Arrays.fill(posInRank, -1);
        for (int r = 0; r < numRanks; r++) {
            for (int i = 0; i < sendTokens[r].length; i++) {
                posInRank[r * numTokens + sendTokens[r][i]] = i;
            }
        }
    }

    /** Rows this rank received (without worst-token padding). */
    public int numRecvTokens() {
        return recvPrefix[numRanks];
    }

    /** Tokens the dispatch started with on this rank. */
    public int numTokens() {
        return numTokens;
    }

    /** Where each source rank's block of received rows starts, {@code [R + 1]} (DeepEP's rank prefix column). */
    public int[] recvPrefix() {
        return recvPrefix.clone();
    }

    /** For each received row, the token's index on its source rank. */
    public int[] recvSrcIdx() {
        return recvSrcIdx.clone();
    }

    /** How many destination ranks each of this rank's tokens went to. */
    public int[] ranksPerToken() {
        int[] n = new int[numTokens];
        for (int[] tokens : sendTokens) {
            for (int t : tokens) {
                n[t]++;
            }
        }
        return n;
    }

    int nodes() {
        return numRanks / ranksPerNode;
    }
}
