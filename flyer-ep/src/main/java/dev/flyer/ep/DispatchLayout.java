package dev.flyer.ep;

/**
 * Where a batch's tokens go: DeepEP's {@code get_dispatch_layout}.
 *
 * <p>Contract: {@code numTokensPerRank[r]} counts tokens with at least one expert on rank
 * {@code r} (experts are split evenly, rank {@code r} owns {@code [r·E/R, (r+1)·E/R)});
 * {@code numTokensPerNode[n]} counts tokens with at least one expert on node {@code n} (a node is
 * {@code ranksPerNode} consecutive ranks), each token once per node; {@code numTokensPerExpert[e]}
 * counts top-k entries equal to {@code e}; {@code isTokenInRank[t * R + r]}. Entries {@code -1}
 * are ignored.
 */
public record DispatchLayout(int numRanks, int ranksPerNode, int[] numTokensPerRank, int[] numTokensPerNode,
                             int[] numTokensPerExpert, boolean[] isTokenInRank) {

    /** Computes the layout of {@code routing} over {@code numRanks} ranks. */
    public static DispatchLayout of(Routing routing, int numExperts, int numRanks, int ranksPerNode) {
        if (numRanks < 1 || numExperts % numRanks != 0) {
            throw new IllegalArgumentException(numExperts + " experts cannot be split evenly over " + numRanks + " ranks");
        }
        if (ranksPerNode < 1 || numRanks % ranksPerNode != 0) {
            throw new IllegalArgumentException(numRanks + " ranks do not form nodes of " + ranksPerNode);
        }
        routing.check(numExperts);
        int perRank = numExperts / numRanks;
        int nodes = numRanks / ranksPerNode;
        int[] perRankCount = new int[numRanks];
        int[] perNodeCount = new int[nodes];
        int[] perExpert = new int[numExperts];
        boolean[] inRank = new boolean[routing.numTokens() * numRanks];
        boolean[] inNode = new boolean[nodes];
        for (int t = 0; t < routing.numTokens(); t++) {
            java.util.Arrays.fill(inNode, false);
            for (int k = 0; k < routing.numTopk(); k++) {
                int e = routing.expert(t, k);
                if (e < 0) {
                    continue;
                }
                perExpert[e]++;
                int r = e / perRank;
                if (!inRank[t * numRanks + r]) {
                    inRank[t * numRanks + r] = true;
                    perRankCount[r]++;
                }
                if (!inNode[r / ranksPerNode]) {
                    inNode[r / ranksPerNode] = true;
                    perNodeCount[r / ranksPerNode]++;
                }
            }
        }
        return new DispatchLayout(numRanks, ranksPerNode, perRankCount, perNodeCount, perExpert, inRank);
    }

    public boolean inRank(int token, int rank) {
        return isTokenInRank[token * numRanks + rank];
    }

    public int numTokens() {
        return isTokenInRank.length / numRanks;
    }

    /** Tokens of this batch that go to {@code rank}, ascending. */
    public int[] tokensFor(int rank) {
        int[] out = new int[numTokensPerRank[rank]];
        int n = 0;
        for (int t = 0; t < numTokens(); t++) {
            if (inRank(t, rank)) {
                out[n++] = t;
            }
        }
        return out;
    }
}
