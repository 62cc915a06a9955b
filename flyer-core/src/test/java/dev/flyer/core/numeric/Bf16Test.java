package dev.flyer.core.numeric;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** BF16 against the textbook definition: decode from fields, encode by nearest-of-two-neighbours. */
class Bf16Test {
    static double referenceDecode(int code) {
        int s = (code >> 15) & 1;
        int e = (code >> 7) & 0xFF;
        int m = code & 0x7F;
        double sign = s == 1 ? -1 : 1;
        if (e == 0xFF) {
            return m == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        if (e == 0) {
            return sign * Math.scalb(m / 128.0, -126);
        }
        return sign * Math.scalb(1 + m / 128.0, e - 127);
    }

    /** Nearest of the two bfloat16 values around x (by magnitude), ties to the even code. */
    static int referenceEncode(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) {
            return -1;
        }
        int down = (bits >>> 16) & 0xFFFF;
        int up = down + 1;
        double a = Math.abs((double) x);
        double lo = Math.abs(referenceDecode(down));
        double hi = (up & 0x7FFF) == 0x7F80 ? Math.scalb(1.0, 128) : Math.abs(referenceDecode(up));
        if ((down & 0x7F80) == 0x7F80) {
            return down; // infinity stays
        }
        double dLo = a - lo;
        double dHi = hi - a;
        if (dLo < dHi || (dLo == dHi && (down & 1) == 0)) {
            return down;
        }
        return up & 0xFFFF;
    }

    @Test
    void decodesAll65536Codes() {
        for (int code = 0; code < 65536; code++) {
            double expected = referenceDecode(code);
            float actual = Bf16.decode((short) code);
            if (Double.isNaN(expected)) {
                assertThat(actual).as("code %04x", code).isNaN();
            } else {
                assertThat(Float.floatToRawIntBits(actual)).as("code %04x", code)
                        .isEqualTo(Float.floatToRawIntBits((float) expected));
            }
        }
    }

    @Test
    void everyCodeRoundTripsAndNaNIsPreserved() {
        for (int code = 0; code < 65536; code++) {
            float v = Bf16.decode((short) code);
            int back = Bf16.encode(v) & 0xFFFF;
            if (Float.isNaN(v)) {
                assertThat(Bf16.decode((short) back)).as("NaN %04x", code).isNaN();
                assertThat(back & 0x8000).as("NaN sign %04x", code).isEqualTo(code & 0x8000);
            } else {
                assertThat(back).as("code %04x", code).isEqualTo(code);
            }
        }
    }

    @Test
    void midpointsRoundToEvenAndNeighboursToNearest() {
        for (int code = 0; code < 65536; code++) {
            if ((code & 0x7F80) == 0x7F80) {
                continue;
            }
            int bits = code << 16;
            for (int low : new int[] {0x8000, 0x7FFF, 0x8001, 0x0001, 0xFFFF}) {
                float x = Float.intBitsToFloat(bits | low);
                assertThat(Bf16.encode(x) & 0xFFFF).as("%a", x).isEqualTo(referenceEncode(x));
            }
        }
    }

    @Test
    void overflowRoundsToInfinity() {
        assertThat(Bf16.encode(Float.MAX_VALUE)).isEqualTo((short) 0x7F80);
        assertThat(Bf16.encode(-Float.MAX_VALUE)).isEqualTo((short) 0xFF80);
        assertThat(Bf16.encode(Float.intBitsToFloat(0x7F7F7FFF))).isEqualTo((short) 0x7F7F);
        assertThat(Bf16.encode(Float.MIN_VALUE)).isEqualTo((short) 0);
        assertThat(Bf16.encode(-0f)).isEqualTo((short) 0x8000);
        assertThat(Bf16.encode(Float.intBitsToFloat(0x7F80_0001))).as("signalling NaN stays NaN")
                .isEqualTo((short) 0x7FC0);
    }

    @Test
    void bulkKernelsEqualScalarBitForBit() {
        long seed = System.nanoTime();
        System.out.println("Bf16Test.bulkKernelsEqualScalarBitForBit seed=" + seed);
        Random random = new Random(seed);
        int n = 4096 + random.nextInt(100);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(n * 4L + 1);
            MemorySegment dst = arena.allocate(n * 2L + 3);
            MemorySegment back = arena.allocate(n * 4L);
            for (int i = 0; i < n; i++) {
                src.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 1 + i * 4L, Float.intBitsToFloat(random.nextInt()));
            }
            Bf16.encode(src, 1, dst, 3, n);
            Bf16.decode(dst, 3, back, 0, n);
            for (int i = 0; i < n; i++) {
                float x = src.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 1 + i * 4L);
                short code = dst.get(ValueLayout.JAVA_SHORT_UNALIGNED, 3 + i * 2L);
                assertThat(code).as("lane %d of %a", i, x).isEqualTo(Bf16.encode(x));
                assertThat(Float.floatToRawIntBits(back.get(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4L)))
                        .isEqualTo(Float.floatToRawIntBits(Bf16.decode(code)));
            }
        }
    }

    @Test
    void arrayKernelsEqualScalarBitForBit() {
        long seed = System.nanoTime();
        System.out.println("Bf16Test.arrayKernelsEqualScalarBitForBit seed=" + seed);
        Random random = new Random(seed);
        int n = 1000 + random.nextInt(100);
        float[] src = new float[n + 5];
        for (int i = 0; i < src.length; i++) {
            src[i] = Float.intBitsToFloat(random.nextInt());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment codes = arena.allocate(n * 2L + 3);
            Bf16.encode(src, 5, codes, 3, n);
            float[] back = new float[n + 7];
            Bf16.decode(codes, 3, back, 7, n);
            for (int i = 0; i < n; i++) {
                short code = codes.get(ValueLayout.JAVA_SHORT_UNALIGNED, 3 + i * 2L);
                assertThat(code).as("lane %d of %a", i, src[5 + i]).isEqualTo(Bf16.encode(src[5 + i]));
                assertThat(Float.floatToRawIntBits(back[7 + i])).isEqualTo(Float.floatToRawIntBits(Bf16.decode(code)));
            }
        }
    }
}
