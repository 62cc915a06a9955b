package dev.flyer.core.numeric;

import static dev.flyer.core.numeric.internal.Lanes.FLOATS;
import static dev.flyer.core.numeric.internal.Lanes.INTS;
import static dev.flyer.core.numeric.internal.Lanes.ORDER;
import static dev.flyer.core.numeric.internal.Lanes.SHORTS;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * bfloat16: the top 16 bits of an IEEE float32 (1 sign, 8 exponent, 7 mantissa bits).
 *
 * <p>Encoding rounds to nearest, ties to even; overflow rounds to infinity as in IEEE; a NaN
 * stays a NaN with its sign and top payload bits, made quiet. Decoding is exact.
 *
 * <p>Implementation notes: the rounding adds {@code 0x7FFF + lsb} to the float's bits and keeps
 * the top half, the usual trick (PyTorch's {@code round_to_nearest_even}); the bulk kernels run
 * the same arithmetic lane-wise and equal {@link #encode(float)} bit for bit.
 * Segments hold little-endian data and need no alignment.
 */
public final class Bf16 {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ORDER);
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ORDER);

    private Bf16() {}

    /** Encodes {@code value} to bfloat16 bits, round-to-nearest-even. */
    public static short encode(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }

    /** Decodes bfloat16 bits to the float with the same value. */
    public static float decode(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /**
     * Encodes {@code count} floats at {@code src[srcOffsetBytes]} to bfloat16 at
     * {@code dst[dstOffsetBytes]}.
     */
    public static void encode(MemorySegment src, long srcOffsetBytes, MemorySegment dst, long dstOffsetBytes,
                              long count) {
        long i = 0;
        long bound = count - count % FLOATS.length();
        for (; i < bound; i += FLOATS.length()) {
            encodeLanes(FloatVector.fromMemorySegment(FLOATS, src, srcOffsetBytes + i * 4, ORDER))
                    .intoMemorySegment(dst, dstOffsetBytes + i * 2, ORDER);
        }
        for (; i < count; i++) {
            dst.set(U16, dstOffsetBytes + i * 2, encode(src.get(F32, srcOffsetBytes + i * 4)));
        }
    }

    /** Encodes {@code count} floats from {@code src[srcIndex..]} to bfloat16 at {@code dst[dstOffsetBytes]}. */
    public static void encode(float[] src, int srcIndex, MemorySegment dst, long dstOffsetBytes, int count) {
        int i = 0;
        int bound = count - count % FLOATS.length();
        for (; i < bound; i += FLOATS.length()) {
            encodeLanes(FloatVector.fromArray(FLOATS, src, srcIndex + i)).intoMemorySegment(dst, dstOffsetBytes + i * 2L, ORDER);
        }
        for (; i < count; i++) {
            dst.set(U16, dstOffsetBytes + i * 2L, encode(src[srcIndex + i]));
        }
    }

    private static ShortVector encodeLanes(FloatVector values) {
        IntVector bits = values.reinterpretAsInts();
        IntVector lsb = bits.lanewise(VectorOperators.LSHR, 16).and(1);
        IntVector rounded = bits.add(0x7FFF).add(lsb).lanewise(VectorOperators.LSHR, 16);
        VectorMask<Integer> nan = bits.and(0x7FFF_FFFF).compare(VectorOperators.GT, 0x7F80_0000);
        IntVector quiet = bits.lanewise(VectorOperators.LSHR, 16).or(0x0040);
        return (ShortVector) rounded.blend(quiet, nan).castShape(SHORTS, 0);
    }

    /** Decodes {@code count} bfloat16 values at {@code src} to floats at {@code dst}. */
    public static void decode(MemorySegment src, long srcOffsetBytes, MemorySegment dst, long dstOffsetBytes,
                              long count) {
        long i = 0;
        long bound = count - count % FLOATS.length();
        for (; i < bound; i += FLOATS.length()) {
            decodeLanes(src, srcOffsetBytes + i * 2).intoMemorySegment(dst, dstOffsetBytes + i * 4, ORDER);
        }
        for (; i < count; i++) {
            dst.set(F32, dstOffsetBytes + i * 4, decode(src.get(U16, srcOffsetBytes + i * 2)));
        }
    }

    /**
     * Decodes {@code count} bfloat16 values at {@code src} to {@code dst[dstIndex..]}; the fast path
     * into Java arrays (vector stores into heap segments are not intrinsified).
     */
    public static void decode(MemorySegment src, long srcOffsetBytes, float[] dst, int dstIndex, int count) {
        int i = 0;
        int bound = count - count % FLOATS.length();
        for (; i < bound; i += FLOATS.length()) {
            decodeLanes(src, srcOffsetBytes + i * 2L).intoArray(dst, dstIndex + i);
        }
        for (; i < count; i++) {
            dst[dstIndex + i] = decode(src.get(U16, srcOffsetBytes + i * 2L));
        }
    }

    /**
     * The {@code FloatVector.SPECIES_PREFERRED.length()} bfloat16 values at {@code src[offsetBytes]}
     * widened to floats in registers (exact): the building block of kernels that read BF16 in place.
     */
    public static FloatVector load(MemorySegment src, long offsetBytes) {
        return decodeLanes(src, offsetBytes);
    }

    private static FloatVector decodeLanes(MemorySegment src, long offsetBytes) {
        IntVector wide = (IntVector) ShortVector.fromMemorySegment(SHORTS, src, offsetBytes, ORDER).castShape(INTS, 0);
        return wide.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }
}
