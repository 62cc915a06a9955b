package dev.flyer.mla;

/**
 * Options of one decode call.
 *
 * @param headDimV     {@code dv}: V is the first {@code dv} channels of each cached key row (512 for MLA)
 * @param softmaxScale the factor on {@code q·k} before the softmax; {@code NaN} means FlashMLA's
 *                     default {@code d^-0.5}, which is <b>wrong for DeepSeek models</b>: they
 *                     need {@code qk_head_dim^-0.5 · mscale²} ({@code 192^-0.5 · mscale²} for V3,
 *                     since the absorbed query has 576 channels but the original head had 192)
 * @param causal       for {@code s_q > 1} (MTP, speculative decoding, chunked prefill): query
 *                     {@code i} sees positions {@code < seqlen - s_q + i + 1}
 * @param format       how the cache stores a token
 */
public record DecodeOptions(int headDimV, float softmaxScale, boolean causal, KvCacheFormat format) {
    /** MLA's shape: dv = 512, default scale, not causal, BF16 cache. */
    public static DecodeOptions mla() {
        return new DecodeOptions(512, Float.NaN, false, KvCacheFormat.BF16);
    }

    public DecodeOptions withScale(float scale) {
        return new DecodeOptions(headDimV, scale, causal, format);
    }

    public DecodeOptions withCausal(boolean on) {
        return new DecodeOptions(headDimV, softmaxScale, on, format);
    }

    public DecodeOptions withFormat(KvCacheFormat cacheFormat) {
        return new DecodeOptions(headDimV, softmaxScale, causal, cacheFormat);
    }

    public DecodeOptions withHeadDimV(int dv) {
        return new DecodeOptions(dv, softmaxScale, causal, format);
    }

    /** The scale to use for query width {@code d}. */
    public float scaleFor(int d) {
        return Float.isNaN(softmaxScale) ? (float) (1.0 / Math.sqrt(d)) : softmaxScale;
    }
}
