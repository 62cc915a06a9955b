package dev.flyer.core.numeric;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Ue8m0Test {
    /** Smallest e in [0, 254] with 2^(e-127) >= x, or 255. */
    static int referenceEncodeCeil(float x) {
        if (!(x > 0) || Float.isInfinite(x)) {
            return 255;
        }
        for (int e = 0; e <= 254; e++) {
            if (Math.scalb(1.0, e - 127) >= x) {
                return e;
            }
        }
        return 255;
    }

    @Test
    void decodesAllCodes() {
        for (int e = 0; e < 255; e++) {
            assertThat((double) Ue8m0.decode((byte) e)).as("code %d", e).isEqualTo(Math.scalb(1.0, e - 127));
        }
        assertThat(Ue8m0.decode((byte) 0xFF)).isNaN();
    }

    @Test
    void encodeCeilMatchesSearchAroundEveryPowerOfTwo() {
        for (int e = 0; e < 255; e++) {
            float p = (float) Math.scalb(1.0, e - 127);
            for (float x : new float[] {p, Math.nextUp(p), Math.nextDown(p), p * 1.5f}) {
                assertThat(Ue8m0.encodeCeil(x) & 0xFF).as("%a", x).isEqualTo(referenceEncodeCeil(x));
            }
        }
        for (float x : new float[] {0f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.MIN_VALUE, Float.MAX_VALUE}) {
            assertThat(Ue8m0.encodeCeil(x) & 0xFF).as("%a", x).isEqualTo(referenceEncodeCeil(x));
        }
    }

    @Test
    void ceilPow2IsTheSmallestPowerOfTwoNotBelow() {
        assertThat(Scales.ceilPow2(1f)).isEqualTo(1f);
        assertThat(Scales.ceilPow2(1.0001f)).isEqualTo(2f);
        assertThat(Scales.ceilPow2(0.75f)).isEqualTo(1f);
        assertThat(Scales.ceilPow2(3e-3f)).isEqualTo(1f / 256);
        float justAbove = Math.nextUp(1f / 256);
        assertThat(Scales.ceilPow2(justAbove)).as("exact, unlike a float32 log2").isEqualTo(1f / 128);
        assertThat(Scales.e4m3Scale(0f, false)).isEqualTo(1e-4f / 448f);
        assertThat(Scales.e4m3Scale(448f, true)).isEqualTo(1f);
    }

    @Test
    void bulkEqualsScalar() {
        long seed = System.nanoTime();
        System.out.println("Ue8m0Test.bulkEqualsScalar seed=" + seed);
        Random random = new Random(seed);
        int n = 2000;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(n * 4L);
            MemorySegment codes = arena.allocate(n);
            MemorySegment back = arena.allocate(n * 4L);
            for (int i = 0; i < n; i++) {
                float x = i % 4 == 0 ? Float.intBitsToFloat(random.nextInt())
                        : (float) Math.scalb(1.0, random.nextInt(300) - 150) * (i % 2 == 0 ? 1f : 1.25f);
                src.set(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4L, x);
            }
            Ue8m0.encodeCeil(src, 0, codes, 0, n);
            Ue8m0.decode(codes, 0, back, 0, n);
            for (int i = 0; i < n; i++) {
                float x = src.get(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4L);
                byte c = codes.get(ValueLayout.JAVA_BYTE, i);
                assertThat(c).as("lane %d of %a", i, x).isEqualTo(Ue8m0.encodeCeil(x));
                assertThat(c & 0xFF).as("reference for %a", x).isEqualTo(referenceEncodeCeil(x));
                assertThat(Float.floatToRawIntBits(back.get(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4L)))
                        .isEqualTo(Float.floatToRawIntBits(Ue8m0.decode(c)));
            }
        }
    }
}
