package dev.flyer.serve;

/**
 * How projections with FP8 weights multiply, as model.py's {@code gemm_impl}: {@link #BF16} (its
 * default) dequantises the weight and leaves activations unquantised; {@link #FP8} quantises each
 * activation row per 1x128 group ({@code s = max(amax, 1e-4) / 448}) and runs the block-scaled FP8
 * GEMM (DeepGEMM's path, the fast one). {@code kv_b_proj}, the MoE gate and the head are never
 * activation-quantised. BF16 weights ignore this.
 */
public enum GemmImpl {
    BF16,
    FP8
}
