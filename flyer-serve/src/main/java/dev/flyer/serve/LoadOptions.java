package dev.flyer.serve;

/**
 * How a checkpoint is loaded.
 *
 * @param gemm         how FP8 projections multiply ({@link GemmImpl})
 * @param quantizeFp8  quantise a BF16 checkpoint's projections to FP8 E4M3 with 128x128 block
 *                     scales at load (as DeepSeek-V3 ships its weights), halving their memory; the
 *                     MoE gate, embedding, norms and head stay as stored
 */
public record LoadOptions(GemmImpl gemm, boolean quantizeFp8) {
    public static LoadOptions defaults() {
        return new LoadOptions(GemmImpl.BF16, false);
    }
}
