package dev.flyer.bench.internal;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.numeric.Bf16;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two peers of {@code flyer bench mla}, computing the same decode attention as FlashMLA.
 *
 * <p><b>Straightforward Java</b>: per sequence, gather its blocks from the BF16 cache into one FP32
 * array, then per query row a scalar dot product with every key, a scalar softmax and a scalar
 * weighted sum of values. <b>OpenBLAS composed</b>: per sequence, on FP32 copies of its keys
 * {@code [len, d]} and values {@code [len, dv]} made beforehand (not charged), {@code S = Q·Kᵀ}
 * with {@code cblas_sgemm}, a vectorised row softmax on the compute pool, then
 * {@code O = P·V} with {@code cblas_sgemm}: the "many small GEMMs" way.
 */
public final class MlaPeers {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private MlaPeers() {}

    /** Straightforward Java over sequences {@code [0, count)}; returns a checksum. */
    public static float naive(MemorySegment cache, int[] blockTable, int maxBlocks, int[] seqlens, int count,
                              float[] q, int rows, int d, int dv, float scale) {
        float check = 0;
        for (int i = 0; i < count; i++) {
            int len = seqlens[i];
            float[] keys = new float[len * d];
            for (int t = 0; t < len; t++) {
                long slot = (long) blockTable[i * maxBlocks + t / 64] * 64 + t % 64;
                for (int c = 0; c < d; c++) {
                    keys[t * d + c] = Bf16.decode(cache.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, slot * d + c));
                }
            }
            float[] p = new float[len];
            float[] out = new float[dv];
            for (int r = 0; r < rows; r++) {
                int qo = (i * rows + r) * d;
                float max = Float.NEGATIVE_INFINITY;
                for (int t = 0; t < len; t++) {
                    float s = 0;
                    for (int c = 0; c < d; c++) {
                        s += q[qo + c] * keys[t * d + c];
                    }
                    p[t] = s * scale;
                    max = Math.max(max, p[t]);
                }
                float sum = 0;
                for (int t = 0; t < len; t++) {
                    p[t] = (float) Math.exp(p[t] - max);
                    sum += p[t];
                }
                java.util.Arrays.fill(out, 0f);
                for (int t = 0; t < len; t++) {
                    for (int c = 0; c < dv; c++) {
                        out[c] += p[t] * keys[t * d + c];
                    }
                }
                check += out[0] / sum;
            }
        }
        return check;
    }

    /** FP32 copies for the OpenBLAS peer: per sequence keys {@code [len, d]} and values {@code [len, dv]}. */
    public record Fp32Copies(MemorySegment[] keys, MemorySegment[] values, MemorySegment q, MemorySegment scores,
                             MemorySegment out) {}

    public static Fp32Copies copies(Arena arena, MemorySegment cache, int[] blockTable, int maxBlocks, int[] seqlens,
                                    float[] q, int rows, int d, int dv) {
        int b = seqlens.length;
        MemorySegment[] keys = new MemorySegment[b];
        MemorySegment[] values = new MemorySegment[b];
        int maxLen = 1;
        for (int i = 0; i < b; i++) {
            int len = seqlens[i];
            maxLen = Math.max(maxLen, len);
            keys[i] = arena.allocate(Math.max(4L, 4L * len * d), 64);
            values[i] = arena.allocate(Math.max(4L, 4L * len * dv), 64);
            for (int t = 0; t < len; t++) {
                long slot = (long) blockTable[i * maxBlocks + t / 64] * 64 + t % 64;
                Bf16.decode(cache, 2 * slot * d, keys[i], 4L * t * d, d);
                Bf16.decode(cache, 2 * slot * d, values[i], 4L * t * dv, dv);
            }
        }
        MemorySegment qs = arena.allocate(4L * q.length, 64);
        MemorySegment.copy(q, 0, qs, ValueLayout.JAVA_FLOAT, 0, q.length);
        return new Fp32Copies(keys, values, qs, arena.allocate(4L * rows * maxLen, 64), arena.allocate(4L * rows * dv, 64));
    }

    /** The OpenBLAS-composed decode over every sequence. */
    public static void openBlas(OpenBlas blas, Fp32Copies c, int[] seqlens, int rows, int d, int dv, float scale) {
        for (int i = 0; i < seqlens.length; i++) {
            int len = seqlens[i];
            if (len == 0) {
                continue;
            }
            MemorySegment q = c.q().asSlice(4L * i * rows * d, 4L * rows * d);
            blas.sgemm(rows, len, d, q, c.keys()[i], true, c.scores());
            softmax(c.scores(), rows, len, scale);
            blas.sgemm(rows, dv, len, c.scores(), c.values()[i], false, c.out());
        }
    }

    private static void softmax(MemorySegment s, int rows, int len, float scale) {
        ComputePool.shared().parallelFor(rows, (r, _) -> {
            long base = 4L * r * len;
            int bound = len - len % F.length();
            float max = Float.NEGATIVE_INFINITY;
            for (int t = 0; t < len; t++) {
                max = Math.max(max, s.get(ValueLayout.JAVA_FLOAT, base + 4L * t));
            }
            float shift = max * scale;
            FloatVector sum = FloatVector.zero(F);
            int t = 0;
            for (; t < bound; t += F.length()) {
                FloatVector e = FloatVector.fromMemorySegment(F, s, base + 4L * t, java.nio.ByteOrder.LITTLE_ENDIAN)
                        .mul(scale).sub(shift).lanewise(VectorOperators.EXP);
                e.intoMemorySegment(s, base + 4L * t, java.nio.ByteOrder.LITTLE_ENDIAN);
                sum = sum.add(e);
            }
            float total = sum.reduceLanes(VectorOperators.ADD);
            for (; t < len; t++) {
                float e = (float) Math.exp(s.get(ValueLayout.JAVA_FLOAT, base + 4L * t) * scale - shift);
                s.set(ValueLayout.JAVA_FLOAT, base + 4L * t, e);
                total += e;
            }
            float inv = 1f / total;
            for (t = 0; t < bound; t += F.length()) {
                FloatVector.fromMemorySegment(F, s, base + 4L * t, java.nio.ByteOrder.LITTLE_ENDIAN).mul(inv)
                        .intoMemorySegment(s, base + 4L * t, java.nio.ByteOrder.LITTLE_ENDIAN);
            }
            for (; t < len; t++) {
                s.set(ValueLayout.JAVA_FLOAT, base + 4L * t, s.get(ValueLayout.JAVA_FLOAT, base + 4L * t) * inv);
            }
        });
    }
}
