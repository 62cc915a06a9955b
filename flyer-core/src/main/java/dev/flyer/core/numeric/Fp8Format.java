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
 * The two OCP 8-bit floating-point formats.
 *
 * <ul>
 *   <li>{@link #E4M3FN}: 4 exponent bits (bias 7), 3 mantissa bits, no infinities, {@code S.1111.111}
 *       is NaN; largest finite 448, smallest subnormal 2^-9. Encoding saturates by default.</li>
 *   <li>{@link #E5M2}: 5 exponent bits (bias 15), 2 mantissa bits, IEEE-style infinities
 *       ({@code S.11111.00}) and NaNs; largest finite 57344, smallest subnormal 2^-16. Encoding
 *       overflows to infinity by default.</li>
 * </ul>
 * Encoding rounds to nearest, ties to even, subnormals included; a NaN input gives
 * {@code S.1111111} (code 0x7F with the sign). {@link Overflow} picks what a value beyond the
 * largest finite one becomes. Decoding is exact; a NaN decodes to a NaN with the code's sign.
 *
 * <p>Implementation notes: for normal results the float32 bits are rounded to the format's
 * mantissa width in integer arithmetic ({@code bits + (half - 1) + lsb}, then a shift) and
 * re-biased by subtracting {@code (127 - bias) << mantissaBits}; subnormal results come from the
 * FPU's own round-to-nearest-even by adding a magic float whose ulp is the format's smallest
 * subnormal ({@code 2^14} for E4M3, {@code 2^7} for E5M2). A rounded code above the largest
 * finite code has overflowed. Decoding shifts the 7 magnitude bits into a float32's top bits
 * and multiplies by {@code 2^(127 - bias)}, which is exact for subnormals too. The vector kernels
 * run the same arithmetic lane-wise and equal the scalar methods bit for bit. Semantics follow
 * PyTorch's {@code c10/util/Float8_e4m3fn.h} and {@code Float8_e5m2.h} (non-saturating mode) and
 * CUDA's {@code __NV_SATFINITE} (saturating mode).
 */
public enum Fp8Format {
    /** OCP E4M3FN: bias 7, max 448, no infinities. */
    E4M3FN(3, 7, 0x7E, false, Overflow.SATURATE),
    /** OCP E5M2: bias 15, max 57344, with infinities. */
    E5M2(2, 15, 0x7B, true, Overflow.NON_SATURATING);

    /** What encoding does with a finite value that rounds beyond the largest finite code. */
    public enum Overflow {
        /** Clamp to +-max finite (infinities too). */
        SATURATE,
        /** Become NaN (E4M3FN) or infinity (E5M2), as a plain cast in PyTorch does. */
        NON_SATURATING
    }

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ORDER);
    private static final int NAN_CODE = 0x7F;

    private final int mantissaBits;
    private final int bias;
    private final int shift;
    private final int halfMinusOne;
    private final int rebias;
    private final int minNormalBits;
    private final float subnormalMagic;
    private final int subnormalMagicBits;
    private final float decodeScale;
    private final int maxCode;
    private final boolean hasInfinity;
    private final Overflow defaultOverflow;
    private final float[] decodeTable = new float[256];

    Fp8Format(int mantissaBits, int bias, int maxCode, boolean hasInfinity, Overflow defaultOverflow) {
        this.mantissaBits = mantissaBits;
        this.bias = bias;
        this.shift = 23 - mantissaBits;
        this.halfMinusOne = (1 << (shift - 1)) - 1;
        this.rebias = (127 - bias) << mantissaBits;
        this.minNormalBits = (1 - bias + 127) << 23;
        int minSubnormalExponent = 1 - bias - mantissaBits;
        this.subnormalMagic = Math.scalb(1.0f, minSubnormalExponent + 23);
        this.subnormalMagicBits = Float.floatToRawIntBits(subnormalMagic);
        this.decodeScale = Math.scalb(1.0f, 127 - bias);
        this.maxCode = maxCode;
        this.hasInfinity = hasInfinity;
        this.defaultOverflow = defaultOverflow;
        for (int code = 0; code < 256; code++) {
            decodeTable[code] = decodeArithmetic(code);
        }
    }

    /** Exponent bias (7 or 15). */
    public int bias() {
        return bias;
    }

    /** Mantissa width in bits (3 or 2). */
    public int mantissaBits() {
        return mantissaBits;
    }

    /** The largest finite value (448 or 57344). */
    public float maxFinite() {
        return decodeTable[maxCode];
    }

    /** The overflow mode {@link #encode(float)} uses. */
    public Overflow defaultOverflow() {
        return defaultOverflow;
    }

    /** Encodes with this format's default overflow mode. */
    public byte encode(float value) {
        return encode(value, defaultOverflow);
    }

    /** Encodes {@code value}, round-to-nearest-even, overflow as {@code overflow} says. */
    public byte encode(float value, Overflow overflow) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 24) & 0x80;
        int abs = bits & 0x7FFF_FFFF;
        if (abs > 0x7F80_0000) {
            return (byte) (NAN_CODE | sign);
        }
        int code;
        if (abs < minNormalBits) {
            code = Float.floatToRawIntBits(Float.intBitsToFloat(abs) + subnormalMagic) - subnormalMagicBits;
        } else {
            code = ((abs + halfMinusOne + ((abs >>> shift) & 1)) >>> shift) - rebias;
        }
        if (code > maxCode) {
            code = overflow == Overflow.SATURATE ? maxCode : overflowCode();
        }
        return (byte) (code | sign);
    }

    /** Decodes an 8-bit code to its exact float value. */
    public float decode(byte code) {
        return decodeTable[code & 0xFF];
    }

    /** Bulk encode of {@code count} floats (little-endian float32) to codes, default overflow mode. */
    public void encode(MemorySegment src, long srcOffsetBytes, MemorySegment dst, long dstOffsetBytes,
                       long count) {
        encode(src, srcOffsetBytes, dst, dstOffsetBytes, count, defaultOverflow);
    }

    /** Bulk encode of {@code count} floats to codes; equals {@link #encode(float, Overflow)} lane by lane. */
    public void encode(MemorySegment src, long srcOffsetBytes, MemorySegment dst, long dstOffsetBytes,
                       long count, Overflow overflow) {
        long i = 0;
        if (BYTES != null) {
            long bound = count - count % FLOATS.length();
            for (; i < bound; i += FLOATS.length()) {
                encode(FloatVector.fromMemorySegment(FLOATS, src, srcOffsetBytes + i * 4, ORDER), dst, dstOffsetBytes + i,
                        overflow);
            }
        }
        for (; i < count; i++) {
            dst.set(ValueLayout.JAVA_BYTE, dstOffsetBytes + i, encode(src.get(F32, srcOffsetBytes + i * 4), overflow));
        }
    }

    /**
     * Encodes the lanes of {@code v} (of {@link #vectorSpecies()}) to {@code v.length()} codes at
     * {@code dst[dstOffsetBytes]}; equals {@link #encode(float, Overflow)} lane by lane. For kernels
     * that scale and encode in registers.
     */
    public void encode(FloatVector v, MemorySegment dst, long dstOffsetBytes, Overflow overflow) {
        if (BYTES == null) {
            float[] lanes = v.toArray();
            for (int i = 0; i < lanes.length; i++) {
                dst.set(ValueLayout.JAVA_BYTE, dstOffsetBytes + i, encode(lanes[i], overflow));
            }
            return;
        }
        int overflowTo = overflow == Overflow.SATURATE ? maxCode : overflowCode();
        IntVector bits = v.reinterpretAsInts();
        IntVector sign = bits.lanewise(VectorOperators.LSHR, 24).and(0x80);
        IntVector abs = bits.and(0x7FFF_FFFF);
        IntVector lsb = abs.lanewise(VectorOperators.LSHR, shift).and(1);
        IntVector normal = abs.add(halfMinusOne).add(lsb).lanewise(VectorOperators.LSHR, shift).sub(rebias);
        IntVector subnormal = abs.reinterpretAsFloats().add(subnormalMagic).reinterpretAsInts().sub(subnormalMagicBits);
        IntVector code = normal.blend(subnormal, abs.compare(VectorOperators.LT, minNormalBits));
        code = code.blend(overflowTo, code.compare(VectorOperators.GT, maxCode));
        code = code.blend(NAN_CODE, abs.compare(VectorOperators.GT, 0x7F80_0000)).or(sign);
        code.castShape(BYTES, 0).reinterpretAsBytes().intoMemorySegment(dst, dstOffsetBytes, ORDER);
    }

    /** The float species {@link #encode(FloatVector, MemorySegment, long, Overflow)} takes. */
    public static jdk.incubator.vector.VectorSpecies<Float> vectorSpecies() {
        return FLOATS;
    }

    /** Bulk decode of {@code count} codes to little-endian float32; equals {@link #decode(byte)}. */
    public void decode(MemorySegment src, long srcOffsetBytes, MemorySegment dst, long dstOffsetBytes, long count) {
        long i = 0;
        if (BYTES != null) {
            long bound = count - count % FLOATS.length();
            for (; i < bound; i += FLOATS.length()) {
                decodeLanes(src, srcOffsetBytes + i).intoMemorySegment(dst, dstOffsetBytes + i * 4, ORDER);
            }
        }
        for (; i < count; i++) {
            dst.set(F32, dstOffsetBytes + i * 4, decode(src.get(ValueLayout.JAVA_BYTE, srcOffsetBytes + i)));
        }
    }

    /** Bulk decode of {@code count} codes to {@code dst[dstIndex..]}; the fast path into Java arrays. */
    public void decode(MemorySegment src, long srcOffsetBytes, float[] dst, int dstIndex, int count) {
        int i = 0;
        if (BYTES != null) {
            int bound = count - count % FLOATS.length();
            for (; i < bound; i += FLOATS.length()) {
                decodeLanes(src, srcOffsetBytes + i).intoArray(dst, dstIndex + i);
            }
        }
        for (; i < count; i++) {
            dst[dstIndex + i] = decode(src.get(ValueLayout.JAVA_BYTE, srcOffsetBytes + i));
        }
    }

    private FloatVector decodeLanes(MemorySegment src, long offsetBytes) {
        IntVector codes = ((IntVector) ByteVector.fromMemorySegment(BYTES, src, offsetBytes, ORDER).castShape(INTS, 0))
                .and(0xFF);
        IntVector magnitude = codes.and(0x7F);
        IntVector valueBits = magnitude.lanewise(VectorOperators.LSHL, shift).reinterpretAsFloats()
                .mul(decodeScale).reinterpretAsInts();
        VectorMask<Integer> nan = magnitude.compare(VectorOperators.GT, hasInfinity ? maxCode + 1 : maxCode);
        if (hasInfinity) {
            valueBits = valueBits.blend(0x7F80_0000, magnitude.compare(VectorOperators.EQ, maxCode + 1));
        }
        valueBits = valueBits.blend(0x7FC0_0000, nan);
        return valueBits.or(codes.and(0x80).lanewise(VectorOperators.LSHL, 24)).reinterpretAsFloats();
    }

    private int overflowCode() {
        return hasInfinity ? maxCode + 1 : NAN_CODE;
    }

    private float decodeArithmetic(int code) {
        int magnitude = code & 0x7F;
        int valueBits;
        if (magnitude > maxCode) {
            valueBits = hasInfinity && magnitude == maxCode + 1 ? 0x7F80_0000 : 0x7FC0_0000;
        } else {
            valueBits = Float.floatToRawIntBits(Float.intBitsToFloat(magnitude << shift) * decodeScale);
        }
        return Float.intBitsToFloat(valueBits | (code & 0x80) << 24);
    }
}
