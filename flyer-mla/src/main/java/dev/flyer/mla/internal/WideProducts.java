package dev.flyer.mla.internal;

import static dev.flyer.mla.internal.Workspace.F;
import static dev.flyer.mla.internal.Workspace.L;
import static dev.flyer.mla.internal.Workspace.ROWS;

import jdk.incubator.vector.FloatVector;

/**
 * The register-blocked products of the wide tile: QKᵀ into {@code st[j][r]} and PV into
 * {@code ot[c][r]}, rows in vectors (see {@link TileKernel}).
 *
 * <p>Implementation notes: one method per blocking so every accumulator is a named local the JIT
 * keeps in a register (arrays of vectors would spill); 16 accumulators for 4 row vectors, 16 for
 * 2, 8 for 1 (enough independent FMA chains to cover the FMA latency). Key and channel tails use
 * the one-at-a-time loops at the end. Generated shape, hand-checked: each method is the same
 * loop nest unrolled.
 */
final class WideProducts {
    private WideProducts() {}

    /** Scores of keys {@code j0..j0+4} against 4 row vector(s): {@code st[j][r] = sum_i qt[i][r] * kb[j][i]}. */
    static void qk4x4(float[] qt, float[] kb, int d, int j0, float[] st) {
        int k0 = (j0 + 0) * d;
        int k1 = (j0 + 1) * d;
        int k2 = (j0 + 2) * d;
        int k3 = (j0 + 3) * d;
        FloatVector a00 = FloatVector.zero(F); FloatVector a01 = FloatVector.zero(F); FloatVector a02 = FloatVector.zero(F); FloatVector a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F); FloatVector a11 = FloatVector.zero(F); FloatVector a12 = FloatVector.zero(F); FloatVector a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F); FloatVector a21 = FloatVector.zero(F); FloatVector a22 = FloatVector.zero(F); FloatVector a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F); FloatVector a31 = FloatVector.zero(F); FloatVector a32 = FloatVector.zero(F); FloatVector a33 = FloatVector.zero(F);
        for (int i = 0, q = 0; i < d; i++, q += ROWS) {
            FloatVector q0 = FloatVector.fromArray(F, qt, q);
            FloatVector q1 = FloatVector.fromArray(F, qt, q + 1 * L);
            FloatVector q2 = FloatVector.fromArray(F, qt, q + 2 * L);
            FloatVector q3 = FloatVector.fromArray(F, qt, q + 3 * L);
            FloatVector b0 = FloatVector.broadcast(F, kb[k0 + i]);
            a00 = q0.fma(b0, a00); a01 = q1.fma(b0, a01); a02 = q2.fma(b0, a02); a03 = q3.fma(b0, a03);
            FloatVector b1 = FloatVector.broadcast(F, kb[k1 + i]);
            a10 = q0.fma(b1, a10); a11 = q1.fma(b1, a11); a12 = q2.fma(b1, a12); a13 = q3.fma(b1, a13);
            FloatVector b2 = FloatVector.broadcast(F, kb[k2 + i]);
            a20 = q0.fma(b2, a20); a21 = q1.fma(b2, a21); a22 = q2.fma(b2, a22); a23 = q3.fma(b2, a23);
            FloatVector b3 = FloatVector.broadcast(F, kb[k3 + i]);
            a30 = q0.fma(b3, a30); a31 = q1.fma(b3, a31); a32 = q2.fma(b3, a32); a33 = q3.fma(b3, a33);
        }
        int s0 = (j0 + 0) * ROWS;
        a00.intoArray(st, s0); a01.intoArray(st, s0 + 1 * L); a02.intoArray(st, s0 + 2 * L); a03.intoArray(st, s0 + 3 * L);
        int s1 = (j0 + 1) * ROWS;
        a10.intoArray(st, s1); a11.intoArray(st, s1 + 1 * L); a12.intoArray(st, s1 + 2 * L); a13.intoArray(st, s1 + 3 * L);
        int s2 = (j0 + 2) * ROWS;
        a20.intoArray(st, s2); a21.intoArray(st, s2 + 1 * L); a22.intoArray(st, s2 + 2 * L); a23.intoArray(st, s2 + 3 * L);
        int s3 = (j0 + 3) * ROWS;
        a30.intoArray(st, s3); a31.intoArray(st, s3 + 1 * L); a32.intoArray(st, s3 + 2 * L); a33.intoArray(st, s3 + 3 * L);
    }

    /** Scores of keys {@code j0..j0+8} against 2 row vector(s): {@code st[j][r] = sum_i qt[i][r] * kb[j][i]}. */
    static void qk8x2(float[] qt, float[] kb, int d, int j0, float[] st) {
        int k0 = (j0 + 0) * d;
        int k1 = (j0 + 1) * d;
        int k2 = (j0 + 2) * d;
        int k3 = (j0 + 3) * d;
        int k4 = (j0 + 4) * d;
        int k5 = (j0 + 5) * d;
        int k6 = (j0 + 6) * d;
        int k7 = (j0 + 7) * d;
        FloatVector a00 = FloatVector.zero(F); FloatVector a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F); FloatVector a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F); FloatVector a21 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F); FloatVector a31 = FloatVector.zero(F);
        FloatVector a40 = FloatVector.zero(F); FloatVector a41 = FloatVector.zero(F);
        FloatVector a50 = FloatVector.zero(F); FloatVector a51 = FloatVector.zero(F);
        FloatVector a60 = FloatVector.zero(F); FloatVector a61 = FloatVector.zero(F);
        FloatVector a70 = FloatVector.zero(F); FloatVector a71 = FloatVector.zero(F);
        for (int i = 0, q = 0; i < d; i++, q += ROWS) {
            FloatVector q0 = FloatVector.fromArray(F, qt, q);
            FloatVector q1 = FloatVector.fromArray(F, qt, q + 1 * L);
            FloatVector b0 = FloatVector.broadcast(F, kb[k0 + i]);
            a00 = q0.fma(b0, a00); a01 = q1.fma(b0, a01);
            FloatVector b1 = FloatVector.broadcast(F, kb[k1 + i]);
            a10 = q0.fma(b1, a10); a11 = q1.fma(b1, a11);
            FloatVector b2 = FloatVector.broadcast(F, kb[k2 + i]);
            a20 = q0.fma(b2, a20); a21 = q1.fma(b2, a21);
            FloatVector b3 = FloatVector.broadcast(F, kb[k3 + i]);
            a30 = q0.fma(b3, a30); a31 = q1.fma(b3, a31);
            FloatVector b4 = FloatVector.broadcast(F, kb[k4 + i]);
            a40 = q0.fma(b4, a40); a41 = q1.fma(b4, a41);
            FloatVector b5 = FloatVector.broadcast(F, kb[k5 + i]);
            a50 = q0.fma(b5, a50); a51 = q1.fma(b5, a51);
            FloatVector b6 = FloatVector.broadcast(F, kb[k6 + i]);
            a60 = q0.fma(b6, a60); a61 = q1.fma(b6, a61);
            FloatVector b7 = FloatVector.broadcast(F, kb[k7 + i]);
            a70 = q0.fma(b7, a70); a71 = q1.fma(b7, a71);
        }
        int s0 = (j0 + 0) * ROWS;
        a00.intoArray(st, s0); a01.intoArray(st, s0 + 1 * L);
        int s1 = (j0 + 1) * ROWS;
        a10.intoArray(st, s1); a11.intoArray(st, s1 + 1 * L);
        int s2 = (j0 + 2) * ROWS;
        a20.intoArray(st, s2); a21.intoArray(st, s2 + 1 * L);
        int s3 = (j0 + 3) * ROWS;
        a30.intoArray(st, s3); a31.intoArray(st, s3 + 1 * L);
        int s4 = (j0 + 4) * ROWS;
        a40.intoArray(st, s4); a41.intoArray(st, s4 + 1 * L);
        int s5 = (j0 + 5) * ROWS;
        a50.intoArray(st, s5); a51.intoArray(st, s5 + 1 * L);
        int s6 = (j0 + 6) * ROWS;
        a60.intoArray(st, s6); a61.intoArray(st, s6 + 1 * L);
        int s7 = (j0 + 7) * ROWS;
        a70.intoArray(st, s7); a71.intoArray(st, s7 + 1 * L);
    }

    /** Scores of keys {@code j0..j0+8} against 1 row vector(s): {@code st[j][r] = sum_i qt[i][r] * kb[j][i]}. */
    static void qk8x1(float[] qt, float[] kb, int d, int j0, float[] st) {
        int k0 = (j0 + 0) * d;
        int k1 = (j0 + 1) * d;
        int k2 = (j0 + 2) * d;
        int k3 = (j0 + 3) * d;
        int k4 = (j0 + 4) * d;
        int k5 = (j0 + 5) * d;
        int k6 = (j0 + 6) * d;
        int k7 = (j0 + 7) * d;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F);
        FloatVector a40 = FloatVector.zero(F);
        FloatVector a50 = FloatVector.zero(F);
        FloatVector a60 = FloatVector.zero(F);
        FloatVector a70 = FloatVector.zero(F);
        for (int i = 0, q = 0; i < d; i++, q += ROWS) {
            FloatVector q0 = FloatVector.fromArray(F, qt, q);
            FloatVector b0 = FloatVector.broadcast(F, kb[k0 + i]);
            a00 = q0.fma(b0, a00);
            FloatVector b1 = FloatVector.broadcast(F, kb[k1 + i]);
            a10 = q0.fma(b1, a10);
            FloatVector b2 = FloatVector.broadcast(F, kb[k2 + i]);
            a20 = q0.fma(b2, a20);
            FloatVector b3 = FloatVector.broadcast(F, kb[k3 + i]);
            a30 = q0.fma(b3, a30);
            FloatVector b4 = FloatVector.broadcast(F, kb[k4 + i]);
            a40 = q0.fma(b4, a40);
            FloatVector b5 = FloatVector.broadcast(F, kb[k5 + i]);
            a50 = q0.fma(b5, a50);
            FloatVector b6 = FloatVector.broadcast(F, kb[k6 + i]);
            a60 = q0.fma(b6, a60);
            FloatVector b7 = FloatVector.broadcast(F, kb[k7 + i]);
            a70 = q0.fma(b7, a70);
        }
        int s0 = (j0 + 0) * ROWS;
        a00.intoArray(st, s0);
        int s1 = (j0 + 1) * ROWS;
        a10.intoArray(st, s1);
        int s2 = (j0 + 2) * ROWS;
        a20.intoArray(st, s2);
        int s3 = (j0 + 3) * ROWS;
        a30.intoArray(st, s3);
        int s4 = (j0 + 4) * ROWS;
        a40.intoArray(st, s4);
        int s5 = (j0 + 5) * ROWS;
        a50.intoArray(st, s5);
        int s6 = (j0 + 6) * ROWS;
        a60.intoArray(st, s6);
        int s7 = (j0 + 7) * ROWS;
        a70.intoArray(st, s7);
    }

    /** Scores of one key {@code j} against {@code nv} row vectors. */
    static void qk1(float[] qt, float[] kb, int d, int j, int nv, float[] st) {
        int k = j * d;
        for (int v = 0; v < nv; v++) {
            FloatVector a = FloatVector.zero(F);
            for (int i = 0, q = v * L; i < d; i++, q += ROWS) {
                a = FloatVector.fromArray(F, qt, q).fma(FloatVector.broadcast(F, kb[k + i]), a);
            }
            a.intoArray(st, j * ROWS + v * L);
        }
    }

    /** PV for the whole tile: every channel {@code c < dv}, rescaling by {@code alpha} first. */
    static void pv(Workspace w, int n, float[] v, int vStride) {
        int dv = w.dv;
        int c = 0;
        switch (w.nv) {
            case 4 -> {
                for (; c + 4 <= dv; c += 4) {
                    pv4x4(w.ot, w.alpha, w.st, v, vStride, n, c);
                }
            }
            case 2 -> {
                for (; c + 8 <= dv; c += 8) {
                    pv8x2(w.ot, w.alpha, w.st, v, vStride, n, c);
                }
            }
            default -> {
                for (; c + 8 <= dv; c += 8) {
                    pv8x1(w.ot, w.alpha, w.st, v, vStride, n, c);
                }
            }
        }
        for (; c < dv; c++) {
            pv1(w.ot, w.alpha, w.st, v, vStride, n, c, w.nv);
        }
    }

    /** {@code ot[c][r] = ot[c][r] * alpha[r] + sum_j v[j][c] * st[j][r]} for channels {@code c0..c0+4}, 4 row vector(s). */
    static void pv4x4(float[] ot, float[] alpha, float[] st, float[] v, int vStride, int n, int c0) {
        FloatVector s0 = FloatVector.fromArray(F, alpha, 0);
        FloatVector s1 = FloatVector.fromArray(F, alpha, 1 * L);
        FloatVector s2 = FloatVector.fromArray(F, alpha, 2 * L);
        FloatVector s3 = FloatVector.fromArray(F, alpha, 3 * L);
        int o0 = (c0 + 0) * ROWS;
        FloatVector a00 = FloatVector.fromArray(F, ot, o0).mul(s0); FloatVector a01 = FloatVector.fromArray(F, ot, o0 + 1 * L).mul(s1); FloatVector a02 = FloatVector.fromArray(F, ot, o0 + 2 * L).mul(s2); FloatVector a03 = FloatVector.fromArray(F, ot, o0 + 3 * L).mul(s3);
        int o1 = (c0 + 1) * ROWS;
        FloatVector a10 = FloatVector.fromArray(F, ot, o1).mul(s0); FloatVector a11 = FloatVector.fromArray(F, ot, o1 + 1 * L).mul(s1); FloatVector a12 = FloatVector.fromArray(F, ot, o1 + 2 * L).mul(s2); FloatVector a13 = FloatVector.fromArray(F, ot, o1 + 3 * L).mul(s3);
        int o2 = (c0 + 2) * ROWS;
        FloatVector a20 = FloatVector.fromArray(F, ot, o2).mul(s0); FloatVector a21 = FloatVector.fromArray(F, ot, o2 + 1 * L).mul(s1); FloatVector a22 = FloatVector.fromArray(F, ot, o2 + 2 * L).mul(s2); FloatVector a23 = FloatVector.fromArray(F, ot, o2 + 3 * L).mul(s3);
        int o3 = (c0 + 3) * ROWS;
        FloatVector a30 = FloatVector.fromArray(F, ot, o3).mul(s0); FloatVector a31 = FloatVector.fromArray(F, ot, o3 + 1 * L).mul(s1); FloatVector a32 = FloatVector.fromArray(F, ot, o3 + 2 * L).mul(s2); FloatVector a33 = FloatVector.fromArray(F, ot, o3 + 3 * L).mul(s3);
        for (int j = 0, p = 0, b = c0; j < n; j++, p += ROWS, b += vStride) {
            FloatVector p0 = FloatVector.fromArray(F, st, p);
            FloatVector p1 = FloatVector.fromArray(F, st, p + 1 * L);
            FloatVector p2 = FloatVector.fromArray(F, st, p + 2 * L);
            FloatVector p3 = FloatVector.fromArray(F, st, p + 3 * L);
            FloatVector b0 = FloatVector.broadcast(F, v[b]);
            a00 = p0.fma(b0, a00); a01 = p1.fma(b0, a01); a02 = p2.fma(b0, a02); a03 = p3.fma(b0, a03);
            FloatVector b1 = FloatVector.broadcast(F, v[b + 1]);
            a10 = p0.fma(b1, a10); a11 = p1.fma(b1, a11); a12 = p2.fma(b1, a12); a13 = p3.fma(b1, a13);
            FloatVector b2 = FloatVector.broadcast(F, v[b + 2]);
            a20 = p0.fma(b2, a20); a21 = p1.fma(b2, a21); a22 = p2.fma(b2, a22); a23 = p3.fma(b2, a23);
            FloatVector b3 = FloatVector.broadcast(F, v[b + 3]);
            a30 = p0.fma(b3, a30); a31 = p1.fma(b3, a31); a32 = p2.fma(b3, a32); a33 = p3.fma(b3, a33);
        }
        a00.intoArray(ot, o0); a01.intoArray(ot, o0 + 1 * L); a02.intoArray(ot, o0 + 2 * L); a03.intoArray(ot, o0 + 3 * L);
        a10.intoArray(ot, o1); a11.intoArray(ot, o1 + 1 * L); a12.intoArray(ot, o1 + 2 * L); a13.intoArray(ot, o1 + 3 * L);
        a20.intoArray(ot, o2); a21.intoArray(ot, o2 + 1 * L); a22.intoArray(ot, o2 + 2 * L); a23.intoArray(ot, o2 + 3 * L);
        a30.intoArray(ot, o3); a31.intoArray(ot, o3 + 1 * L); a32.intoArray(ot, o3 + 2 * L); a33.intoArray(ot, o3 + 3 * L);
    }

    /** {@code ot[c][r] = ot[c][r] * alpha[r] + sum_j v[j][c] * st[j][r]} for channels {@code c0..c0+8}, 2 row vector(s). */
    static void pv8x2(float[] ot, float[] alpha, float[] st, float[] v, int vStride, int n, int c0) {
        FloatVector s0 = FloatVector.fromArray(F, alpha, 0);
        FloatVector s1 = FloatVector.fromArray(F, alpha, 1 * L);
        int o0 = (c0 + 0) * ROWS;
        FloatVector a00 = FloatVector.fromArray(F, ot, o0).mul(s0); FloatVector a01 = FloatVector.fromArray(F, ot, o0 + 1 * L).mul(s1);
        int o1 = (c0 + 1) * ROWS;
        FloatVector a10 = FloatVector.fromArray(F, ot, o1).mul(s0); FloatVector a11 = FloatVector.fromArray(F, ot, o1 + 1 * L).mul(s1);
        int o2 = (c0 + 2) * ROWS;
        FloatVector a20 = FloatVector.fromArray(F, ot, o2).mul(s0); FloatVector a21 = FloatVector.fromArray(F, ot, o2 + 1 * L).mul(s1);
        int o3 = (c0 + 3) * ROWS;
        FloatVector a30 = FloatVector.fromArray(F, ot, o3).mul(s0); FloatVector a31 = FloatVector.fromArray(F, ot, o3 + 1 * L).mul(s1);
        int o4 = (c0 + 4) * ROWS;
        FloatVector a40 = FloatVector.fromArray(F, ot, o4).mul(s0); FloatVector a41 = FloatVector.fromArray(F, ot, o4 + 1 * L).mul(s1);
        int o5 = (c0 + 5) * ROWS;
        FloatVector a50 = FloatVector.fromArray(F, ot, o5).mul(s0); FloatVector a51 = FloatVector.fromArray(F, ot, o5 + 1 * L).mul(s1);
        int o6 = (c0 + 6) * ROWS;
        FloatVector a60 = FloatVector.fromArray(F, ot, o6).mul(s0); FloatVector a61 = FloatVector.fromArray(F, ot, o6 + 1 * L).mul(s1);
        int o7 = (c0 + 7) * ROWS;
        FloatVector a70 = FloatVector.fromArray(F, ot, o7).mul(s0); FloatVector a71 = FloatVector.fromArray(F, ot, o7 + 1 * L).mul(s1);
        for (int j = 0, p = 0, b = c0; j < n; j++, p += ROWS, b += vStride) {
            FloatVector p0 = FloatVector.fromArray(F, st, p);
            FloatVector p1 = FloatVector.fromArray(F, st, p + 1 * L);
            FloatVector b0 = FloatVector.broadcast(F, v[b]);
            a00 = p0.fma(b0, a00); a01 = p1.fma(b0, a01);
            FloatVector b1 = FloatVector.broadcast(F, v[b + 1]);
            a10 = p0.fma(b1, a10); a11 = p1.fma(b1, a11);
            FloatVector b2 = FloatVector.broadcast(F, v[b + 2]);
            a20 = p0.fma(b2, a20); a21 = p1.fma(b2, a21);
            FloatVector b3 = FloatVector.broadcast(F, v[b + 3]);
            a30 = p0.fma(b3, a30); a31 = p1.fma(b3, a31);
            FloatVector b4 = FloatVector.broadcast(F, v[b + 4]);
            a40 = p0.fma(b4, a40); a41 = p1.fma(b4, a41);
            FloatVector b5 = FloatVector.broadcast(F, v[b + 5]);
            a50 = p0.fma(b5, a50); a51 = p1.fma(b5, a51);
            FloatVector b6 = FloatVector.broadcast(F, v[b + 6]);
            a60 = p0.fma(b6, a60); a61 = p1.fma(b6, a61);
            FloatVector b7 = FloatVector.broadcast(F, v[b + 7]);
            a70 = p0.fma(b7, a70); a71 = p1.fma(b7, a71);
        }
        a00.intoArray(ot, o0); a01.intoArray(ot, o0 + 1 * L);
        a10.intoArray(ot, o1); a11.intoArray(ot, o1 + 1 * L);
        a20.intoArray(ot, o2); a21.intoArray(ot, o2 + 1 * L);
        a30.intoArray(ot, o3); a31.intoArray(ot, o3 + 1 * L);
        a40.intoArray(ot, o4); a41.intoArray(ot, o4 + 1 * L);
        a50.intoArray(ot, o5); a51.intoArray(ot, o5 + 1 * L);
        a60.intoArray(ot, o6); a61.intoArray(ot, o6 + 1 * L);
        a70.intoArray(ot, o7); a71.intoArray(ot, o7 + 1 * L);
    }

    /** {@code ot[c][r] = ot[c][r] * alpha[r] + sum_j v[j][c] * st[j][r]} for channels {@code c0..c0+8}, 1 row vector(s). */
    static void pv8x1(float[] ot, float[] alpha, float[] st, float[] v, int vStride, int n, int c0) {
        FloatVector s0 = FloatVector.fromArray(F, alpha, 0);
        int o0 = (c0 + 0) * ROWS;
        FloatVector a00 = FloatVector.fromArray(F, ot, o0).mul(s0);
        int o1 = (c0 + 1) * ROWS;
        FloatVector a10 = FloatVector.fromArray(F, ot, o1).mul(s0);
        int o2 = (c0 + 2) * ROWS;
        FloatVector a20 = FloatVector.fromArray(F, ot, o2).mul(s0);
        int o3 = (c0 + 3) * ROWS;
        FloatVector a30 = FloatVector.fromArray(F, ot, o3).mul(s0);
        int o4 = (c0 + 4) * ROWS;
        FloatVector a40 = FloatVector.fromArray(F, ot, o4).mul(s0);
        int o5 = (c0 + 5) * ROWS;
        FloatVector a50 = FloatVector.fromArray(F, ot, o5).mul(s0);
        int o6 = (c0 + 6) * ROWS;
        FloatVector a60 = FloatVector.fromArray(F, ot, o6).mul(s0);
        int o7 = (c0 + 7) * ROWS;
        FloatVector a70 = FloatVector.fromArray(F, ot, o7).mul(s0);
        for (int j = 0, p = 0, b = c0; j < n; j++, p += ROWS, b += vStride) {
            FloatVector p0 = FloatVector.fromArray(F, st, p);
            FloatVector b0 = FloatVector.broadcast(F, v[b]);
            a00 = p0.fma(b0, a00);
            FloatVector b1 = FloatVector.broadcast(F, v[b + 1]);
            a10 = p0.fma(b1, a10);
            FloatVector b2 = FloatVector.broadcast(F, v[b + 2]);
            a20 = p0.fma(b2, a20);
            FloatVector b3 = FloatVector.broadcast(F, v[b + 3]);
            a30 = p0.fma(b3, a30);
            FloatVector b4 = FloatVector.broadcast(F, v[b + 4]);
            a40 = p0.fma(b4, a40);
            FloatVector b5 = FloatVector.broadcast(F, v[b + 5]);
            a50 = p0.fma(b5, a50);
            FloatVector b6 = FloatVector.broadcast(F, v[b + 6]);
            a60 = p0.fma(b6, a60);
            FloatVector b7 = FloatVector.broadcast(F, v[b + 7]);
            a70 = p0.fma(b7, a70);
        }
        a00.intoArray(ot, o0);
        a10.intoArray(ot, o1);
        a20.intoArray(ot, o2);
        a30.intoArray(ot, o3);
        a40.intoArray(ot, o4);
        a50.intoArray(ot, o5);
        a60.intoArray(ot, o6);
        a70.intoArray(ot, o7);
    }

    private static void pv1(float[] ot, float[] alpha, float[] st, float[] v, int vStride, int n, int c, int nv) {
        for (int r = 0; r < nv; r++) {
            int o = c * ROWS + r * L;
            FloatVector a = FloatVector.fromArray(F, ot, o).mul(FloatVector.fromArray(F, alpha, r * L));
            for (int j = 0; j < n; j++) {
                a = FloatVector.fromArray(F, st, j * ROWS + r * L).fma(FloatVector.broadcast(F, v[j * vStride + c]), a);
            }
            a.intoArray(ot, o);
        }
    }
}
