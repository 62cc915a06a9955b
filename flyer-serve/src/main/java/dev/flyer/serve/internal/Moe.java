package dev.flyer.serve.internal;

import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.serve.ModelConfig;
import dev.flyer.serve.ModelConfig.ScoringFunc;

/**
 * The routed MoE layer: the gate picks {@code k} experts per token, each token's output is the
 * weighted sum of its experts' MLPs plus the shared experts' MLP.
 *
 * <p>Implementation notes: deepseek-ai/DeepSeek-V3 {@code inference/model.py} ({@code Gate},
 * {@code MoE}). Scores are softmax or sigmoid of the router logits (FP32); the correction bias
 * ({@code e_score_correction_bias}, present iff in the checkpoint) is added only to choose experts,
 * the weights are gathered from the unbiased scores. With groups, a group's score is the sum of its
 * top-2 biased scores (max when unbiased), the best {@code topk_group} groups stay, the rest are
 * -inf. Ties go to the lower index. Sigmoid weights are normalised to sum 1 as model.py does;
 * softmax ones when {@code norm_topk_prob}. Then times {@code routed_scaling_factor}.
 */
public final class Moe {
    private final ModelConfig c;
    private final Linear gate;
    private final float[] bias;
    private final Mlp[] experts;
    private final Mlp shared;

    public Moe(Projections w, String prefix, ModelConfig c) {
        SafeTensors st = w.checkpoint();
        this.c = c;
        gate = w.exact(prefix + ".gate", c.routedExperts(), c.hidden());
        String biasName = prefix + ".gate.e_score_correction_bias";
        bias = st.contains(biasName) ? Weights.vector(st, biasName, c.routedExperts()) : null;
        if (c.topkMethod() == ModelConfig.TopkMethod.NOAUX_TC && bias == null) {
            throw new IllegalArgumentException("topk_method noaux_tc needs " + biasName + " in the checkpoint");
        }
        experts = new Mlp[c.routedExperts()];
        for (int e = 0; e < experts.length; e++) {
            experts[e] = new Mlp(w, prefix + ".experts." + e, c.hidden(), c.moeIntermediate());
        }
        shared = c.sharedExperts() > 0
                ? new Mlp(w, prefix + ".shared_experts", c.hidden(), c.sharedExperts() * c.moeIntermediate()) : null;
    }

    public float[] forward(float[] x, int rows) {
        int k = c.expertsPerToken();
        int[] chosen = new int[rows * k];
        float[] weights = new float[rows * k];
        float[] logits = Rows.project(gate, x, rows);
        for (int t = 0; t < rows; t++) {
            route(logits, t * c.routedExperts(), chosen, weights, t * k);
        }
        int hidden = c.hidden();
        float[] y = shared != null ? shared.forward(x, rows) : new float[rows * hidden];
        for (int e = 0; e < experts.length; e++) {
            int count = 0;
            for (int v : chosen) {
                count += v == e ? 1 : 0;
            }
            if (count == 0) {
                continue;
            }
            float[] in = new float[count * hidden];
            int[] slot = new int[count];
            int n = 0;
            for (int i = 0; i < chosen.length; i++) {
                if (chosen[i] == e) {
                    System.arraycopy(x, (i / k) * hidden, in, n * hidden, hidden);
                    slot[n++] = i;
                }
            }
            float[] out = experts[e].forward(in, count);
            for (int j = 0; j < count; j++) {
                int t = slot[j] / k;
                float w = weights[slot[j]];
                for (int h = 0; h < hidden; h++) {
                    y[t * hidden + h] += out[j * hidden + h] * w;
                }
            }
        }
        return y;
    }

    /** The gate for one token: experts into {@code chosen[at..at+k)}, weights likewise. */
    void route(float[] logits, int offset, int[] chosen, float[] weights, int at) {
        int n = c.routedExperts();
        float[] scores = new float[n];
        if (c.scoringFunc() == ScoringFunc.SOFTMAX) {
            float max = Float.NEGATIVE_INFINITY;
            for (int e = 0; e < n; e++) {
                max = Math.max(max, logits[offset + e]);
            }
            float sum = 0;
            for (int e = 0; e < n; e++) {
                scores[e] = (float) Math.exp(logits[offset + e] - max);
                sum += scores[e];
            }
            for (int e = 0; e < n; e++) {
                scores[e] /= sum;
            }
        } else {
            for (int e = 0; e < n; e++) {
                scores[e] = (float) (1.0 / (1.0 + Math.exp(-logits[offset + e])));
            }
        }
        float[] choice = scores.clone();
        if (bias != null) {
            for (int e = 0; e < n; e++) {
                choice[e] += bias[e];
            }
        }
        if (c.groups() > 1 && c.topkMethod() != ModelConfig.TopkMethod.GREEDY) {
            limitGroups(choice);
        }
        int k = c.expertsPerToken();
        float sum = 0;
        boolean[] taken = new boolean[n];
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int e = 0; e < n; e++) {
                if (!taken[e] && (best < 0 || choice[e] > choice[best])) {
                    best = e;
                }
            }
            taken[best] = true;
            chosen[at + j] = best;
            weights[at + j] = scores[best];
            sum += scores[best];
        }
        boolean normalise = c.scoringFunc() == ScoringFunc.SIGMOID || c.normTopkProb();
        for (int j = 0; j < k; j++) {
            float w = normalise ? weights[at + j] / sum : weights[at + j];
            weights[at + j] = w * (float) c.routedScalingFactor();
        }
    }

    private void limitGroups(float[] choice) {
        int n = choice.length;
        int per = n / c.groups();
        float[] groupScore = new float[c.groups()];
        for (int g = 0; g < c.groups(); g++) {
            float first = Float.NEGATIVE_INFINITY;
            float second = Float.NEGATIVE_INFINITY;
            for (int e = g * per; e < (g + 1) * per; e++) {
                if (choice[e] > first) {
                    second = first;
                    first = choice[e];
                } else if (choice[e] > second) {
                    second = choice[e];
                }
            }
            groupScore[g] = bias != null ? first + second : first;
        }
        boolean[] keep = new boolean[c.groups()];
        for (int j = 0; j < c.topkGroups(); j++) {
            int best = -1;
            for (int g = 0; g < c.groups(); g++) {
                if (!keep[g] && (best < 0 || groupScore[g] > groupScore[best])) {
                    best = g;
                }
            }
            keep[best] = true;
        }
        for (int g = 0; g < c.groups(); g++) {
            if (!keep[g]) {
                for (int e = g * per; e < (g + 1) * per; e++) {
                    choice[e] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }
}
