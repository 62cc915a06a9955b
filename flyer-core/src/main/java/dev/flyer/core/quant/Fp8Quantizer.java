package dev.flyer.core.quant;

import dev.flyer.core.numeric.Fp8Format;
import dev.flyer.core.numeric.Scales;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Fine-grained FP8 E4M3 quantisation, as DeepSeek-V3 and DeepGEMM use it.
 *
 * <p>For each group: {@code amax = max |x|}, {@code s = max(amax, 1e-4) / 448} (optionally rounded up
 * to a power of two, the UE8M0 scale format), code = E4M3FN({@code x / s}) with the division in
 * float32 and saturating round-to-nearest-even. Dequantisation multiplies code value by scale.
 * Inputs may be any floating dtype and any strides; shapes that are not multiples of the group
 * size get partial edge groups (their amax covers only their own elements).
 *
 * <p>Implementation notes: follows deepseek-ai/DeepSeek-V3 {@code inference/kernel.py}
 * ({@code act_quant}: {@code y = x / s}) and DeepGEMM's {@code per_token_cast_to_fp8} /
 * {@code per_block_cast_to_fp8} for the group shapes; DeepGEMM multiplies by {@code 448 / amax}
 * instead of dividing by {@code s}, which can differ in the last bit of the quotient, and Flyer
 * follows the model's (the golden fixtures') division. Not a hot path: kernels that quantise on
 * the fly carry their own vectorised loops and test against this class.
 */
public final class Fp8Quantizer {
    /** DeepSeek's group width. */
    public static final int GROUP = 128;

    private Fp8Quantizer() {}

    /** Per-token-group (1 x groupSize) quantisation of a 2-D tensor into new tensors. */
    public static QuantizedTensor perTokenGroup(Tensor x, int groupSize, boolean pow2Scales, Arena arena) {
        check2d(x, "x");
        QuantizedTensor out = allocate(x, 1, groupSize, arena);
        quantize(x, out, pow2Scales);
        return out;
    }

    /** Per-block (blockSize x blockSize) quantisation of a 2-D tensor into new tensors. */
    public static QuantizedTensor perBlock(Tensor w, int blockSize, boolean pow2Scales, Arena arena) {
        check2d(w, "w");
        QuantizedTensor out = allocate(w, blockSize, blockSize, arena);
        quantize(w, out, pow2Scales);
        return out;
    }

    /** Quantises {@code x} into {@code out}'s values and scales, using {@code out}'s group shape. */
    public static void quantize(Tensor x, QuantizedTensor out, boolean pow2Scales) {
        check2d(x, "x");
        if (!Arrays.equals(x.shape(), out.values().shape())) {
            throw new IllegalArgumentException("x " + Arrays.toString(x.shape()) + " and values "
                    + Arrays.toString(out.values().shape()) + " differ in shape");
        }
        if (!x.dtype().isFloating()) {
            throw new IllegalArgumentException("x must be floating-point, got " + x.dtype());
        }
        Fp8Format format = out.values().dtype() == DType.F8_E4M3 ? Fp8Format.E4M3FN : Fp8Format.E5M2;
        long rows = x.size(0);
        long cols = x.size(1);
        for (long gi = 0; gi < out.scales().size(0); gi++) {
            for (long gj = 0; gj < out.scales().size(1); gj++) {
                long r0 = gi * out.groupRows();
                long c0 = gj * out.groupCols();
                long r1 = Math.min(rows, r0 + out.groupRows());
                long c1 = Math.min(cols, c0 + out.groupCols());
                float amax = 0;
                for (long r = r0; r < r1; r++) {
                    for (long c = c0; c < c1; c++) {
                        amax = Math.max(amax, Math.abs(x.getFloat(r, c)));
                    }
                }
                float scale = Scales.groupScale(amax, format.maxFinite(), pow2Scales);
                out.scales().setFloat(scale, gi, gj);
                for (long r = r0; r < r1; r++) {
                    for (long c = c0; c < c1; c++) {
                        long at = out.values().byteOffset(r, c);
                        out.values().segment().set(ValueLayout.JAVA_BYTE, at,
                                format.encode(x.getFloat(r, c) / scale, Fp8Format.Overflow.SATURATE));
                    }
                }
            }
        }
    }

    /** The float32 values {@code q} stands for. */
    public static Tensor dequantize(QuantizedTensor q, Arena arena) {
        Tensor out = Tensor.allocate(arena, DType.F32, q.values().shape());
        dequantize(q, out);
        return out;
    }

    /** Writes {@code values * scales} (broadcast over groups) into {@code out}. */
    public static void dequantize(QuantizedTensor q, Tensor out) {
        if (!Arrays.equals(out.shape(), q.values().shape())) {
            throw new IllegalArgumentException("out " + Arrays.toString(out.shape()) + " must have the values' shape "
                    + Arrays.toString(q.values().shape()));
        }
        for (long r = 0; r < out.size(0); r++) {
            for (long c = 0; c < out.size(1); c++) {
                float scale = q.scale(r, c);
                out.setFloat(q.values().getFloat(r, c) * scale, r, c);
            }
        }
    }

    private static QuantizedTensor allocate(Tensor x, int groupRows, int groupCols, Arena arena) {
        if (groupRows <= 0 || groupCols <= 0) {
            throw new IllegalArgumentException("group size must be positive, got " + groupRows + "x" + groupCols);
        }
        Tensor values = Tensor.allocate(arena, DType.F8_E4M3, x.shape());
        Tensor scales = Tensor.allocate(arena, DType.F32,
                Math.ceilDiv(x.size(0), groupRows), Math.ceilDiv(x.size(1), groupCols));
        return new QuantizedTensor(values, scales, groupRows, groupCols);
    }

    private static void check2d(Tensor t, String name) {
        if (t.rank() != 2) {
            throw new IllegalArgumentException(name + " must be 2-D [rows, cols], got shape " + Arrays.toString(t.shape()));
        }
    }
}
