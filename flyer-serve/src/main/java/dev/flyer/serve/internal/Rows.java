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

    /** This thread's native staging buffers for GEMM operands, grown on demand (never per call). */
    private static final class Staging {
        MemorySegment in = MemorySegment.NULL;
        MemorySegment out = MemorySegment.NULL;

        MemorySegment in(long bytes) {
            if (in.byteSize() < bytes) {
                in = Arena.ofAuto().allocate(Math.max(bytes, 2 * in.byteSize()), 64);
            }
            return in.asSlice(0, bytes);
        }

        MemorySegment out(long bytes) {
            if (out.byteSize() < bytes) {
                out = Arena.ofAuto().allocate(Math.max(bytes, 2 * out.byteSize()), 64);
            }
            return out.asSlice(0, bytes);
        }
    }

    private static final ThreadLocal<Staging> STAGING = ThreadLocal.withInitial(Staging::new);

    /** {@code y = x · Wᵀ} for {@code rows} rows through the GEMM library (x and y staged in native memory). */
    public static float[] project(Linear w, float[] x, int rows) {
        Staging s = STAGING.get();
        Tensor in = Tensor.wrap(s.in(4L * rows * w.in()), DType.F32, rows, w.in());
        MemorySegment.copy(x, 0, in.data(), ValueLayout.JAVA_FLOAT, 0, rows * w.in());
        Tensor out = Tensor.wrap(s.out(4L * rows * w.out()), DType.F32, rows, w.out());
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
