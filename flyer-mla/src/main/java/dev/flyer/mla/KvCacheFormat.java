package dev.flyer.mla;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.numeric.Fp8Format;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * How one token of the paged KV cache is stored.
 *
 * <p>{@link #BF16} (and {@link #F32}): the token's {@code d} channels as bfloat16 (float32) (d = 576
 * for MLA: 512 latent + 64 rope; V is the first {@code dv} channels). {@link #FP8}: FlashMLA's DeepSeek-V3.2 layout, 656
 * bytes per token: 512 FP8 E4M3 latent values, 4 float32 scales (one per 128 values; the value is
 * {@code code × scale}), then the 64 rope channels as bfloat16. In a cache tensor the last
 * dimension is 656 bytes (dtype U8, I8 or F8_E4M3).
 *
 * <p>Implementation notes: {@link #quantizeToken} follows deepseek-ai/FlashMLA
 * {@code tests/quant.py} ({@code V32_FP8Sparse}): each 128-group's scale is
 * {@code amax / 448} rounded up to a power of two (at least 1e-4 before rounding), then
 * {@code x / scale} is cast to E4M3 (round to nearest even, saturating).
 */
public enum KvCacheFormat {
    BF16,
    /** FP32 channels: exact for references computed in FP32 (DeepSeek's model.py run with model.float()). */
    F32,
    FP8;

    /** Latent channels quantised in the FP8 layout. */
    public static final int FP8_NOPE = 512;
    /** Rope channels kept in BF16 in the FP8 layout. */
    public static final int FP8_ROPE = 64;
    /** Channels per FP8 scale. */
    public static final int FP8_TILE = 128;
    /** Bytes per token in the FP8 layout: 512 + 4·4 + 64·2. */
    public static final int FP8_TOKEN_BYTES = FP8_NOPE + 4 * (FP8_NOPE / FP8_TILE) + 2 * FP8_ROPE;

    /** Bytes one token occupies for key width {@code d}. */
    public long tokenBytes(int d) {
        return switch (this) {
            case BF16 -> 2L * d;
            case F32 -> 4L * d;
            case FP8 -> FP8_TOKEN_BYTES;
        };
    }

    /**
     * Stores one token of {@code d = 576} FP32 channels at {@code dst[offsetBytes]} in the FP8 layout.
     *
     * @throws IllegalArgumentException if {@code values.length != 576}
     */
    public static void quantizeToken(float[] values, MemorySegment dst, long offsetBytes) {
        if (values.length != FP8_NOPE + FP8_ROPE) {
            throw new IllegalArgumentException("FP8 KV cache token must have 576 channels, got " + values.length);
        }
        for (int t = 0; t < FP8_NOPE / FP8_TILE; t++) {
            float amax = 0f;
            for (int i = t * FP8_TILE; i < (t + 1) * FP8_TILE; i++) {
                amax = Math.max(amax, Math.abs(values[i]));
            }
            float scale = powerOfTwoAtLeast(Math.max(amax / 448f, 1e-4f));
            dst.set(ValueLayout.JAVA_FLOAT_UNALIGNED, offsetBytes + FP8_NOPE + 4L * t, scale);
            for (int i = t * FP8_TILE; i < (t + 1) * FP8_TILE; i++) {
                dst.set(ValueLayout.JAVA_BYTE, offsetBytes + i, Fp8Format.E4M3FN.encode(values[i] / scale));
            }
        }
        long rope = offsetBytes + FP8_NOPE + 4L * (FP8_NOPE / FP8_TILE);
        for (int i = 0; i < FP8_ROPE; i++) {
            dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, rope + 2L * i, Bf16.encode(values[FP8_NOPE + i]));
        }
    }

    private static float powerOfTwoAtLeast(float x) {
        int exponent = Math.getExponent(x);
        return x == Math.scalb(1f, exponent) ? x : Math.scalb(1f, exponent + 1);
    }

    /** Reads one FP8-layout token back to its 576 FP32 channels (the dequantised reference). */
    public static void dequantizeToken(MemorySegment src, long offsetBytes, float[] out) {
        for (int i = 0; i < FP8_NOPE; i++) {
            float scale = src.get(ValueLayout.JAVA_FLOAT_UNALIGNED, offsetBytes + FP8_NOPE + 4L * (i / FP8_TILE));
            out[i] = Fp8Format.E4M3FN.decode(src.get(ValueLayout.JAVA_BYTE, offsetBytes + i)) * scale;
        }
        long rope = offsetBytes + FP8_NOPE + 4L * (FP8_NOPE / FP8_TILE);
        for (int i = 0; i < FP8_ROPE; i++) {
            out[FP8_NOPE + i] = Bf16.decode(src.get(ValueLayout.JAVA_SHORT_UNALIGNED, rope + 2L * i));
        }
    }
}
