package dev.flyer.core.numeric;

/**
 * Scale arithmetic shared by the FP8 quantisers.
 *
 * <p>Implementation notes: {@link #ceilPow2(float)} is exact (bit arithmetic through
 * {@link Ue8m0#encodeCeil(float)}). DeepGEMM computes {@code 2^ceil(log2(x))} with a float32
 * {@code log2}, which for an {@code x} one ulp above a power of two {@code 2^k} with
 * {@code |k| >= 4} rounds the logarithm down to {@code k}; Flyer returns the true ceiling
 * {@code 2^(k+1)} there.
 */
public final class Scales {
    /** Largest finite E4M3FN value, the divisor of every activation and weight scale. */
    public static final float E4M3_MAX = 448.0f;
    /** Lower clamp of a group's absolute maximum before it becomes a scale. */
    public static final float AMAX_FLOOR = 1e-4f;

    private Scales() {}

    /** {@code 2^ceil(log2(x))} for a positive finite {@code x}; NaN otherwise. */
    public static float ceilPow2(float x) {
        return Ue8m0.decode(Ue8m0.encodeCeil(x));
    }

    /** The E4M3 scale for a group whose absolute maximum is {@code amax}: {@code max(amax, 1e-4) / 448}. */
    public static float e4m3Scale(float amax, boolean pow2) {
        return groupScale(amax, E4M3_MAX, pow2);
    }

    /** {@code max(amax, 1e-4) / formatMax}, rounded up to a power of two when {@code pow2}. */
    public static float groupScale(float amax, float formatMax, boolean pow2) {
        float scale = Math.max(amax, AMAX_FLOOR) / formatMax;
        return pow2 ? ceilPow2(scale) : scale;
    }
}
