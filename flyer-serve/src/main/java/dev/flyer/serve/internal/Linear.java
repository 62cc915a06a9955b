package dev.flyer.serve.internal;

import dev.flyer.core.quant.Fp8Quantizer;
import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.gemm.Gemm;
import dev.flyer.serve.GemmImpl;
import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * A projection {@code y = x · Wᵀ} whose weight stays memory-mapped in the checkpoint: BF16/F32, or
 * FP8 E4M3 with a {@code weight_scale_inv} per 128x128 block (ceil-divided edges).
 *
 * <p>Implementation notes: BF16 weights go through {@link Gemm#bf16Nt}, FP8 ones through
 * {@link Gemm#weightOnlyNt} (model.py's default {@code gemm_impl = "bf16"}: the weight is
 * dequantised, the activation is not quantised), or with {@link GemmImpl#FP8} through
 * {@link Gemm#fp8Nt} on the activation quantised per 1x128 group; FP32 accumulation throughout.
 */
public final class Linear {
    private final String name;
    private final Tensor plain;
    private final QuantizedTensor fp8;
    private final GemmImpl impl;

    private Linear(String name, Tensor plain, QuantizedTensor fp8, GemmImpl impl) {
        this.name = name;
        this.plain = plain;
        this.fp8 = fp8;
        this.impl = impl;
    }

    /** The projection {@code prefix.weight}, never activation-quantised. */
    public static Linear load(SafeTensors st, String prefix, int out, int in) {
        return load(st, prefix, out, in, GemmImpl.BF16);
    }

    /** The projection {@code prefix.weight} (plus {@code prefix.weight_scale_inv} when FP8). */
    public static Linear load(SafeTensors st, String prefix, int out, int in, GemmImpl impl) {
        Tensor w = Weights.require(st, prefix + ".weight");
        if (w.rank() != 2 || w.size(0) != out || w.size(1) != in) {
            throw new IllegalArgumentException(prefix + ".weight must be [" + out + ", " + in + "], got "
                    + Arrays.toString(w.shape()));
        }
        if (w.dtype() == DType.F8_E4M3) {
            Tensor scales = Weights.require(st, prefix + ".weight_scale_inv");
            return new Linear(prefix, null, new QuantizedTensor(w, scales, 128, 128), impl);
        }
        if (w.dtype() != DType.BF16 && w.dtype() != DType.F32) {
            throw new IllegalArgumentException(prefix + ".weight must be BF16, F32 or F8_E4M3, got " + w.dtype());
        }
        return new Linear(prefix, w, null, impl);
    }

    /** An FP8 projection from already quantised values and scales. */
    public static Linear of(String name, QuantizedTensor fp8, GemmImpl impl) {
        return new Linear(name, null, fp8, impl);
    }

    /** The stored weight (FP8 codes when FP8). */
    public Tensor weight() {
        return plain != null ? plain : fp8.values();
    }

    public int out() {
        return (int) (plain != null ? plain.size(0) : fp8.values().size(0));
    }

    public int in() {
        return (int) (plain != null ? plain.size(1) : fp8.values().size(1));
    }

    public boolean isFp8() {
        return fp8 != null;
    }

    /** {@code y[T, out] = x[T, in] · Wᵀ} (x and y F32). */
    public void apply(Tensor x, Tensor y) {
        if (fp8 != null && impl == GemmImpl.FP8) {
            try (Arena arena = Arena.ofShared()) {
                Gemm.fp8Nt(Fp8Quantizer.perTokenGroup(x, Fp8Quantizer.GROUP, false, arena), fp8, y);
            }
        } else if (fp8 != null) {
            Gemm.weightOnlyNt(x, fp8, y);
        } else {
            Gemm.bf16Nt(x, plain, y, null);
        }
    }

    /** The weight as FP32 values, row-major {@code [out][in]} (dequantised when FP8). */
    public float[] toFloats() {
        if (plain != null) {
            return plain.toFloatArray();
        }
        int n = out();
        int k = in();
        float[] w = fp8.values().toFloatArray();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) {
                w[i * k + j] *= fp8.scale(i, j);
            }
        }
        return w;
    }

    @Override
    public String toString() {
        return name + (fp8 != null ? " (FP8)" : " (" + plain.dtype() + ")");
    }
}
