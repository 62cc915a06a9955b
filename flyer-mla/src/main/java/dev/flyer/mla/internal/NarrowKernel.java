package dev.flyer.mla.internal;

import static dev.flyer.mla.internal.Workspace.BLOCK;
import static dev.flyer.mla.internal.Workspace.F;
import static dev.flyer.mla.internal.Workspace.L;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.numeric.VectorOps;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The few-row tile (1-4 query rows: decode with {@code s_q·h_q <= 4}), where attention is
 * memory-bound: vectors run along the head dimension, so each key row streams through once per
 * query row from L1 and every lane does useful work.
 *
 * <p>Implementation notes: scores {@code st[r][j]} (row-major, 64 per row) by 4-accumulator dot
 * products; positions {@code j >= n} or past the row's limit are -inf, so the softmax runs over
 * whole vectors of 64 scores; PV accumulates {@code ot[r][c]} four vectors of channels at a time.
 * {@link #blockBf16} reads a BF16 page straight from the cache instead (decoding in registers, a
 * second pass over the page for PV hits L2): materialising FP32 keys caps a core at the speed it
 * can write them (~13 GB/s here), reading BF16 in place does not. (Touching the next page's
 * lines during the PV pass as a software prefetch was measured and made it slower.)
 */
final class NarrowKernel {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    private NarrowKernel() {}

    static void block(Workspace w, int n, int blockPos, float[] v, int vStride) {
        int d = w.d;
        for (int r = 0; r < w.rows; r++) {
            int base = r * BLOCK;
            int visible = Math.min(n, Math.max(0, w.rowLimit[r] - blockPos));
            for (int j = 0; j < visible; j++) {
                w.st[base + j] = VectorOps.dot(w.qn, r * d, w.kb, j * d, d);
            }
            for (int j = visible; j < BLOCK; j++) {
                w.st[base + j] = NEG_INF;
            }
            float alpha = softmaxRow(w, r);
            accumulate(w, r, alpha, n, v, vStride);
        }
    }

    /** Updates row {@code r}'s max and sum over its 64 scores, turns them into probabilities; returns alpha. */
    private static float softmaxRow(Workspace w, int r) {
        int base = r * BLOCK;
        FloatVector max = FloatVector.broadcast(F, NEG_INF);
        for (int j = 0; j < BLOCK; j += L) {
            max = max.max(FloatVector.fromArray(F, w.st, base + j));
        }
        float old = w.m[r];
        float now = Math.max(old, max.reduceLanes(VectorOperators.MAX));
        float shift = now == NEG_INF ? 0f : now;
        float alpha = (float) Math.exp(old - shift);
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0; j < BLOCK; j += L) {
            FloatVector p = FloatVector.fromArray(F, w.st, base + j).sub(shift).lanewise(VectorOperators.EXP);
            p.intoArray(w.st, base + j);
            sum = sum.add(p);
        }
        w.m[r] = now;
        w.l[r] = w.l[r] * alpha + sum.reduceLanes(VectorOperators.ADD);
        return alpha;
    }

    private static void accumulate(Workspace w, int r, float alpha, int n, float[] v, int vStride) {
        int dv = w.dv;
        int o = r * dv;
        int p = r * BLOCK;
        float[] ot = w.ot;
        int c = 0;
        for (; c + 4 * L <= dv; c += 4 * L) {
            FloatVector a0 = FloatVector.fromArray(F, ot, o + c).mul(alpha);
            FloatVector a1 = FloatVector.fromArray(F, ot, o + c + L).mul(alpha);
            FloatVector a2 = FloatVector.fromArray(F, ot, o + c + 2 * L).mul(alpha);
            FloatVector a3 = FloatVector.fromArray(F, ot, o + c + 3 * L).mul(alpha);
            for (int j = 0, b = c; j < n; j++, b += vStride) {
                FloatVector pj = FloatVector.broadcast(F, w.st[p + j]);
                a0 = FloatVector.fromArray(F, v, b).fma(pj, a0);
                a1 = FloatVector.fromArray(F, v, b + L).fma(pj, a1);
                a2 = FloatVector.fromArray(F, v, b + 2 * L).fma(pj, a2);
                a3 = FloatVector.fromArray(F, v, b + 3 * L).fma(pj, a3);
            }
            a0.intoArray(ot, o + c);
            a1.intoArray(ot, o + c + L);
            a2.intoArray(ot, o + c + 2 * L);
            a3.intoArray(ot, o + c + 3 * L);
        }
        for (; c < dv; c++) {
            float a = ot[o + c] * alpha;
            for (int j = 0; j < n; j++) {
                a += w.st[p + j] * v[j * vStride + c];
            }
            ot[o + c] = a;
        }
    }

    /** Whether {@link #blockBf16} applies: key and value widths multiples of the vector length. */
    static boolean fusedBf16(int d, int dv) {
        return d % L == 0 && dv % (4 * L) == 0 && F.equals(FloatVector.SPECIES_PREFERRED);
    }

    /**
     * As {@link #block}, reading {@code n} BF16 tokens of {@code d} channels straight from
     * {@code cache} (token {@code j} at {@code offsetBytes + 2·d·j}); V is each token's first dv channels.
     */
    static void blockBf16(Workspace w, MemorySegment cache, long offsetBytes, int n, int blockPos) {
        int d = w.d;
        long tokenBytes = 2L * d;
        int r = 0;
        for (; r + 2 <= w.rows; r += 2) {
            int visible = Math.max(visible(w, r, n, blockPos), visible(w, r + 1, n, blockPos));
            for (int j = 0; j < visible; j++) {
                dot2Bf16(w.qn, r * d, cache, offsetBytes + j * tokenBytes, d, w.st, r * BLOCK + j);
            }
            maskTail(w, r, visible(w, r, n, blockPos));
            maskTail(w, r + 1, visible(w, r + 1, n, blockPos));
            float alpha0 = softmaxRow(w, r);
            float alpha1 = softmaxRow(w, r + 1);
            accumulate2Bf16(w, r, alpha0, alpha1, n, cache, offsetBytes, tokenBytes);
        }
        for (; r < w.rows; r++) {
            int visible = visible(w, r, n, blockPos);
            for (int j = 0; j < visible; j++) {
                w.st[r * BLOCK + j] = dotBf16(w.qn, r * d, cache, offsetBytes + j * tokenBytes, d);
            }
            maskTail(w, r, visible);
            accumulateBf16(w, r, softmaxRow(w, r), n, cache, offsetBytes, tokenBytes);
        }
    }

    private static int visible(Workspace w, int r, int n, int blockPos) {
        return Math.min(n, Math.max(0, w.rowLimit[r] - blockPos));
    }

    private static void maskTail(Workspace w, int r, int visible) {
        for (int j = visible; j < BLOCK; j++) {
            w.st[r * BLOCK + j] = NEG_INF;
        }
    }

    /** Scores of one token for rows {@code r} and {@code r+1} ({@code q} rows d apart), each key vector decoded once. */
    private static void dot2Bf16(float[] q, int qOff, MemorySegment k, long kOff, int d, float[] st, int at) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F);
        FloatVector b1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= d; i += 2 * L) {
            FloatVector k0 = bf16(k, kOff + 2L * i);
            FloatVector k1 = bf16(k, kOff + 2L * (i + L));
            a0 = FloatVector.fromArray(F, q, qOff + i).fma(k0, a0);
            a1 = FloatVector.fromArray(F, q, qOff + i + L).fma(k1, a1);
            b0 = FloatVector.fromArray(F, q, qOff + d + i).fma(k0, b0);
            b1 = FloatVector.fromArray(F, q, qOff + d + i + L).fma(k1, b1);
        }
        for (; i < d; i += L) {
            FloatVector k0 = bf16(k, kOff + 2L * i);
            a0 = FloatVector.fromArray(F, q, qOff + i).fma(k0, a0);
            b0 = FloatVector.fromArray(F, q, qOff + d + i).fma(k0, b0);
        }
        st[at] = a0.add(a1).reduceLanes(VectorOperators.ADD);
        st[at + BLOCK] = b0.add(b1).reduceLanes(VectorOperators.ADD);
    }

    private static void accumulate2Bf16(Workspace w, int r, float alpha0, float alpha1, int n, MemorySegment cache,
                                        long offsetBytes, long tokenBytes) {
        int o = r * w.dv;
        int o1 = o + w.dv;
        int p = r * BLOCK;
        float[] ot = w.ot;
        for (int c = 0; c < w.dv; c += 2 * L) {
            FloatVector a0 = FloatVector.fromArray(F, ot, o + c).mul(alpha0);
            FloatVector a1 = FloatVector.fromArray(F, ot, o + c + L).mul(alpha0);
            FloatVector b0 = FloatVector.fromArray(F, ot, o1 + c).mul(alpha1);
            FloatVector b1 = FloatVector.fromArray(F, ot, o1 + c + L).mul(alpha1);
            long at = offsetBytes + 2L * c;
            for (int j = 0; j < n; j++, at += tokenBytes) {
                FloatVector v0 = bf16(cache, at);
                FloatVector v1 = bf16(cache, at + 2L * L);
                FloatVector pa = FloatVector.broadcast(F, w.st[p + j]);
                FloatVector pb = FloatVector.broadcast(F, w.st[p + BLOCK + j]);
                a0 = v0.fma(pa, a0);
                a1 = v1.fma(pa, a1);
                b0 = v0.fma(pb, b0);
                b1 = v1.fma(pb, b1);
            }
            a0.intoArray(ot, o + c);
            a1.intoArray(ot, o + c + L);
            b0.intoArray(ot, o1 + c);
            b1.intoArray(ot, o1 + c + L);
        }
    }

    private static FloatVector bf16(MemorySegment src, long offsetBytes) {
        return Bf16.load(src, offsetBytes);
    }

    private static float dotBf16(float[] q, int qOff, MemorySegment k, long kOff, int d) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector s2 = FloatVector.zero(F);
        FloatVector s3 = FloatVector.zero(F);
        int i = 0;
        for (; i + 4 * L <= d; i += 4 * L) {
            s0 = FloatVector.fromArray(F, q, qOff + i).fma(bf16(k, kOff + 2L * i), s0);
            s1 = FloatVector.fromArray(F, q, qOff + i + L).fma(bf16(k, kOff + 2L * (i + L)), s1);
            s2 = FloatVector.fromArray(F, q, qOff + i + 2 * L).fma(bf16(k, kOff + 2L * (i + 2 * L)), s2);
            s3 = FloatVector.fromArray(F, q, qOff + i + 3 * L).fma(bf16(k, kOff + 2L * (i + 3 * L)), s3);
        }
        for (; i < d; i += L) {
            s0 = FloatVector.fromArray(F, q, qOff + i).fma(bf16(k, kOff + 2L * i), s0);
        }
        return s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    }

    private static void accumulateBf16(Workspace w, int r, float alpha, int n, MemorySegment cache, long offsetBytes,
                                       long tokenBytes) {
        int o = r * w.dv;
        int p = r * BLOCK;
        float[] ot = w.ot;
        for (int c = 0; c < w.dv; c += 4 * L) {
            FloatVector a0 = FloatVector.fromArray(F, ot, o + c).mul(alpha);
            FloatVector a1 = FloatVector.fromArray(F, ot, o + c + L).mul(alpha);
            FloatVector a2 = FloatVector.fromArray(F, ot, o + c + 2 * L).mul(alpha);
            FloatVector a3 = FloatVector.fromArray(F, ot, o + c + 3 * L).mul(alpha);
            long at = offsetBytes + 2L * c;
            for (int j = 0; j < n; j++, at += tokenBytes) {
                FloatVector pj = FloatVector.broadcast(F, w.st[p + j]);
                a0 = bf16(cache, at).fma(pj, a0);
                a1 = bf16(cache, at + 2L * L).fma(pj, a1);
                a2 = bf16(cache, at + 4L * L).fma(pj, a2);
                a3 = bf16(cache, at + 6L * L).fma(pj, a3);
            }
            a0.intoArray(ot, o + c);
            a1.intoArray(ot, o + c + L);
            a2.intoArray(ot, o + c + 2 * L);
            a3.intoArray(ot, o + c + 3 * L);
        }
    }
}
