package dev.flyer.ep.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.numeric.Fp8Format;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The vectorised cast against the scalar reference: DeepEP's scale arithmetic and a lane-by-lane E4M3 encode. */
class Fp8CastTest {
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void castRowEqualsScalarReference(boolean roundScale) {
        long seed = System.nanoTime();
        System.out.println("Fp8CastTest seed=" + seed);
        Random rnd = new Random(seed);
        int most = 9216; // 72 groups: past the per-thread scratch's first size, then back to 8
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(most * 2L);
            MemorySegment codes = arena.allocate(most);
            MemorySegment scales = arena.allocate(most / 32L);
            for (int trial = 0; trial < 50; trial++) {
                int hidden = trial % 10 == 5 ? most : 1024;
                float magnitude = (float) Math.pow(10, rnd.nextInt(9) - 6);
                float[] x = new float[hidden];
                for (int i = 0; i < hidden; i++) {
                    x[i] = Bf16.decode(Bf16.encode(trial == 0 ? 0f : (float) rnd.nextGaussian() * magnitude));
                    src.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Bf16.encode(x[i]));
                }
                Fp8Cast.castRow(src, 0, hidden, codes, 0, scales, 0, roundScale);
                for (int g = 0; g < hidden / 128; g++) {
                    float[] group = java.util.Arrays.copyOfRange(x, g * 128, (g + 1) * 128);
                    float scaleInv = Fp8Cast.referenceScale(group, roundScale);
                    assertThat(scales.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, g)).isEqualTo(scaleInv);
                    float amax = 1e-4f;
                    for (float v : group) {
                        amax = Math.max(amax, Math.abs(v));
                    }
                    float scale = roundScale ? 1 / scaleInv : 448.0f / amax;
                    for (int c = 0; c < 128; c++) {
                        byte want = Fp8Format.E4M3FN.encode(group[c] * scale, Fp8Format.Overflow.SATURATE);
                        assertThat(codes.get(ValueLayout.JAVA_BYTE, g * 128L + c)).as("trial " + trial + " channel "
                                + (g * 128 + c)).isEqualTo(want);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7})
    void ue8m0PacksTheExponentBytes(int exponent) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment scales = arena.allocate(16);
            MemorySegment packed = arena.allocate(4);
            for (int g = 0; g < 4; g++) {
                scales.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, g, (float) Math.scalb(1.0, exponent - g));
            }
            Fp8Cast.packUe8m0(scales, 0, 4, packed, 0);
            for (int g = 0; g < 4; g++) {
                assertThat(packed.get(ValueLayout.JAVA_BYTE, g) & 0xFF).isEqualTo(127 + exponent - g);
            }
        }
    }
}
