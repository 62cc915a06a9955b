package dev.flyer.core.numeric;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.core.numeric.Fp8Format.Overflow;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * FP8 against an independent definition: values from the bit fields by the textbook formula, and
 * encoding as a brute-force search for the nearest representable value (ties to the even code).
 */
class Fp8FormatTest {
    /** Textbook value of a code: (-1)^s * 2^(e-bias) * (1 + m/2^M), subnormal when e == 0. */
    static double referenceDecode(Fp8Format f, int code) {
        int mBits = f.mantissaBits();
        int eBits = 7 - mBits;
        int s = (code >> 7) & 1;
        int e = (code >> mBits) & ((1 << eBits) - 1);
        int m = code & ((1 << mBits) - 1);
        int allOnes = (1 << eBits) - 1;
        double sign = s == 1 ? -1 : 1;
        if (f == Fp8Format.E4M3FN && e == allOnes && m == (1 << mBits) - 1) {
            return Double.NaN;
        }
        if (f == Fp8Format.E5M2 && e == allOnes) {
            return m == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        if (e == 0) {
            return sign * Math.scalb((double) m / (1 << mBits), 1 - f.bias());
        }
        return sign * Math.scalb(1.0 + (double) m / (1 << mBits), e - f.bias());
    }

    /** Brute force: nearest finite magnitude code, ties to the even code, overflow per mode. */
    static int referenceEncode(Fp8Format f, float x, Overflow overflow) {
        if (Float.isNaN(x)) {
            return 0x7F | (Float.floatToRawIntBits(x) >>> 31 << 7);
        }
        int sign = Float.floatToRawIntBits(x) >>> 31 << 7;
        double a = Math.abs((double) x);
        int maxCode = f == Fp8Format.E4M3FN ? 0x7E : 0x7B;
        double max = referenceDecode(f, maxCode);
        // one step past max: what round-to-nearest would produce if the format went on
        double beyond = Math.scalb(1.0 + (double) ((maxCode + 1) & ((1 << f.mantissaBits()) - 1)) / (1 << f.mantissaBits()),
                ((maxCode + 1) >> f.mantissaBits()) - f.bias());
        int best = 0;
        double bestDist = a > beyond ? -1 : Double.MAX_VALUE;
        if (a > beyond) {
            best = maxCode + 1;
        }
        for (int c = 0; c <= maxCode + 1; c++) {
            double v = c == maxCode + 1 ? beyond : referenceDecode(f, c);
            double d = Math.abs(v - a);
            if (d < bestDist || (d == bestDist && (c & 1) == 0)) {
                best = c;
                bestDist = d;
            }
        }
        if (best == maxCode + 1 || Double.isInfinite(a)) {
            if (overflow == Overflow.SATURATE) {
                best = maxCode;
            } else {
                best = f == Fp8Format.E4M3FN ? 0x7F : 0x7C;
            }
        }
        if (overflow == Overflow.SATURATE && a >= max) {
            best = maxCode;
        }
        return best | sign;
    }

    @ParameterizedTest
    @EnumSource(Fp8Format.class)
    void decodesAll256CodesLikeTheTextbookFormula(Fp8Format f) {
        for (int code = 0; code < 256; code++) {
            double expected = referenceDecode(f, code);
            float actual = f.decode((byte) code);
            if (Double.isNaN(expected)) {
                assertThat(actual).as("code 0x%02x", code).isNaN();
                assertThat(Float.floatToRawIntBits(actual) >>> 31).as("NaN sign of 0x%02x", code).isEqualTo(code >> 7);
            } else {
                assertThat(Float.floatToRawIntBits(actual)).as("code 0x%02x", code)
                        .isEqualTo(Float.floatToRawIntBits((float) expected));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Fp8Format.class)
    void everyCodeRoundTrips(Fp8Format f) {
        for (int code = 0; code < 256; code++) {
            float v = f.decode((byte) code);
            if (!Float.isNaN(v) && !Float.isInfinite(v)) {
                assertThat(f.encode(v, Overflow.NON_SATURATING) & 0xFF).as("code 0x%02x", code).isEqualTo(code);
                assertThat(f.encode(v, Overflow.SATURATE) & 0xFF).as("code 0x%02x", code).isEqualTo(code);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Fp8Format.class)
    void midpointsAndNeighboursRoundToNearestEven(Fp8Format f) {
        for (int code = 0; code < 0x7F; code++) {
            double lo = referenceDecode(f, code);
            double hi = referenceDecode(f, code + 1);
            if (Double.isNaN(hi) || Double.isInfinite(hi) || Double.isNaN(lo)) {
                continue;
            }
            float mid = (float) ((lo + hi) / 2);
            for (float x : new float[] {mid, Math.nextDown(mid), Math.nextUp(mid), -mid, -Math.nextUp(mid)}) {
                for (Overflow o : Overflow.values()) {
                    assertThat(f.encode(x, o) & 0xFF).as("%s %s of %a", f, o, x).isEqualTo(referenceEncode(f, x, o));
                }
            }
        }
    }

    @Test
    void e4m3SpecialValues() {
        Fp8Format f = Fp8Format.E4M3FN;
        assertThat(f.maxFinite()).isEqualTo(448f);
        assertThat(f.encode(448f)).isEqualTo((byte) 0x7E);
        assertThat(f.encode(1e9f)).isEqualTo((byte) 0x7E);
        assertThat(f.encode(Float.POSITIVE_INFINITY)).isEqualTo((byte) 0x7E);
        assertThat(f.encode(Float.NEGATIVE_INFINITY)).isEqualTo((byte) 0xFE);
        assertThat(f.encode(464f, Overflow.NON_SATURATING)).as("tie goes to even 448").isEqualTo((byte) 0x7E);
        assertThat(f.encode(Math.nextUp(464f), Overflow.NON_SATURATING)).isEqualTo((byte) 0x7F);
        assertThat(f.encode(Float.POSITIVE_INFINITY, Overflow.NON_SATURATING)).isEqualTo((byte) 0x7F);
        assertThat(f.encode(Float.NaN)).isEqualTo((byte) 0x7F);
        assertThat(f.encode(0.0f)).isEqualTo((byte) 0x00);
        assertThat(f.encode(-0.0f)).isEqualTo((byte) 0x80);
        assertThat(f.decode((byte) 0x01)).as("min subnormal").isEqualTo(Math.scalb(1f, -9));
        assertThat(f.encode(Math.scalb(1f, -10))).as("half min subnormal ties to 0").isEqualTo((byte) 0);
        assertThat(f.encode(Math.nextUp(Math.scalb(1f, -10)))).isEqualTo((byte) 1);
        assertThat(f.decode((byte) 0xFF)).isNaN();
    }

    @Test
    void e5m2SpecialValues() {
        Fp8Format f = Fp8Format.E5M2;
        assertThat(f.maxFinite()).isEqualTo(57344f);
        assertThat(f.decode((byte) 0x7C)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(f.decode((byte) 0xFC)).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(f.decode((byte) 0x7D)).isNaN();
        assertThat(f.encode(61440f)).as("tie between 57344 and inf goes to inf (even)").isEqualTo((byte) 0x7C);
        assertThat(f.encode(Math.nextDown(61440f))).isEqualTo((byte) 0x7B);
        assertThat(f.encode(1e9f, Overflow.SATURATE)).isEqualTo((byte) 0x7B);
        assertThat(f.encode(Float.NEGATIVE_INFINITY)).isEqualTo((byte) 0xFC);
        assertThat(f.encode(Float.NaN)).isEqualTo((byte) 0x7F);
        assertThat(f.decode((byte) 0x01)).isEqualTo(Math.scalb(1f, -16));
    }

    @ParameterizedTest
    @EnumSource(Fp8Format.class)
    void sweepOfFloatBitPatternsMatchesBruteForce(Fp8Format f) {
        long step = 4099;
        for (long bits = 0; bits <= 0xFFFF_FFFFL; bits += step) {
            float x = Float.intBitsToFloat((int) bits);
            for (Overflow o : Overflow.values()) {
                int expected = referenceEncode(f, x, o);
                int actual = f.encode(x, o) & 0xFF;
                if (actual != expected) {
                    assertThat(actual).as("%s %s of %a (bits %08x)", f, o, x, bits).isEqualTo(expected);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Fp8Format.class)
    void bulkKernelsEqualScalarBitForBit(Fp8Format f) {
        long seed = System.nanoTime();
        System.out.println("Fp8FormatTest.bulkKernelsEqualScalarBitForBit seed=" + seed);
        Random random = new Random(seed);
        int n = 1000 + random.nextInt(64);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(n * 4L + 3);
            MemorySegment codes = arena.allocate(n + 5L);
            MemorySegment back = arena.allocate(n * 4L + 1);
            float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 448f, 464f, 480f,
                61440f, 57344f, 1e-9f, Math.scalb(1f, -10), Float.MIN_VALUE};
            for (int i = 0; i < n; i++) {
                float x = i < special.length ? special[i]
                        : switch (i % 3) {
                            case 0 -> Float.intBitsToFloat(random.nextInt());
                            case 1 -> (float) random.nextGaussian() * 300;
                            default -> (float) random.nextGaussian() * 1e-3f;
                        };
                src.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 3 + i * 4L, x);
            }
            for (Overflow o : Overflow.values()) {
                f.encode(src, 3, codes, 5, n, o);
                for (int i = 0; i < n; i++) {
                    float x = src.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 3 + i * 4L);
                    assertThat(codes.get(ValueLayout.JAVA_BYTE, 5 + i)).as("%s %s lane %d of %a", f, o, i, x)
                            .isEqualTo(f.encode(x, o));
                }
            }
            f.decode(codes, 5, back, 1, n);
            for (int i = 0; i < n; i++) {
                byte c = codes.get(ValueLayout.JAVA_BYTE, 5 + i);
                assertThat(Float.floatToRawIntBits(back.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 1 + i * 4L)))
                        .as("decode lane %d code 0x%02x", i, c & 0xFF)
                        .isEqualTo(Float.floatToRawIntBits(f.decode(c)));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Fp8Format.class)
    void bulkDecodeCoversAllCodes(Fp8Format f) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment codes = arena.allocate(256);
            MemorySegment out = arena.allocate(1024);
            for (int c = 0; c < 256; c++) {
                codes.set(ValueLayout.JAVA_BYTE, c, (byte) c);
            }
            f.decode(codes, 0, out, 0, 256);
            float[] array = new float[259];
            f.decode(codes, 0, array, 3, 256);
            for (int c = 0; c < 256; c++) {
                int expected = Float.floatToRawIntBits(f.decode((byte) c));
                assertThat(Float.floatToRawIntBits(out.get(ValueLayout.JAVA_FLOAT_UNALIGNED, c * 4L)))
                        .as("code 0x%02x", c).isEqualTo(expected);
                assertThat(Float.floatToRawIntBits(array[3 + c])).as("code 0x%02x into float[]", c).isEqualTo(expected);
            }
        }
    }
}
