package dev.flyer.serve.internal;

import dev.flyer.serve.ModelConfig;

/**
 * Rotary position embedding on interleaved pairs {@code (x[2i], x[2i+1])} of the rope channels,
 * with YaRN's frequency correction when the model's maximum length exceeds the original one.
 *
 * <p>Implementation notes: deepseek-ai/DeepSeek-V3 {@code inference/model.py}
 * ({@code precompute_freqs_cis}, {@code apply_rotary_emb}): base frequencies
 * {@code theta^(-2i/d)}; under YaRN, between the correction dims of {@code beta_fast} and
 * {@code beta_slow} (floored/ceiled, clamped to {@code [0, d-1]}) a linear ramp blends
 * {@code freq / factor} into {@code freq}. Angles are the FP32 product {@code position · freq};
 * cos/sin are rounded once to FP32, as torch.polar on FP32 does.
 */
public final class Rope {
    private final int pairs;
    private final float[] cos;
    private final float[] sin;

    public Rope(ModelConfig c) {
        int dim = c.qkRopeHeadDim();
        pairs = dim / 2;
        float[] freqs = new float[pairs];
        for (int i = 0; i < pairs; i++) {
            freqs[i] = (float) (1.0 / Math.pow(c.ropeTheta(), (float) (2 * i) / dim));
        }
        if (c.yarnActive()) {
            ModelConfig.Yarn y = c.yarn();
            int low = Math.max((int) Math.floor(correctionDim(y.betaFast(), dim, c.ropeTheta(), y.originalMaxPositions())), 0);
            int high = Math.min((int) Math.ceil(correctionDim(y.betaSlow(), dim, c.ropeTheta(), y.originalMaxPositions())), dim - 1);
            float span = low == high ? 0.001f : high - low;
            for (int i = 0; i < pairs; i++) {
                float ramp = Math.min(1f, Math.max(0f, (i - low) / span));
                float smooth = 1 - ramp;
                freqs[i] = freqs[i] / (float) y.factor() * (1 - smooth) + freqs[i] * smooth;
            }
        }
        int positions = c.maxPositions();
        cos = new float[positions * pairs];
        sin = new float[positions * pairs];
        for (int t = 0; t < positions; t++) {
            for (int i = 0; i < pairs; i++) {
                float angle = (float) t * freqs[i];
                cos[t * pairs + i] = (float) Math.cos(angle);
                sin[t * pairs + i] = (float) Math.sin(angle);
            }
        }
    }

    private static double correctionDim(double rotations, int dim, double base, int maxPositions) {
        return dim * Math.log(maxPositions / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    /** Positions this table covers. */
    public int positions() {
        return cos.length / pairs;
    }

    /** Rotates {@code x[offset .. offset + 2·pairs)} in place for {@code position}. */
    public void apply(float[] x, int offset, int position) {
        int base = position * pairs;
        for (int i = 0; i < pairs; i++) {
            float a = x[offset + 2 * i];
            float b = x[offset + 2 * i + 1];
            float c = cos[base + i];
            float s = sin[base + i];
            x[offset + 2 * i] = a * c - b * s;
            x[offset + 2 * i + 1] = a * s + b * c;
        }
    }
}
