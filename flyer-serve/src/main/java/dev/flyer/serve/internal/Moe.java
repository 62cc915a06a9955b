package dev.flyer.serve.internal;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.serve.ModelConfig;
import dev.flyer.serve.ModelConfig.ScoringFunc;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

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

    /** The layer's output for {@code rows} rows of {@code x}. */
    public float[] forward(float[] x, int rows) {
        return forward(x, rows, rows <= EXPERT_PARALLEL_ROWS);
    }

    /** As {@link #forward(float[], int)}, with the experts side by side or one after the other. */
    float[] forward(float[] x, int rows, boolean expertParallel) {
        int k = c.expertsPerToken();
        int[] chosen = new int[rows * k];
        float[] weights = new float[rows * k];
        float[] logits = Rows.project(gate, x, rows);
        for (int t = 0; t < rows; t++) {
            route(logits, t * c.routedExperts(), chosen, weights, t * k);
        }
        int hidden = c.hidden();
        List<Batch> batches = new ArrayList<>();
        for (int e = 0; e < experts.length; e++) {
            Batch b = gather(e, x, chosen, k, hidden);
            if (b != null) {
                batches.add(b);
            }
        }
        float[][] outs = new float[batches.size()][];
        float[][] sharedOut = new float[1][];
        int tasks = batches.size() + (shared != null ? 1 : 0);
        IntConsumer task = i -> {
            if (i == batches.size()) {
                sharedOut[0] = shared.forward(x, rows);
            } else {
                outs[i] = experts[batches.get(i).expert].forward(batches.get(i).in, batches.get(i).slot.length);
            }
        };
        if (expertParallel) { // skinny GEMVs: one expert per worker, one pool call per layer
            ComputePool.shared().parallelFor(tasks, (i, worker) -> task.accept(tasks - 1 - i)); // the shared MLP first
        } else {
            for (int i = 0; i < tasks; i++) {
                task.accept(i);
            }
        }
        float[] y = shared != null ? sharedOut[0] : new float[rows * hidden];
        for (int i = 0; i < batches.size(); i++) { // ascending expert order, as model.py sums
            int[] slot = batches.get(i).slot;
            for (int j = 0; j < slot.length; j++) {
                int t = slot[j] / k;
                float w = weights[slot[j]];
                for (int h = 0; h < hidden; h++) {
                    y[t * hidden + h] += outs[i][j * hidden + h] * w;
                }
            }
        }
        return y;
    }

    /**
     * Batches of at most this many rows run their experts' MLPs side by side, one expert per pool
     * worker (each GEMV inside runs on that worker alone): decode's GEMVs are short, and one pool
     * call per layer instead of three per expert saves the hand-offs. Larger batches split each
     * GEMM over the pool instead. Either way every output element is summed in the same order
     * (each column of a GEMV by one thread, experts added in ascending order), so the results are
     * the same bits ({@code MoeTest}).
     */
    static final int EXPERT_PARALLEL_ROWS = 16;

    /** The rows routed to one expert: their activations and their (token, choice) slots. */
    private record Batch(int expert, float[] in, int[] slot) {}

    private static Batch gather(int e, float[] x, int[] chosen, int k, int hidden) {
        int count = 0;
        for (int v : chosen) {
            count += v == e ? 1 : 0;
        }
        if (count == 0) {
            return null;
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
        return new Batch(e, in, slot);
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
