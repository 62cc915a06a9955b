package dev.flyer.core.numeric;

import static dev.flyer.core.numeric.internal.Lanes.BYTES;
import static dev.flyer.core.numeric.internal.Lanes.FLOATS;
import static dev.flyer.core.numeric.internal.Lanes.INTS;
import static dev.flyer.core.numeric.internal.Lanes.ORDER;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * UE8M0: an unsigned power-of-two scale stored as its biased exponent byte, value
 * {@code 2^(e - 127)} for {@code e} in 0..254; {@code 0xFF} is NaN (OCP MX). DeepGEMM packs
 * such scales for its SM100 kernels.
 *
 * <p>Encoding takes the ceiling: {@link #encodeCeil(float)} returns the smallest exponent whose
 * power of two is at least the input, so dividing by the decoded scale never exceeds the range
 * the unrounded scale allowed. Inputs below {@code 2^-127} give 0 (the smallest scale); inputs
 * that are not positive and finite, or above {@code 2^127}, give {@code 0xFF}.
 *
 * <p>Implementation notes: for a normal float the biased exponent is the top bits, plus one when
 * any mantissa bit is set; subnormal inputs are at most {@code 2^-127} (code 0) or below
 * {@code 2^-126} (code 1). The bulk kernels run that lane-wise and equal the scalar methods.
 */
public final class Ue8m0 {
    /** The NaN code. */
    public static final byte NAN = (byte) 0xFF;
    private static final int HALF_MIN_NORMAL_BITS = 0x0040_0000;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ORDER);

    private Ue8m0() {}

    /** The exponent byte of the smallest power of two that is {@code >= scale}. */
    public static byte encodeCeil(float scale) {
        int bits = Float.floatToRawIntBits(scale);
        if (bits <= 0 || bits >= 0x7F80_0000) {
            return NAN;
        }
        if (bits < 0x0080_0000) {
            return (byte) (bits <= HALF_MIN_NORMAL_BITS ? 0 : 1);
        }
        int exponent = (bits >>> 23) + ((bits & 0x7F_FFFF) != 0 ? 1 : 0);
        return (byte) Math.min(exponent, 0xFF);
    }

    /** The scale {@code 2^(code - 127)}, or NaN for {@code 0xFF}. */
    public static float decode(byte code) {
        int e = code & 0xFF;
        if (e == 0xFF) {
            return Float.NaN;
        }
        return Float.intBitsToFloat(e == 0 ? HALF_MIN_NORMAL_BITS : e << 23);
    }

    /** Bulk {@link #encodeCeil(float)} of {@code count} little-endian floats. */
    public static void encodeCeil(MemorySegment src, long srcOffsetBytes, MemorySegment dst, long dstOffsetBytes,
                                  long count) {
        long i = 0;
        if (BYTES != null) {
            long bound = count - count % FLOATS.length();
            for (; i < bound; i += FLOATS.length()) {
                IntVector bits = FloatVector.fromMemorySegment(FLOATS, src, srcOffsetBytes + i * 4, ORDER)
                        .reinterpretAsInts();
                IntVector roundUp = IntVector.zero(INTS).blend(1, bits.and(0x7F_FFFF).compare(VectorOperators.NE, 0));
                IntVector code = bits.lanewise(VectorOperators.LSHR, 23).add(roundUp);
                VectorMask<Integer> subnormal = bits.compare(VectorOperators.LT, 0x0080_0000);
                IntVector subCode = IntVector.zero(INTS).blend(1, bits.compare(VectorOperators.GT, HALF_MIN_NORMAL_BITS));
                code = code.blend(subCode, subnormal).min(0xFF);
                VectorMask<Integer> invalid = bits.compare(VectorOperators.LE, 0)
                        .or(bits.compare(VectorOperators.GE, 0x7F80_0000));
                code.blend(0xFF, invalid).castShape(BYTES, 0).reinterpretAsBytes()
                        .intoMemorySegment(dst, dstOffsetBytes + i, ORDER);
            }
        }
        for (; i < count; i++) {
            dst.set(ValueLayout.JAVA_BYTE, dstOffsetBytes + i, encodeCeil(src.get(F32, srcOffsetBytes + i * 4)));
        }
    }

    /** Bulk {@link #decode(byte)} of {@code count} codes to little-endian floats. */
    public static void decode(MemorySegment src, long srcOffsetBytes, MemorySegment dst, long dstOffsetBytes,
                              long count) {
        long i = 0;
        if (BYTES != null) {
            long bound = count - count % FLOATS.length();
            for (; i < bound; i += FLOATS.length()) {
                IntVector e = ((IntVector) ByteVector.fromMemorySegment(BYTES, src, srcOffsetBytes + i, ORDER)
                        .castShape(INTS, 0)).and(0xFF);
                IntVector bits = e.lanewise(VectorOperators.LSHL, 23)
                        .blend(HALF_MIN_NORMAL_BITS, e.compare(VectorOperators.EQ, 0))
                        .blend(0x7FC0_0000, e.compare(VectorOperators.EQ, 0xFF));
                bits.reinterpretAsFloats().intoMemorySegment(dst, dstOffsetBytes + i * 4, ORDER);
            }
        }
        for (; i < count; i++) {
            dst.set(F32, dstOffsetBytes + i * 4, decode(src.get(ValueLayout.JAVA_BYTE, srcOffsetBytes + i)));
        }
    }
}
