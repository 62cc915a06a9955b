package dev.flyer.mla.internal;

import static dev.flyer.mla.internal.Workspace.BLOCK;
import static dev.flyer.mla.internal.Workspace.F;
import static dev.flyer.mla.internal.Workspace.L;

import dev.flyer.core.numeric.VectorOps;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

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
 * can write them (~13 GB/s here), reading BF16 in place does not. It decodes without shuffles:
 * one int-vector load holds {@code 2L} BF16 values, {@code bits << 16} are the even channels and
 * {@code bits & 0xffff0000} the odd ones, so queries and outputs are kept in that "pair layout"
 * (per group of {@code 2L} channels, evens then odds; {@link #pairIndex}) and un-permuted once per
 * finished row. One core: 15 -> 19 GB/s from DRAM against widening shorts to ints. (Touching the
 * next page's lines during the PV pass as a software prefetch was measured and made it slower.)
 */
final class NarrowKernel {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

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

    /**
     * Whether {@link #blockBf16} applies: key width a multiple of a vector's BF16 pairs ({@code 2L}),
     * value width a multiple of two of them ({@code 4L}).
     */
    static boolean fusedBf16(int d, int dv) {
        return d % (2 * L) == 0 && dv % (4 * L) == 0 && F.equals(FloatVector.SPECIES_PREFERRED);
    }

    /**
     * Index in the pair layout of channel {@code c}: within each group of {@code 2L} channels the even
     * ones come first, then the odd ones (what one int-vector load of {@code 2L} BF16 values yields as
     * {@code bits << 16} and {@code bits & 0xffff0000}).
     */
    static int pairIndex(int c) {
        int group = c & -(2 * L);
        int k = c - group;
        return group + (k & 1) * L + (k >> 1);
    }

    /**
     * As {@link #block}, reading {@code n} BF16 tokens of {@code d} channels straight from
     * {@code cache} (token {@code j} at {@code offsetBytes + 2·d·j}); V is each token's first dv
     * channels. Queries ({@code qn}) and outputs ({@code ot}) are in the pair layout.
     */
    static void blockBf16(Workspace w, MemorySegment cache, long offsetBytes, int n, int blockPos) {
        int d = w.d;
        long tokenBytes = 2L * d;
        int r = 0;
        for (; r + 2 <= w.rows; r += 2) {
            int visible = Math.max(visible(w, r, n, blockPos), visible(w, r + 1, n, blockPos));
            for (int j = 0; j < visible; j++) {
                dot2Pairs(w.qn, r * d, cache, offsetBytes + j * tokenBytes, d, w.st, r * BLOCK + j);
            }
            maskTail(w, r, visible(w, r, n, blockPos));
            maskTail(w, r + 1, visible(w, r + 1, n, blockPos));
            float alpha0 = softmaxRow(w, r);
            float alpha1 = softmaxRow(w, r + 1);
            accumulate2Pairs(w, r, alpha0, alpha1, n, cache, offsetBytes, tokenBytes);
        }
        for (; r < w.rows; r++) {
            int visible = visible(w, r, n, blockPos);
            for (int j = 0; j < visible; j++) {
                w.st[r * BLOCK + j] = dotPairs(w.qn, r * d, cache, offsetBytes + j * tokenBytes, d);
            }
            maskTail(w, r, visible);
            accumulatePairs(w, r, softmaxRow(w, r), n, cache, offsetBytes, tokenBytes);
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

    /** {@code 2L} BF16 values at {@code offsetBytes}, as L ints (pairs). */
    private static IntVector pairs(MemorySegment src, long offsetBytes) {
        return IntVector.fromMemorySegment(I, src, offsetBytes, ByteOrder.LITTLE_ENDIAN);
    }

    private static FloatVector even(IntVector pairs) {
        return pairs.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector odd(IntVector pairs) {
        return pairs.and(0xffff0000).reinterpretAsFloats();
    }

    /** One row's score against one token; {@code q} in the pair layout. */
    private static float dotPairs(float[] q, int qOff, MemorySegment k, long kOff, int d) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector s2 = FloatVector.zero(F);
        FloatVector s3 = FloatVector.zero(F);
        int i = 0;
        for (; i + 4 * L <= d; i += 4 * L) {
            IntVector w0 = pairs(k, kOff + 2L * i);
            IntVector w1 = pairs(k, kOff + 2L * (i + 2 * L));
            s0 = FloatVector.fromArray(F, q, qOff + i).fma(even(w0), s0);
            s1 = FloatVector.fromArray(F, q, qOff + i + L).fma(odd(w0), s1);
            s2 = FloatVector.fromArray(F, q, qOff + i + 2 * L).fma(even(w1), s2);
            s3 = FloatVector.fromArray(F, q, qOff + i + 3 * L).fma(odd(w1), s3);
        }
        for (; i < d; i += 2 * L) {
            IntVector w0 = pairs(k, kOff + 2L * i);
            s0 = FloatVector.fromArray(F, q, qOff + i).fma(even(w0), s0);
            s1 = FloatVector.fromArray(F, q, qOff + i + L).fma(odd(w0), s1);
        }
        return s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    }

    /** Scores of one token for rows {@code r} and {@code r+1} ({@code q} rows d apart), each load decoded once. */
    private static void dot2Pairs(float[] q, int qOff, MemorySegment k, long kOff, int d, float[] st, int at) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F);
        FloatVector b1 = FloatVector.zero(F);
        for (int i = 0; i < d; i += 2 * L) {
            IntVector w0 = pairs(k, kOff + 2L * i);
            FloatVector e = even(w0);
            FloatVector o = odd(w0);
            a0 = FloatVector.fromArray(F, q, qOff + i).fma(e, a0);
            a1 = FloatVector.fromArray(F, q, qOff + i + L).fma(o, a1);
            b0 = FloatVector.fromArray(F, q, qOff + d + i).fma(e, b0);
            b1 = FloatVector.fromArray(F, q, qOff + d + i + L).fma(o, b1);
        }
        st[at] = a0.add(a1).reduceLanes(VectorOperators.ADD);
        st[at + BLOCK] = b0.add(b1).reduceLanes(VectorOperators.ADD);
    }

    /** PV for one row into {@code ot} in the pair layout, {@code 4L} channels per pass. */
    private static void accumulatePairs(Workspace w, int r, float alpha, int n, MemorySegment cache, long offsetBytes,
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
                IntVector w0 = pairs(cache, at);
                IntVector w1 = pairs(cache, at + 4L * L);
                a0 = even(w0).fma(pj, a0);
                a1 = odd(w0).fma(pj, a1);
                a2 = even(w1).fma(pj, a2);
                a3 = odd(w1).fma(pj, a3);
            }
            a0.intoArray(ot, o + c);
            a1.intoArray(ot, o + c + L);
            a2.intoArray(ot, o + c + 2 * L);
            a3.intoArray(ot, o + c + 3 * L);
        }
    }

    /** PV for rows {@code r} and {@code r+1}, {@code 2L} channels per pass, each load decoded once. */
    private static void accumulate2Pairs(Workspace w, int r, float alpha0, float alpha1, int n, MemorySegment cache,
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
                IntVector w0 = pairs(cache, at);
                FloatVector e = even(w0);
                FloatVector od = odd(w0);
                FloatVector pa = FloatVector.broadcast(F, w.st[p + j]);
                FloatVector pb = FloatVector.broadcast(F, w.st[p + BLOCK + j]);
                a0 = e.fma(pa, a0);
                a1 = od.fma(pa, a1);
                b0 = e.fma(pb, b0);
                b1 = od.fma(pb, b1);
            }
            a0.intoArray(ot, o + c);
            a1.intoArray(ot, o + c + L);
            b0.intoArray(ot, o1 + c);
            b1.intoArray(ot, o1 + c + L);
        }
    }
}
