package dev.flyer.eplb.internal;

/**
 * Adds replicas one at a time to the expert whose load per replica is highest, so the maximum
 * load of any replica is minimised.
 *
 * <p>Implementation notes: follows {@code replicate_experts} in deepseek-ai/EPLB {@code eplb.py}:
 * physical slot {@code i < numLogical} holds expert {@code i} (rank 0); each further slot goes to
 * {@code argmax(weight / count)} computed in float32 (the count converted to float32 first, as
 * PyTorch promotes int64 to float32), ties to the lowest index as {@code torch.max} returns the
 * first maximal index.
 */
public final class ExpertReplication {
    private ExpertReplication() {}

    /**
     * Fills {@code phy2log[numPhysical]}, {@code rank[numPhysical]} and {@code count[weight.length]}.
     */
    public static void replicate(float[] weight, int numPhysical, int[] phy2log, int[] rank, int[] count) {
        int numLogical = weight.length;
        if (numPhysical < numLogical) {
            throw new IllegalArgumentException("cannot place " + numLogical + " experts on " + numPhysical
                    + " physical slots (need at least one replica each)");
        }
        for (int e = 0; e < numLogical; e++) {
            phy2log[e] = e;
            rank[e] = 0;
            count[e] = 1;
        }
        for (int slot = numLogical; slot < numPhysical; slot++) {
            int best = 0;
            float bestLoad = weight[0] / (float) count[0];
            for (int e = 1; e < numLogical; e++) {
                float load = weight[e] / (float) count[e];
                if (load > bestLoad) {
                    best = e;
                    bestLoad = load;
                }
            }
            phy2log[slot] = best;
            rank[slot] = count[best];
            count[best]++;
        }
    }
}
