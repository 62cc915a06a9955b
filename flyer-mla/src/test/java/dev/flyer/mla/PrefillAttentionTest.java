package dev.flyer.mla;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Prefill attention: the non-absorbed varlen form and the absorbed chunked form, against FP64. */
@Timeout(120)
class PrefillAttentionTest {
    @ParameterizedTest(name = "{0} causal={1} dtype={2}")
    @CsvSource({"'0,5,70,200,201', true, BF16", "'0,130', false, F32", "'0,1,2,66', true, F32"})
    void varlenMatchesReference(String cu, boolean causal, DType dtype) {
        int[] cuSeqlens = java.util.Arrays.stream(cu.split(",")).mapToInt(Integer::parseInt).toArray();
        int t = cuSeqlens[cuSeqlens.length - 1];
        int h = 3;
        int dqk = 192;
        int dv = 128;
        long seed = t * 31L + h + (causal ? 1 : 0);
        System.out.println("seed " + seed);
        Random random = new Random(seed);
        Arena arena = Arena.ofAuto();
        Tensor q = random(arena, random, dtype, t, h, dqk);
        Tensor k = random(arena, random, dtype, t, h, dqk);
        Tensor v = random(arena, random, dtype, t, h, dv);
        float scale = (float) Math.pow(dqk, -0.5);
        Attention actual = PrefillAttention.varlen(q, k, v, cuSeqlens, scale, causal);
        double[] out = new double[t * h * dv];
        double[] lse = new double[h * t];
        for (int s = 0; s + 1 < cuSeqlens.length; s++) {
            for (int p = cuSeqlens[s]; p < cuSeqlens[s + 1]; p++) {
                int last = causal ? p : cuSeqlens[s + 1] - 1;
                for (int head = 0; head < h; head++) {
                    double[] score = new double[last - cuSeqlens[s] + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = cuSeqlens[s]; j <= last; j++) {
                        double dot = 0;
                        for (int c = 0; c < dqk; c++) {
                            dot += (double) q.getFloat(p, head, c) * k.getFloat(j, head, c);
                        }
                        score[j - cuSeqlens[s]] = dot * scale;
                        max = Math.max(max, dot * scale);
                    }
                    double sum = 0;
                    double[] acc = new double[dv];
                    for (int j = cuSeqlens[s]; j <= last; j++) {
                        double e = Math.exp(score[j - cuSeqlens[s]] - max);
                        sum += e;
                        for (int c = 0; c < dv; c++) {
                            acc[c] += e * v.getFloat(j, head, c);
                        }
                    }
                    for (int c = 0; c < dv; c++) {
                        out[(p * h + head) * dv + c] = acc[c] / sum;
                    }
                    lse[head * t + p] = max + Math.log(sum);
                }
            }
        }
        // lse is [h, t] here; DecodeCase.assertClose compares flat arrays in order
        DecodeCase.assertClose(actual, new double[][] {out, lse}, "varlen");
    }

    @Test
    void chunkedPrefillIsCausalDecodeOverTheCache() {
        DecodeCase c = new DecodeCase(11, 2, 37, 16, new int[] {300, 37}, KvCacheFormat.BF16);
        float scale = 0.05f;
        Attention actual = PrefillAttention.chunked(c.q, c.cache, c.blockTable, c.seqlens, DecodeOptions.mla().withScale(scale));
        DecodeCase.assertClose(actual, c.reference(scale, true), "chunked prefill");
    }

    @Test
    void badInput() {
        Arena arena = Arena.ofAuto();
        Tensor q = Tensor.allocate(arena, DType.F32, 10, 2, 192);
        Tensor v = Tensor.allocate(arena, DType.F32, 10, 2, 128);
        assertThatThrownBy(() -> PrefillAttention.varlen(q, q, v, new int[] {0, 9}, 1f, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("end at t=10");
        assertThatThrownBy(() -> PrefillAttention.varlen(q, q, v, new int[] {0, 6, 4, 10}, 1f, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("non-decreasing");
        Tensor k = Tensor.allocate(arena, DType.F32, 10, 2, 64);
        assertThatThrownBy(() -> PrefillAttention.varlen(q, k, v, new int[] {0, 10}, 1f, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("k head dim 64 != q head dim 192");
        Tensor v3 = Tensor.allocate(arena, DType.F32, 9, 2, 128);
        assertThatThrownBy(() -> PrefillAttention.varlen(q, q, v3, new int[] {0, 10}, 1f, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must share [t, h]");
        assertThat(PrefillAttention.varlen(q, q, v, new int[] {0, 0, 10}, 1f, true).out().size(0)).isEqualTo(10);
    }

    private static Tensor random(Arena arena, Random random, DType dtype, int... shape) {
        Tensor t = Tensor.allocate(arena, dtype, java.util.Arrays.stream(shape).asLongStream().toArray());
        for (long i = 0; i < t.numel(); i++) {
            float x = (float) random.nextGaussian();
            if (dtype == DType.BF16) {
                t.segment().setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Bf16.encode(x));
            } else {
                t.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, x);
            }
        }
        return t;
    }
}
