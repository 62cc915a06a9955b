package dev.flyer.serve.internal;

import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Row-major FP32 activations ({@code float[rows * width]}) and the elementwise steps of the
 * forward pass: RMSNorm, SiLU-gating, residual adds, and the hop into native tensors for GEMMs.
 *
 * <p>Implementation notes: RMSNorm is the fixtures' shim of {@code F.rms_norm} in FP32:
 * {@code x · rsqrt(mean(x²) + eps) · w}; SiLU is {@code x / (1 + e^-x)}.
 */
public final class Rows {
    private Rows() {}

    /** Staging slots: GEMM input and output, then attention's query, output and LSE. */
    static final int IN = 0;
    static final int OUT = 1;
    static final int ATTN_Q = 2;
    static final int ATTN_OUT = 3;
    static final int ATTN_LSE = 4;

    private static final ThreadLocal<MemorySegment[]> STAGING = ThreadLocal.withInitial(() -> {
        MemorySegment[] slots = new MemorySegment[5];
        java.util.Arrays.fill(slots, MemorySegment.NULL);
        return slots;
    });

    /**
     * This thread's native staging buffer {@code slot}, at least {@code bytes} long: grown on demand
     * (auto arena, freed by the GC), never allocated per call, so the forward pass's hops into native
     * memory cost a copy and nothing else.
     */
    static MemorySegment staging(int slot, long bytes) {
        MemorySegment[] slots = STAGING.get();
        if (slots[slot].byteSize() < bytes) {
            slots[slot] = Arena.ofAuto().allocate(Math.max(bytes, 2 * slots[slot].byteSize()), 64);
        }
        return slots[slot].asSlice(0, bytes);
    }

    /** {@code y = x · Wᵀ} for {@code rows} rows through the GEMM library (x and y staged in native memory). */
    public static float[] project(Linear w, float[] x, int rows) {
        Tensor in = Tensor.wrap(staging(IN, 4L * rows * w.in()), DType.F32, rows, w.in());
        MemorySegment.copy(x, 0, in.data(), ValueLayout.JAVA_FLOAT, 0, rows * w.in());
        Tensor out = Tensor.wrap(staging(OUT, 4L * rows * w.out()), DType.F32, rows, w.out());
        w.apply(in, out);
        float[] y = new float[rows * w.out()];
        MemorySegment.copy(out.data(), ValueLayout.JAVA_FLOAT, 0, y, 0, y.length);
        return y;
    }

    /** RMSNorm of {@code width} values at {@code x[offset]} into {@code out[outOffset]}. */
    public static void rmsNorm(float[] x, int offset, int width, float[] weight, double eps, float[] out, int outOffset) {
        float sum = 0;
        for (int i = 0; i < width; i++) {
            sum += x[offset + i] * x[offset + i];
        }
        float inv = (float) (1.0 / Math.sqrt(sum / width + eps));
        for (int i = 0; i < width; i++) {
            out[outOffset + i] = x[offset + i] * inv * weight[i];
        }
    }

    /** RMSNorm of every row. */
    public static float[] rmsNormRows(float[] x, int rows, int width, float[] weight, double eps) {
        float[] out = new float[rows * width];
        for (int r = 0; r < rows; r++) {
            rmsNorm(x, r * width, width, weight, eps, out, r * width);
        }
        return out;
    }

    /** {@code gate[i] = silu(gate[i]) · up[i]}. */
    public static void siluMul(float[] gate, float[] up) {
        for (int i = 0; i < gate.length; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    /** {@code x[i] += y[i]}. */
    public static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }
}
