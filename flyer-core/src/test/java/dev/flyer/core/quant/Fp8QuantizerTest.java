package dev.flyer.core.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.core.numeric.Fp8Format;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Fp8QuantizerTest {
    @Test
    void perTokenGroupMatchesTheDefinitionIncludingPartialGroups() {
        long seed = System.nanoTime();
        System.out.println("Fp8QuantizerTest seed=" + seed);
        Random random = new Random(seed);
        try (Arena arena = Arena.ofConfined()) {
            int m = 3;
            int k = 300; // 2 full groups and a partial one of 44
            Tensor x = Tensor.allocate(arena, DType.F32, m, k);
            for (int r = 0; r < m; r++) {
                for (int c = 0; c < k; c++) {
                    x.setFloat((float) random.nextGaussian() * (c + 1), r, c);
                }
            }
            QuantizedTensor q = Fp8Quantizer.perTokenGroup(x, 128, false, arena);
            assertThat(q.scales().shape()).containsExactly(3, 3);
            for (int r = 0; r < m; r++) {
                for (int g = 0; g < 3; g++) {
                    float amax = 0;
                    for (int c = g * 128; c < Math.min(k, g * 128 + 128); c++) {
                        amax = Math.max(amax, Math.abs(x.getFloat(r, c)));
                    }
                    float s = Math.max(amax, 1e-4f) / 448f;
                    assertThat(q.scales().getFloat(r, g)).isEqualTo(s);
                    for (int c = g * 128; c < Math.min(k, g * 128 + 128); c++) {
                        byte expected = Fp8Format.E4M3FN.encode(x.getFloat(r, c) / s);
                        assertThat(q.values().segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, q.values().byteOffset(r, c)))
                                .isEqualTo(expected);
                    }
                }
            }
            Tensor back = Fp8Quantizer.dequantize(q, arena);
            for (int r = 0; r < m; r++) {
                for (int c = 0; c < k; c++) {
                    float s = q.scales().getFloat(r, c / 128);
                    // E4M3 has a 3-bit mantissa: relative error <= 2^-4, absolute floor of half a subnormal step
                    assertThat(Math.abs(back.getFloat(r, c) - x.getFloat(r, c)))
                            .isLessThanOrEqualTo(Math.abs(x.getFloat(r, c)) / 16 + s * 0x1p-10f);
                }
            }
        }
    }

    @Test
    void perBlockHasCeilDividedScalesAndPowerOfTwoOption() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = Tensor.allocate(arena, DType.BF16, 144, 256);
            w.setFloat(3f, 0, 0);
            w.setFloat(-900f, 130, 200);
            QuantizedTensor q = Fp8Quantizer.perBlock(w, 128, true, arena);
            assertThat(q.scales().shape()).containsExactly(2, 2);
            assertThat(q.scales().getFloat(0, 0)).isEqualTo(1f / 128); // 3/448 rounded up to 2^-7
            assertThat(q.scales().getFloat(1, 1)).isEqualTo(4f); // 900/448 -> 4
            assertThat(q.scales().getFloat(0, 1)).isEqualTo(Math.max(0x1p-22f, q.scales().getFloat(0, 1)));
            Tensor back = Fp8Quantizer.dequantize(q, arena);
            assertThat(back.getFloat(0, 0)).isEqualTo(3f);
            assertThat(back.getFloat(130, 200)).isEqualTo(-896f);
        }
    }

    @Test
    void rejectsBadShapes() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor v = Tensor.allocate(arena, DType.F32, 4);
            assertThatThrownBy(() -> Fp8Quantizer.perTokenGroup(v, 128, false, arena))
                    .hasMessageContaining("x must be 2-D");
            Tensor x = Tensor.allocate(arena, DType.F32, 2, 4);
            assertThatThrownBy(() -> Fp8Quantizer.perTokenGroup(x, 0, false, arena)).hasMessageContaining("positive");
            assertThatThrownBy(() -> new QuantizedTensor(Tensor.allocate(arena, DType.F8_E4M3, 2, 4),
                    Tensor.allocate(arena, DType.F32, 2, 2), 1, 128)).hasMessageContaining("must be [2, 1]");
        }
    }
}
