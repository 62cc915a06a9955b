package dev.flyer.ep;

/**
 * A gate's decision for a batch of tokens: {@code topkIdx[t * numTopk + k]} is the global expert of
 * token {@code t}'s {@code k}-th choice ({@code -1}: none), {@code topkWeights} its weight (or
 * {@code null} where only the experts are needed). DeepEP's {@code topk_idx} / {@code topk_weights}.
 */
public record Routing(int numTokens, int numTopk, int[] topkIdx, float[] topkWeights) {
    public Routing {
        if (numTokens < 0 || numTopk < 1) {
            throw new IllegalArgumentException("routing needs numTokens >= 0 and numTopk >= 1, got " + numTokens
                    + " and " + numTopk);
        }
        if (topkIdx == null || topkIdx.length != numTokens * numTopk) {
            throw new IllegalArgumentException("topkIdx must have numTokens * numTopk = " + numTokens * numTopk
                    + " entries, got " + (topkIdx == null ? "null" : topkIdx.length));
        }
        if (topkWeights != null && topkWeights.length != topkIdx.length) {
            throw new IllegalArgumentException("topkWeights must have " + topkIdx.length + " entries, got "
                    + topkWeights.length);
        }
    }

    /**
     * A uniform random gate: {@code topk} distinct experts per token (a partial Fisher–Yates
     * shuffle), weights in {@code [0.01, 1.01)}. For tests, benches and checks.
     */
    public static Routing random(java.util.Random rnd, int tokens, int topk, int experts) {
        if (topk > experts) {
            throw new IllegalArgumentException("cannot pick " + topk + " distinct experts of " + experts);
        }
        int[] idx = new int[tokens * topk];
        float[] weights = new float[tokens * topk];
        int[] pool = new int[experts];
        for (int t = 0; t < tokens; t++) {
            for (int e = 0; e < experts; e++) {
                pool[e] = e;
            }
            for (int k = 0; k < topk; k++) {
                int j = k + rnd.nextInt(experts - k);
                int chosen = pool[j];
                pool[j] = pool[k];
                pool[k] = chosen;
                idx[t * topk + k] = chosen;
                weights[t * topk + k] = rnd.nextFloat() + 0.01f;
            }
        }
        return new Routing(tokens, topk, idx, weights);
    }

    public int expert(int token, int k) {
        return topkIdx[token * numTopk + k];
    }

    /** Throws when an expert id is outside {@code [-1, numExperts)}. */
    public void check(int numExperts) {
        for (int i = 0; i < topkIdx.length; i++) {
            if (topkIdx[i] < -1 || topkIdx[i] >= numExperts) {
                throw new IllegalArgumentException("topkIdx[" + i / numTopk + ", " + i % numTopk + "] = " + topkIdx[i]
                        + " is outside [-1, " + numExperts + ")");
            }
        }
    }
}
