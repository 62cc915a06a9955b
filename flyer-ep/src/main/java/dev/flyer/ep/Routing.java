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
