package dev.flyer.mla.internal;

import static dev.flyer.mla.internal.Workspace.BLOCK;
import static dev.flyer.mla.internal.Workspace.F;
import static dev.flyer.mla.internal.Workspace.L;

import dev.flyer.core.numeric.VectorOps;
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
 * BF16 pages are read in place by {@link Bf16Pages} instead.
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
        return softmax(w, r, r * BLOCK, BLOCK);
    }

    /**
     * Updates row {@code r}'s max and sum over its {@code count} (a multiple of L) scores at
     * {@code st[base..]}, turns them into probabilities; returns alpha (the old sum's rescale).
     */
    static float softmax(Workspace w, int r, int base, int count) {
        FloatVector max = FloatVector.broadcast(F, NEG_INF);
        for (int j = 0; j < count; j += L) {
            max = max.max(FloatVector.fromArray(F, w.st, base + j));
        }
        float old = w.m[r];
        float now = Math.max(old, max.reduceLanes(VectorOperators.MAX));
        float shift = now == NEG_INF ? 0f : now;
        float alpha = (float) Math.exp(old - shift);
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0; j < count; j += L) {
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
}
