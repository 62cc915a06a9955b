package dev.flyer.mla;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A random decode problem as FlashMLA's tests build them (shuffled block tables, a block shared
 * between sequences, NaN in every unused cache slot, invalid ids in table padding) and the FP64
 * reference it is checked against ({@code tests/ref.py}'s semantics).
 */
final class DecodeCase {
    static final int D = 576;
    static final int DV = 512;
    static final int PAGE = 64;

    final int b;
    final int sQ;
    final int hQ;
    final int[] seqlens;
    final int maxBlocks;
    final int[] blockTable;
    final Tensor q;
    final Tensor cache;
    /** Dequantised cache values per block and token, NaN where unused. */
    final float[][] tokens;
    final KvCacheFormat format;

    DecodeCase(long seed, int b, int sQ, int hQ, int[] seqlens, KvCacheFormat format) {
        this.b = b;
        this.sQ = sQ;
        this.hQ = hQ;
        this.seqlens = seqlens;
        this.format = format;
        Random random = new Random(seed);
        int max = 1;
        int totalBlocks = 0;
        for (int len : seqlens) {
            max = Math.max(max, (len + PAGE - 1) / PAGE);
            totalBlocks += (len + PAGE - 1) / PAGE;
        }
        maxBlocks = max + 1;
        int numBlocks = totalBlocks + 3;
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < numBlocks; i++) {
            ids.add(i);
        }
        Collections.shuffle(ids, random);
        blockTable = new int[b * maxBlocks];
        Arrays.fill(blockTable, Integer.MIN_VALUE / 2);
        int next = 0;
        for (int i = 0; i < b; i++) {
            int used = (seqlens[i] + PAGE - 1) / PAGE;
            for (int j = 0; j < used; j++) {
                blockTable[i * maxBlocks + j] = ids.get(next++);
            }
            for (int j = used; j < maxBlocks; j++) {
                blockTable[i * maxBlocks + j] = random.nextBoolean() ? -1 : 1 << 30;
            }
        }
        shareFirstBlock();
        Arena arena = Arena.ofAuto();
        long tokenBytes = format.tokenBytes(D);
        cache = switch (format) {
            case BF16 -> Tensor.allocate(arena, DType.BF16, numBlocks, PAGE, 1, D);
            case F32 -> Tensor.allocate(arena, DType.F32, numBlocks, PAGE, 1, D);
            case FP8 -> Tensor.allocate(arena, DType.U8, numBlocks, PAGE, 1, KvCacheFormat.FP8_TOKEN_BYTES);
        };
        MemorySegment seg = cache.segment();
        tokens = new float[numBlocks * PAGE][];
        fillNaN(seg);
        float[] values = new float[D];
        for (int i = 0; i < b; i++) {
            for (int t = 0; t < seqlens[i]; t++) {
                int slot = blockTable[i * maxBlocks + t / PAGE] * PAGE + t % PAGE;
                if (tokens[slot] != null) {
                    continue;
                }
                for (int c = 0; c < D; c++) {
                    values[c] = Bf16.decode(Bf16.encode((float) random.nextGaussian()));
                }
                long offset = slot * tokenBytes;
                float[] stored = new float[D];
                if (format == KvCacheFormat.BF16) {
                    for (int c = 0; c < D; c++) {
                        seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, offset + 2L * c, Bf16.encode(values[c]));
                    }
                    System.arraycopy(values, 0, stored, 0, D);
                } else if (format == KvCacheFormat.F32) {
                    for (int c = 0; c < D; c++) {
                        values[c] = (float) random.nextGaussian();
                        seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED, offset + 4L * c, values[c]);
                    }
                    System.arraycopy(values, 0, stored, 0, D);
                } else {
                    KvCacheFormat.quantizeToken(values, seg, offset);
                    KvCacheFormat.dequantizeToken(seg, offset, stored);
                }
                tokens[slot] = stored;
            }
        }
        q = Tensor.allocate(arena, DType.BF16, b, sQ, hQ, D);
        for (long i = 0; i < q.numel(); i++) {
            q.segment().setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Bf16.encode((float) random.nextGaussian()));
        }
    }

    /** Sequences 0 and 1, when both have a full first block, share it (prefix sharing). */
    private void shareFirstBlock() {
        if (b >= 2 && seqlens[0] >= PAGE && seqlens[1] >= PAGE) {
            blockTable[maxBlocks] = blockTable[0];
        }
    }

    private static void fillNaN(MemorySegment seg) {
        for (long i = 0; i + 1 < seg.byteSize(); i += 2) {
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) 0x7FC1);
        }
    }

    float[] token(int seq, int position) {
        return tokens[blockTable[seq * maxBlocks + position / PAGE] * PAGE + position % PAGE];
    }

    /** FP64 reference: out [b, s_q, h_q, dv] and lse [b, h_q, s_q] over the given key positions. */
    double[][] reference(float scale, boolean causal) {
        double[] out = new double[b * sQ * hQ * DV];
        double[] lse = new double[b * hQ * sQ];
        for (int i = 0; i < b; i++) {
            for (int s = 0; s < sQ; s++) {
                int limit = causal ? seqlens[i] - sQ + s + 1 : seqlens[i];
                int[] positions = new int[Math.max(0, Math.min(limit, seqlens[i]))];
                for (int t = 0; t < positions.length; t++) {
                    positions[t] = t;
                }
                attendReference(i, s, positions, null, scale, out, lse);
            }
        }
        return new double[][] {out, lse};
    }

    /** One query (seq, s) against the given keys (positions in the sequence, or global slots when {@code slots}). */
    void attendReference(int seq, int s, int[] positions, int[] slots, float scale, double[] out, double[] lse) {
        int n = positions == null ? slots.length : positions.length;
        float[][] keys = new float[n][];
        for (int t = 0; t < n; t++) {
            keys[t] = positions != null ? token(seq, positions[t]) : tokens[slots[t]];
        }
        double[] qv = new double[D];
        for (int h = 0; h < hQ; h++) {
            long base = (((long) seq * sQ + s) * hQ + h) * D;
            for (int c = 0; c < D; c++) {
                qv[c] = Bf16.decode(q.segment().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, base + c));
            }
            double[] score = new double[n];
            double max = Double.NEGATIVE_INFINITY;
            for (int t = 0; t < n; t++) {
                double dot = 0;
                for (int c = 0; c < D; c++) {
                    dot += qv[c] * keys[t][c];
                }
                score[t] = dot * scale;
                max = Math.max(max, score[t]);
            }
            double sum = 0;
            double[] acc = new double[DV];
            for (int t = 0; t < n; t++) {
                double p = Math.exp(score[t] - max);
                sum += p;
                for (int c = 0; c < DV; c++) {
                    acc[c] += p * keys[t][c];
                }
            }
            int row = ((seq * sQ + s) * hQ + h) * DV;
            for (int c = 0; c < DV; c++) {
                out[row + c] = n == 0 ? 0 : acc[c] / sum;
            }
            lse[(seq * hQ + h) * sQ + s] = n == 0 ? Double.POSITIVE_INFINITY : max + Math.log(sum);
        }
    }

    /** FlashMLA's acceptance: elementwise abs 8e-4 or rel 2.01/128 and cos_diff ≤ 5e-6 for out; LSE abs 1e-6 or rel 8.01/65536. */
    static void assertClose(Attention actual, double[][] expected, String label) {
        double[] ref = expected[0];
        double dot = 0;
        double norms = 0;
        for (int i = 0; i < ref.length; i++) {
            double x = Bf16.decode(actual.out().segment().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
            double y = ref[i];
            assertThat(Math.abs(x - y) <= 8e-4 || Math.abs(x - y) <= 2.01 / 128 * Math.abs(y))
                    .as("%s out[%d]: %s vs reference %s", label, i, x, y).isTrue();
            dot += x * y;
            norms += x * x + y * y;
        }
        double cosDiff = norms == 0 ? 0 : 1 - 2 * dot / norms;
        assertThat(cosDiff).as("%s out cos_diff", label).isLessThanOrEqualTo(5e-6);
        double[] refLse = expected[1];
        for (int i = 0; i < refLse.length; i++) {
            double x = actual.lse().segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            double y = refLse[i];
            if (Double.isInfinite(y)) {
                assertThat(x).as("%s lse[%d] of a row with no key", label, i).isEqualTo(Double.POSITIVE_INFINITY);
                continue;
            }
            assertThat(Math.abs(x - y) <= 1e-6 || Math.abs(x - y) <= 8.01 / 65536 * Math.abs(y))
                    .as("%s lse[%d]: %s vs reference %s", label, i, x, y).isTrue();
        }
    }
}
