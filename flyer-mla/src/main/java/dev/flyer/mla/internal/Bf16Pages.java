package dev.flyer.mla.internal;

import static dev.flyer.mla.internal.Workspace.BLOCK;
import static dev.flyer.mla.internal.Workspace.F;
import static dev.flyer.mla.internal.Workspace.L;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The narrow tile (1-4 query rows) attending straight from BF16 cache pages, one page or two at a
 * time: the memory-bound decode of {@code s_q·h_q <= 4}.
 *
 * <p>Implementation notes. <b>No FP32 copy</b>: materialising FP32 keys caps a core at the speed it
 * can write them (~13 GB/s here); the page is decoded in registers, and the second pass over it
 * (PV) hits L2. <b>Pair layout</b>: one int-vector load holds {@code 2L} BF16 values; {@code bits << 16}
 * are the even channels and {@code bits & 0xffff0000} the odd ones, with no widening shuffle. So
 * queries ({@code qn}) and outputs ({@code ot}) are kept, per group of {@code 2L} channels, evens
 * then odds ({@link #pairIndex}), and finished rows are un-permuted once (one core: 15 -> 19 GB/s
 * from DRAM against widening shorts to ints). <b>Two pages at once</b>: token {@code j} of both
 * pages is scored in the same step, so a core has two independent DRAM streams in flight instead of
 * one (a core's demand stream, not the memory, is the limit: one core 17 -> 23 GB/s from DRAM); the
 * softmax then runs over 128 scores per row ({@code st[r][0..64)} page A, {@code [64..128)} page B)
 * and PV walks page A then page B. Positions past {@code n} or a row's limit score -inf before the
 * softmax, so their probability is 0 and tokens past {@code n} are never read. (Touching the next
 * page's lines during PV as a software prefetch, and accumulating PV per token in memory, were
 * both measured and were slower.)
 */
final class Bf16Pages {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Bf16Pages() {}

    /** Whether pages of key width {@code d} and value width {@code dv} fit the pair layout. */
    static boolean fits(int d, int dv) {
        return d % (2 * L) == 0 && dv % (4 * L) == 0 && F.equals(FloatVector.SPECIES_PREFERRED);
    }

    /** Index in the pair layout of channel {@code c}. */
    static int pairIndex(int c) {
        int group = c & -(2 * L);
        int k = c - group;
        return group + (k & 1) * L + (k >> 1);
    }

    /**
     * Attends every row to page A ({@code nA} tokens at {@code offA}, positions from {@code blockPos})
     * and, when {@code nB > 0}, page B ({@code nB} tokens at {@code offB}, positions from
     * {@code blockPos + 64}; then {@code nA} must be 64). Token {@code j} is at {@code off + 2·d·j}.
     */
    static void attend(Workspace w, MemorySegment cache, long offA, int nA, long offB, int nB, int blockPos) {
        int d = w.d;
        long tb = 2L * d;
        int stride = nB > 0 ? 2 * BLOCK : BLOCK;
        int posB = blockPos + BLOCK;
        int r = 0;
        for (; r + 2 <= w.rows; r += 2) {
            int visA = Math.max(visible(w, r, nA, blockPos), visible(w, r + 1, nA, blockPos));
            int visB = Math.max(visible(w, r, nB, posB), visible(w, r + 1, nB, posB));
            int both = Math.min(visA, visB);
            int s = r * stride;
            for (int j = 0; j < both; j++) {
                dot2x2(w.qn, r * d, cache, offA + j * tb, offB + j * tb, d, w.st, s + j, stride);
            }
            for (int j = both; j < visA; j++) {
                dot2x1(w.qn, r * d, cache, offA + j * tb, d, w.st, s + j, stride);
            }
            for (int j = both; j < visB; j++) {
                dot2x1(w.qn, r * d, cache, offB + j * tb, d, w.st, s + BLOCK + j, stride);
            }
            mask(w, r, stride, nA, nB, blockPos);
            mask(w, r + 1, stride, nA, nB, blockPos);
            float alpha0 = NarrowKernel.softmax(w, r, s, stride);
            float alpha1 = NarrowKernel.softmax(w, r + 1, s + stride, stride);
            pv2(w, r, alpha0, alpha1, nA, cache, offA, tb, s, s + stride);
            if (nB > 0) {
                pv2(w, r, 1f, 1f, nB, cache, offB, tb, s + BLOCK, s + stride + BLOCK);
            }
        }
        for (; r < w.rows; r++) {
            int visA = visible(w, r, nA, blockPos);
            int visB = visible(w, r, nB, posB);
            int both = Math.min(visA, visB);
            int s = r * stride;
            for (int j = 0; j < both; j++) {
                dot1x2(w.qn, r * d, cache, offA + j * tb, offB + j * tb, d, w.st, s + j);
            }
            for (int j = both; j < visA; j++) {
                w.st[s + j] = dot1x1(w.qn, r * d, cache, offA + j * tb, d);
            }
            for (int j = both; j < visB; j++) {
                w.st[s + BLOCK + j] = dot1x1(w.qn, r * d, cache, offB + j * tb, d);
            }
            mask(w, r, stride, nA, nB, blockPos);
            pv1(w, r, NarrowKernel.softmax(w, r, s, stride), nA, cache, offA, tb, s);
            if (nB > 0) {
                pv1(w, r, 1f, nB, cache, offB, tb, s + BLOCK);
            }
        }
    }

    private static int visible(Workspace w, int r, int n, int blockPos) {
        return Math.min(n, Math.max(0, w.rowLimit[r] - blockPos));
    }

    /** -inf for row {@code r}'s positions past its limit or past a page's tokens. */
    private static void mask(Workspace w, int r, int stride, int nA, int nB, int blockPos) {
        int s = r * stride;
        for (int j = visible(w, r, nA, blockPos); j < BLOCK; j++) {
            w.st[s + j] = NEG_INF;
        }
        if (stride > BLOCK) {
            for (int j = visible(w, r, nB, blockPos + BLOCK); j < BLOCK; j++) {
                w.st[s + BLOCK + j] = NEG_INF;
            }
        }
    }

    /** One row against one token. */
    private static float dot1x1(float[] q, int qOff, MemorySegment k, long kOff, int d) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector s2 = FloatVector.zero(F);
        FloatVector s3 = FloatVector.zero(F);
        int i = 0;
        for (; i + 4 * L <= d; i += 4 * L) {
            IntVector w0 = IntVector.fromMemorySegment(I, k, kOff + 2L * i, LE);
            IntVector w1 = IntVector.fromMemorySegment(I, k, kOff + 2L * (i + 2 * L), LE);
            s0 = FloatVector.fromArray(F, q, qOff + i).fma(w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s0);
            s1 = FloatVector.fromArray(F, q, qOff + i + L).fma(w0.and(0xffff0000).reinterpretAsFloats(), s1);
            s2 = FloatVector.fromArray(F, q, qOff + i + 2 * L).fma(w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s2);
            s3 = FloatVector.fromArray(F, q, qOff + i + 3 * L).fma(w1.and(0xffff0000).reinterpretAsFloats(), s3);
        }
        for (; i < d; i += 2 * L) {
            IntVector w0 = IntVector.fromMemorySegment(I, k, kOff + 2L * i, LE);
            s0 = FloatVector.fromArray(F, q, qOff + i).fma(w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s0);
            s1 = FloatVector.fromArray(F, q, qOff + i + L).fma(w0.and(0xffff0000).reinterpretAsFloats(), s1);
        }
        return s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    }

    /** One row against token {@code j} of both pages: scores to {@code st[at]} and {@code st[at + 64]}. */
    private static void dot1x2(float[] q, int qOff, MemorySegment k, long kA, long kB, int d, float[] st, int at) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F);
        FloatVector b1 = FloatVector.zero(F);
        for (int i = 0; i < d; i += 2 * L) {
            FloatVector x0 = FloatVector.fromArray(F, q, qOff + i);
            FloatVector x1 = FloatVector.fromArray(F, q, qOff + i + L);
            IntVector wa = IntVector.fromMemorySegment(I, k, kA + 2L * i, LE);
            IntVector wb = IntVector.fromMemorySegment(I, k, kB + 2L * i, LE);
            a0 = x0.fma(wa.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a0);
            a1 = x1.fma(wa.and(0xffff0000).reinterpretAsFloats(), a1);
            b0 = x0.fma(wb.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), b0);
            b1 = x1.fma(wb.and(0xffff0000).reinterpretAsFloats(), b1);
        }
        st[at] = a0.add(a1).reduceLanes(VectorOperators.ADD);
        st[at + BLOCK] = b0.add(b1).reduceLanes(VectorOperators.ADD);
    }

    /** Rows {@code r} and {@code r+1} ({@code q} rows d apart) against one token; row r+1's score {@code stride} on. */
    private static void dot2x1(float[] q, int qOff, MemorySegment k, long kOff, int d, float[] st, int at, int stride) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F);
        FloatVector b1 = FloatVector.zero(F);
        for (int i = 0; i < d; i += 2 * L) {
            IntVector w0 = IntVector.fromMemorySegment(I, k, kOff + 2L * i, LE);
            FloatVector e = w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector o = w0.and(0xffff0000).reinterpretAsFloats();
            a0 = FloatVector.fromArray(F, q, qOff + i).fma(e, a0);
            a1 = FloatVector.fromArray(F, q, qOff + i + L).fma(o, a1);
            b0 = FloatVector.fromArray(F, q, qOff + d + i).fma(e, b0);
            b1 = FloatVector.fromArray(F, q, qOff + d + i + L).fma(o, b1);
        }
        st[at] = a0.add(a1).reduceLanes(VectorOperators.ADD);
        st[at + stride] = b0.add(b1).reduceLanes(VectorOperators.ADD);
    }

    /** Rows {@code r}, {@code r+1} against token {@code j} of both pages (four scores). */
    private static void dot2x2(float[] q, int qOff, MemorySegment k, long kA, long kB, int d, float[] st, int at,
                               int stride) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F);
        FloatVector b1 = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        FloatVector e0 = FloatVector.zero(F);
        FloatVector e1 = FloatVector.zero(F);
        for (int i = 0; i < d; i += 2 * L) {
            IntVector wa = IntVector.fromMemorySegment(I, k, kA + 2L * i, LE);
            IntVector wb = IntVector.fromMemorySegment(I, k, kB + 2L * i, LE);
            FloatVector ae = wa.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector ao = wa.and(0xffff0000).reinterpretAsFloats();
            FloatVector be = wb.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector bo = wb.and(0xffff0000).reinterpretAsFloats();
            FloatVector x0 = FloatVector.fromArray(F, q, qOff + i);
            FloatVector x1 = FloatVector.fromArray(F, q, qOff + i + L);
            FloatVector y0 = FloatVector.fromArray(F, q, qOff + d + i);
            FloatVector y1 = FloatVector.fromArray(F, q, qOff + d + i + L);
            a0 = x0.fma(ae, a0);
            a1 = x1.fma(ao, a1);
            b0 = y0.fma(ae, b0);
            b1 = y1.fma(ao, b1);
            c0 = x0.fma(be, c0);
            c1 = x1.fma(bo, c1);
            e0 = y0.fma(be, e0);
            e1 = y1.fma(bo, e1);
        }
        st[at] = a0.add(a1).reduceLanes(VectorOperators.ADD);
        st[at + stride] = b0.add(b1).reduceLanes(VectorOperators.ADD);
        st[at + BLOCK] = c0.add(c1).reduceLanes(VectorOperators.ADD);
        st[at + stride + BLOCK] = e0.add(e1).reduceLanes(VectorOperators.ADD);
    }

    /** PV of one page for row {@code r} (probabilities at {@code st[p..]}), {@code 4L} channels per pass. */
    private static void pv1(Workspace w, int r, float alpha, int n, MemorySegment cache, long offsetBytes,
                            long tokenBytes, int p) {
        int o = r * w.dv;
        float[] ot = w.ot;
        for (int c = 0; c < w.dv; c += 4 * L) {
            FloatVector a0 = FloatVector.fromArray(F, ot, o + c).mul(alpha);
            FloatVector a1 = FloatVector.fromArray(F, ot, o + c + L).mul(alpha);
            FloatVector a2 = FloatVector.fromArray(F, ot, o + c + 2 * L).mul(alpha);
            FloatVector a3 = FloatVector.fromArray(F, ot, o + c + 3 * L).mul(alpha);
            long at = offsetBytes + 2L * c;
            for (int j = 0; j < n; j++, at += tokenBytes) {
                FloatVector pj = FloatVector.broadcast(F, w.st[p + j]);
                IntVector w0 = IntVector.fromMemorySegment(I, cache, at, LE);
                IntVector w1 = IntVector.fromMemorySegment(I, cache, at + 4L * L, LE);
                a0 = w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(pj, a0);
                a1 = w0.and(0xffff0000).reinterpretAsFloats().fma(pj, a1);
                a2 = w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(pj, a2);
                a3 = w1.and(0xffff0000).reinterpretAsFloats().fma(pj, a3);
            }
            a0.intoArray(ot, o + c);
            a1.intoArray(ot, o + c + L);
            a2.intoArray(ot, o + c + 2 * L);
            a3.intoArray(ot, o + c + 3 * L);
        }
    }

    /**
     * PV of one page for rows {@code r} and {@code r+1} (probabilities at {@code p0}, {@code p1}),
     * {@code 4L} channels per pass: each load decoded once, eight independent FMA chains.
     */
    private static void pv2(Workspace w, int r, float alpha0, float alpha1, int n, MemorySegment cache,
                            long offsetBytes, long tokenBytes, int p0, int p1) {
        int o = r * w.dv;
        int o1 = o + w.dv;
        float[] ot = w.ot;
        for (int c = 0; c < w.dv; c += 4 * L) {
            FloatVector a0 = FloatVector.fromArray(F, ot, o + c).mul(alpha0);
            FloatVector a1 = FloatVector.fromArray(F, ot, o + c + L).mul(alpha0);
            FloatVector a2 = FloatVector.fromArray(F, ot, o + c + 2 * L).mul(alpha0);
            FloatVector a3 = FloatVector.fromArray(F, ot, o + c + 3 * L).mul(alpha0);
            FloatVector b0 = FloatVector.fromArray(F, ot, o1 + c).mul(alpha1);
            FloatVector b1 = FloatVector.fromArray(F, ot, o1 + c + L).mul(alpha1);
            FloatVector b2 = FloatVector.fromArray(F, ot, o1 + c + 2 * L).mul(alpha1);
            FloatVector b3 = FloatVector.fromArray(F, ot, o1 + c + 3 * L).mul(alpha1);
            long at = offsetBytes + 2L * c;
            for (int j = 0; j < n; j++, at += tokenBytes) {
                IntVector w0 = IntVector.fromMemorySegment(I, cache, at, LE);
                IntVector w1 = IntVector.fromMemorySegment(I, cache, at + 4L * L, LE);
                FloatVector e0 = w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                FloatVector d0 = w0.and(0xffff0000).reinterpretAsFloats();
                FloatVector e1 = w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                FloatVector d1 = w1.and(0xffff0000).reinterpretAsFloats();
                FloatVector pa = FloatVector.broadcast(F, w.st[p0 + j]);
                FloatVector pb = FloatVector.broadcast(F, w.st[p1 + j]);
                a0 = e0.fma(pa, a0);
                a1 = d0.fma(pa, a1);
                a2 = e1.fma(pa, a2);
                a3 = d1.fma(pa, a3);
                b0 = e0.fma(pb, b0);
                b1 = d0.fma(pb, b1);
                b2 = e1.fma(pb, b2);
                b3 = d1.fma(pb, b3);
            }
            a0.intoArray(ot, o + c);
            a1.intoArray(ot, o + c + L);
            a2.intoArray(ot, o + c + 2 * L);
            a3.intoArray(ot, o + c + 3 * L);
            b0.intoArray(ot, o1 + c);
            b1.intoArray(ot, o1 + c + L);
            b2.intoArray(ot, o1 + c + 2 * L);
            b3.intoArray(ot, o1 + c + 3 * L);
        }
    }
}
