package dev.flyer.dualpipe;

import dev.flyer.dualpipe.internal.Dense;
import dev.flyer.dualpipe.internal.WeightGradStore;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One pipeline stage of the trainer: {@code y = gelu(x W1^T) W2^T} with {@code W1 [4h, h]} and
 * {@code W2 [h, 4h]} (no biases), as DualPipe's example stage, with explicit forward,
 * input-gradient and weight-gradient functions; the weight gradients can be deferred to a
 * {@code W} step (zero bubble).
 *
 * <p>Implementation notes: GELU is the tanh approximation (the JDK has no erf), through
 * {@code StrictMath.tanh}: {@code Math.tanh} may differ between interpreted and JIT-compiled code,
 * which would break bit-equality with the reference. The sequential
 * reference uses the same stage code, so the comparison is exact. Activations keep what the
 * backward needs ({@code x}, the pre-activation and {@code gelu}); the output itself is dropped
 * after it was sent. Weight gradients accumulate into {@link #weightGrad1()} and
 * {@link #weightGrad2()}.
 */
public final class MlpStage {
    private static final float SQRT_2_OVER_PI = 0.7978845608f;
    private static final float COEF = 0.044715f;

    private final int hidden;
    private final int inner;
    private final float[] w1;
    private final float[] w2;
    private final float[] dw1;
    private final float[] dw2;

    /** What the backward of one chunk needs. */
    public static final class Activations {
        final float[] x;
        final float[] pre;
        final float[] act;
        final int rows;

        Activations(float[] x, float[] pre, float[] act, int rows) {
            this.x = x;
            this.pre = pre;
            this.act = act;
            this.rows = rows;
        }
    }

    private MlpStage(int hidden, float[] w1, float[] w2) {
        this.hidden = hidden;
        this.inner = 4 * hidden;
        this.w1 = w1;
        this.w2 = w2;
        this.dw1 = new float[w1.length];
        this.dw2 = new float[w2.length];
    }

    /** A stage with weights drawn from {@code seed} (uniform in +-1/sqrt(fan_in), like nn.Linear). */
    public static MlpStage random(int hidden, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w1 = new float[4 * hidden * hidden];
        float[] w2 = new float[hidden * 4 * hidden];
        fill(w1, r, 1 / Math.sqrt(hidden));
        fill(w2, r, 1 / Math.sqrt(4.0 * hidden));
        return new MlpStage(hidden, w1, w2);
    }

    private static void fill(float[] w, SplittableRandom r, double bound) {
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        }
    }

    public int hidden() {
        return hidden;
    }

    public float[] weightGrad1() {
        return dw1;
    }

    public float[] weightGrad2() {
        return dw2;
    }

    public void zeroGrad() {
        Arrays.fill(dw1, 0f);
        Arrays.fill(dw2, 0f);
    }

    /** Forward of {@code rows} rows of width {@code hidden}; returns the activations, output in {@code out}. */
    public Activations forward(float[] x, int rows, float[] out) {
        checkLength("input", x, rows * hidden);
        float[] pre = new float[rows * inner];
        Dense.nt(x, w1, pre, rows, inner, hidden);
        float[] act = new float[pre.length];
        for (int i = 0; i < pre.length; i++) {
            act[i] = gelu(pre[i]);
        }
        Dense.nt(act, w2, out, rows, hidden, inner);
        return new Activations(x, pre, act, rows);
    }

    /**
     * Backward from the output gradient {@code dy}; the weight gradients go through {@code store}
     * (deferred when it is enabled). Returns the input gradient, or null when {@code needInputGrad}
     * is false (the first stage).
     */
    public float[] backward(Activations a, float[] dy, boolean needInputGrad, WeightGradStore store) {
        int rows = a.rows;
        checkLength("output gradient", dy, rows * hidden);
        float[] dAct = new float[rows * inner];
        Dense.nn(dy, w2, dAct, rows, inner, hidden);
        float[] dPre = new float[dAct.length];
        for (int i = 0; i < dPre.length; i++) {
            dPre[i] = dAct[i] * geluGrad(a.pre[i]);
        }
        float[] dx = null;
        if (needInputGrad) {
            dx = new float[rows * hidden];
            Dense.nn(dPre, w1, dx, rows, hidden, inner);
        }
        store.put(() -> {
            Dense.tnAccumulate(dy, a.act, dw2, hidden, inner, rows);
            Dense.tnAccumulate(dPre, a.x, dw1, inner, hidden, rows);
        });
        return dx;
    }

    static float gelu(float v) {
        float t = (float) StrictMath.tanh(SQRT_2_OVER_PI * (v + COEF * v * v * v));
        return 0.5f * v * (1 + t);
    }

    static float geluGrad(float v) {
        float inner = SQRT_2_OVER_PI * (v + COEF * v * v * v);
        float t = (float) StrictMath.tanh(inner);
        float dInner = SQRT_2_OVER_PI * (1 + 3 * COEF * v * v);
        return 0.5f * (1 + t) + 0.5f * v * (1 - t * t) * dInner;
    }

    /** Mean squared error of {@code y} against {@code label}; writes {@code dLoss/dy} to {@code grad}. */
    public static float mseLoss(float[] y, float[] label, float[] grad) {
        float sum = 0;
        float scale = 2f / y.length;
        for (int i = 0; i < y.length; i++) {
            float d = y[i] - label[i];
            sum += d * d;
            grad[i] = scale * d;
        }
        return sum / y.length;
    }

    private static void checkLength(String what, float[] v, int expected) {
        if (v.length != expected) {
            throw new IllegalArgumentException(what + " has " + v.length + " values, the stage expects " + expected);
        }
    }
}
