package dev.flyer.mla.internal;

import static dev.flyer.mla.internal.Workspace.F;
import static dev.flyer.mla.internal.Workspace.L;
import static dev.flyer.mla.internal.Workspace.ROWS;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The register-blocked products of the wide tile: QKᵀ into {@code st[j][r]} (rows in vectors, or
 * dot products along d for one-vector tiles) and PV into {@code ot[r][c]} (channels in vectors).
 *
 * <p>Implementation notes: one method per blocking so every accumulator is a named local the JIT
 * keeps in a register (arrays of vectors would spill); 24 accumulators for 4 row vectors (6 keys;
 * 4 keys for the remainder of 64), 16 for 2, 8 for 1 (enough independent FMA chains to cover the
 * FMA latency); PV 6 or 4 rows x 4 channel vectors. Key and channel tails use the one-at-a-time
 * loops at the end. Generated shape, hand-checked: each method is the same loop nest unrolled.
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

    /** Scores of keys {@code j0..j0+6} against 4 row vectors (24 accumulators: 10 loads per 24 FMAs). */
    static void qk6x4(float[] qt, float[] kb, int d, int j0, float[] st) {
        int k0 = (j0 + 0) * d;
        int k1 = (j0 + 1) * d;
        int k2 = (j0 + 2) * d;
        int k3 = (j0 + 3) * d;
        int k4 = (j0 + 4) * d;
        int k5 = (j0 + 5) * d;
        FloatVector a00 = FloatVector.zero(F); FloatVector a01 = FloatVector.zero(F); FloatVector a02 = FloatVector.zero(F); FloatVector a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F); FloatVector a11 = FloatVector.zero(F); FloatVector a12 = FloatVector.zero(F); FloatVector a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F); FloatVector a21 = FloatVector.zero(F); FloatVector a22 = FloatVector.zero(F); FloatVector a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F); FloatVector a31 = FloatVector.zero(F); FloatVector a32 = FloatVector.zero(F); FloatVector a33 = FloatVector.zero(F);
        FloatVector a40 = FloatVector.zero(F); FloatVector a41 = FloatVector.zero(F); FloatVector a42 = FloatVector.zero(F); FloatVector a43 = FloatVector.zero(F);
        FloatVector a50 = FloatVector.zero(F); FloatVector a51 = FloatVector.zero(F); FloatVector a52 = FloatVector.zero(F); FloatVector a53 = FloatVector.zero(F);
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
            FloatVector b4 = FloatVector.broadcast(F, kb[k4 + i]);
            a40 = q0.fma(b4, a40); a41 = q1.fma(b4, a41); a42 = q2.fma(b4, a42); a43 = q3.fma(b4, a43);
            FloatVector b5 = FloatVector.broadcast(F, kb[k5 + i]);
            a50 = q0.fma(b5, a50); a51 = q1.fma(b5, a51); a52 = q2.fma(b5, a52); a53 = q3.fma(b5, a53);
        }
        int s0 = (j0 + 0) * ROWS;
        a00.intoArray(st, s0 + 0 * L); a01.intoArray(st, s0 + 1 * L); a02.intoArray(st, s0 + 2 * L); a03.intoArray(st, s0 + 3 * L);
        int s1 = (j0 + 1) * ROWS;
        a10.intoArray(st, s1 + 0 * L); a11.intoArray(st, s1 + 1 * L); a12.intoArray(st, s1 + 2 * L); a13.intoArray(st, s1 + 3 * L);
        int s2 = (j0 + 2) * ROWS;
        a20.intoArray(st, s2 + 0 * L); a21.intoArray(st, s2 + 1 * L); a22.intoArray(st, s2 + 2 * L); a23.intoArray(st, s2 + 3 * L);
        int s3 = (j0 + 3) * ROWS;
        a30.intoArray(st, s3 + 0 * L); a31.intoArray(st, s3 + 1 * L); a32.intoArray(st, s3 + 2 * L); a33.intoArray(st, s3 + 3 * L);
        int s4 = (j0 + 4) * ROWS;
        a40.intoArray(st, s4 + 0 * L); a41.intoArray(st, s4 + 1 * L); a42.intoArray(st, s4 + 2 * L); a43.intoArray(st, s4 + 3 * L);
        int s5 = (j0 + 5) * ROWS;
        a50.intoArray(st, s5 + 0 * L); a51.intoArray(st, s5 + 1 * L); a52.intoArray(st, s5 + 2 * L); a53.intoArray(st, s5 + 3 * L);
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

    /**
     * Scores of 4 rows x 4 keys as dot products along d ({@code qn[r][i]} row-major): for tiles
     * of one row vector, where broadcasting keys would cost a load per FMA.
     */
    static void qkDot4x4(float[] qn, float[] kb, int d, int r0, int j0, float[] st) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F), a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F), a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F), a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F), a33 = FloatVector.zero(F);
        int q0 = r0 * d;
        int k0 = j0 * d;
        for (int i = 0; i < d; i += L) {
            FloatVector x0 = FloatVector.fromArray(F, qn, q0 + i);
            FloatVector x1 = FloatVector.fromArray(F, qn, q0 + d + i);
            FloatVector x2 = FloatVector.fromArray(F, qn, q0 + 2 * d + i);
            FloatVector x3 = FloatVector.fromArray(F, qn, q0 + 3 * d + i);
            FloatVector y = FloatVector.fromArray(F, kb, k0 + i);
            a00 = x0.fma(y, a00); a10 = x1.fma(y, a10); a20 = x2.fma(y, a20); a30 = x3.fma(y, a30);
            y = FloatVector.fromArray(F, kb, k0 + d + i);
            a01 = x0.fma(y, a01); a11 = x1.fma(y, a11); a21 = x2.fma(y, a21); a31 = x3.fma(y, a31);
            y = FloatVector.fromArray(F, kb, k0 + 2 * d + i);
            a02 = x0.fma(y, a02); a12 = x1.fma(y, a12); a22 = x2.fma(y, a22); a32 = x3.fma(y, a32);
            y = FloatVector.fromArray(F, kb, k0 + 3 * d + i);
            a03 = x0.fma(y, a03); a13 = x1.fma(y, a13); a23 = x2.fma(y, a23); a33 = x3.fma(y, a33);
        }
        int s = j0 * ROWS + r0;
        st[s] = a00.reduceLanes(VectorOperators.ADD); st[s + 1] = a10.reduceLanes(VectorOperators.ADD); st[s + 2] = a20.reduceLanes(VectorOperators.ADD); st[s + 3] = a30.reduceLanes(VectorOperators.ADD);
        s += ROWS;
        st[s] = a01.reduceLanes(VectorOperators.ADD); st[s + 1] = a11.reduceLanes(VectorOperators.ADD); st[s + 2] = a21.reduceLanes(VectorOperators.ADD); st[s + 3] = a31.reduceLanes(VectorOperators.ADD);
        s += ROWS;
        st[s] = a02.reduceLanes(VectorOperators.ADD); st[s + 1] = a12.reduceLanes(VectorOperators.ADD); st[s + 2] = a22.reduceLanes(VectorOperators.ADD); st[s + 3] = a32.reduceLanes(VectorOperators.ADD);
        s += ROWS;
        st[s] = a03.reduceLanes(VectorOperators.ADD); st[s + 1] = a13.reduceLanes(VectorOperators.ADD); st[s + 2] = a23.reduceLanes(VectorOperators.ADD); st[s + 3] = a33.reduceLanes(VectorOperators.ADD);
    }

    /** One row's score against one key, along d. */
    static void qkDot1(float[] qn, float[] kb, int d, int r, int j, float[] st) {
        FloatVector a = FloatVector.zero(F);
        for (int i = 0; i < d; i += L) {
            a = FloatVector.fromArray(F, qn, r * d + i).fma(FloatVector.fromArray(F, kb, j * d + i), a);
        }
        st[j * ROWS + r] = a.reduceLanes(VectorOperators.ADD);
    }

    /**
     * PV for rows {@code r0..r0+4} and channels {@code c..c+4L}: {@code ot[r][c] = ot[r][c] * alpha[r] +
     * sum_j st[j][r] * v[j][c]}, 4 rows x 4 channel vectors per step (4 probability broadcasts and 4
     * value loads per 16 FMAs). Callers walk channels outside rows, so the 4L-channel slice of V
     * ({@code n} x 256 bytes) stays in L1 for every row group.
     */
    static void pv4x4(float[] ot, int dv, float[] alpha, float[] st, float[] v, int vStride, int n, int r0, int c) {
        float s0 = alpha[r0];
        float s1 = alpha[r0 + 1];
        float s2 = alpha[r0 + 2];
        float s3 = alpha[r0 + 3];
        int o0 = r0 * dv + c;
        int o1 = o0 + dv;
        int o2 = o1 + dv;
        int o3 = o2 + dv;
        FloatVector a00 = FloatVector.fromArray(F, ot, o0).mul(s0), a01 = FloatVector.fromArray(F, ot, o0 + L).mul(s0);
        FloatVector a02 = FloatVector.fromArray(F, ot, o0 + 2 * L).mul(s0), a03 = FloatVector.fromArray(F, ot, o0 + 3 * L).mul(s0);
        FloatVector a10 = FloatVector.fromArray(F, ot, o1).mul(s1), a11 = FloatVector.fromArray(F, ot, o1 + L).mul(s1);
        FloatVector a12 = FloatVector.fromArray(F, ot, o1 + 2 * L).mul(s1), a13 = FloatVector.fromArray(F, ot, o1 + 3 * L).mul(s1);
        FloatVector a20 = FloatVector.fromArray(F, ot, o2).mul(s2), a21 = FloatVector.fromArray(F, ot, o2 + L).mul(s2);
        FloatVector a22 = FloatVector.fromArray(F, ot, o2 + 2 * L).mul(s2), a23 = FloatVector.fromArray(F, ot, o2 + 3 * L).mul(s2);
        FloatVector a30 = FloatVector.fromArray(F, ot, o3).mul(s3), a31 = FloatVector.fromArray(F, ot, o3 + L).mul(s3);
        FloatVector a32 = FloatVector.fromArray(F, ot, o3 + 2 * L).mul(s3), a33 = FloatVector.fromArray(F, ot, o3 + 3 * L).mul(s3);
        for (int j = 0, p = r0, b = c; j < n; j++, p += ROWS, b += vStride) {
            FloatVector v0 = FloatVector.fromArray(F, v, b);
            FloatVector v1 = FloatVector.fromArray(F, v, b + L);
            FloatVector v2 = FloatVector.fromArray(F, v, b + 2 * L);
            FloatVector v3 = FloatVector.fromArray(F, v, b + 3 * L);
            FloatVector p0 = FloatVector.broadcast(F, st[p]);
            a00 = v0.fma(p0, a00); a01 = v1.fma(p0, a01); a02 = v2.fma(p0, a02); a03 = v3.fma(p0, a03);
            FloatVector p1 = FloatVector.broadcast(F, st[p + 1]);
            a10 = v0.fma(p1, a10); a11 = v1.fma(p1, a11); a12 = v2.fma(p1, a12); a13 = v3.fma(p1, a13);
            FloatVector p2 = FloatVector.broadcast(F, st[p + 2]);
            a20 = v0.fma(p2, a20); a21 = v1.fma(p2, a21); a22 = v2.fma(p2, a22); a23 = v3.fma(p2, a23);
            FloatVector p3 = FloatVector.broadcast(F, st[p + 3]);
            a30 = v0.fma(p3, a30); a31 = v1.fma(p3, a31); a32 = v2.fma(p3, a32); a33 = v3.fma(p3, a33);
        }
        a00.intoArray(ot, o0); a01.intoArray(ot, o0 + L); a02.intoArray(ot, o0 + 2 * L); a03.intoArray(ot, o0 + 3 * L);
        a10.intoArray(ot, o1); a11.intoArray(ot, o1 + L); a12.intoArray(ot, o1 + 2 * L); a13.intoArray(ot, o1 + 3 * L);
        a20.intoArray(ot, o2); a21.intoArray(ot, o2 + L); a22.intoArray(ot, o2 + 2 * L); a23.intoArray(ot, o2 + 3 * L);
        a30.intoArray(ot, o3); a31.intoArray(ot, o3 + L); a32.intoArray(ot, o3 + 2 * L); a33.intoArray(ot, o3 + 3 * L);
    }

    /** As {@link #pv4x4} for 6 rows (24 accumulators: 10 loads per 24 FMAs). */
    static void pv6x4(float[] ot, int dv, float[] alpha, float[] st, float[] v, int vStride, int n, int r0, int c) {
        float s0 = alpha[r0 + 0];
        int o0 = (r0 + 0) * dv + c;
        float s1 = alpha[r0 + 1];
        int o1 = (r0 + 1) * dv + c;
        float s2 = alpha[r0 + 2];
        int o2 = (r0 + 2) * dv + c;
        float s3 = alpha[r0 + 3];
        int o3 = (r0 + 3) * dv + c;
        float s4 = alpha[r0 + 4];
        int o4 = (r0 + 4) * dv + c;
        float s5 = alpha[r0 + 5];
        int o5 = (r0 + 5) * dv + c;
        FloatVector a00 = FloatVector.fromArray(F, ot, o0 + 0 * L).mul(s0); FloatVector a01 = FloatVector.fromArray(F, ot, o0 + 1 * L).mul(s0); FloatVector a02 = FloatVector.fromArray(F, ot, o0 + 2 * L).mul(s0); FloatVector a03 = FloatVector.fromArray(F, ot, o0 + 3 * L).mul(s0);
        FloatVector a10 = FloatVector.fromArray(F, ot, o1 + 0 * L).mul(s1); FloatVector a11 = FloatVector.fromArray(F, ot, o1 + 1 * L).mul(s1); FloatVector a12 = FloatVector.fromArray(F, ot, o1 + 2 * L).mul(s1); FloatVector a13 = FloatVector.fromArray(F, ot, o1 + 3 * L).mul(s1);
        FloatVector a20 = FloatVector.fromArray(F, ot, o2 + 0 * L).mul(s2); FloatVector a21 = FloatVector.fromArray(F, ot, o2 + 1 * L).mul(s2); FloatVector a22 = FloatVector.fromArray(F, ot, o2 + 2 * L).mul(s2); FloatVector a23 = FloatVector.fromArray(F, ot, o2 + 3 * L).mul(s2);
        FloatVector a30 = FloatVector.fromArray(F, ot, o3 + 0 * L).mul(s3); FloatVector a31 = FloatVector.fromArray(F, ot, o3 + 1 * L).mul(s3); FloatVector a32 = FloatVector.fromArray(F, ot, o3 + 2 * L).mul(s3); FloatVector a33 = FloatVector.fromArray(F, ot, o3 + 3 * L).mul(s3);
        FloatVector a40 = FloatVector.fromArray(F, ot, o4 + 0 * L).mul(s4); FloatVector a41 = FloatVector.fromArray(F, ot, o4 + 1 * L).mul(s4); FloatVector a42 = FloatVector.fromArray(F, ot, o4 + 2 * L).mul(s4); FloatVector a43 = FloatVector.fromArray(F, ot, o4 + 3 * L).mul(s4);
        FloatVector a50 = FloatVector.fromArray(F, ot, o5 + 0 * L).mul(s5); FloatVector a51 = FloatVector.fromArray(F, ot, o5 + 1 * L).mul(s5); FloatVector a52 = FloatVector.fromArray(F, ot, o5 + 2 * L).mul(s5); FloatVector a53 = FloatVector.fromArray(F, ot, o5 + 3 * L).mul(s5);
        for (int j = 0, p = r0, b = c; j < n; j++, p += ROWS, b += vStride) {
            FloatVector v0 = FloatVector.fromArray(F, v, b);
            FloatVector v1 = FloatVector.fromArray(F, v, b + 1 * L);
            FloatVector v2 = FloatVector.fromArray(F, v, b + 2 * L);
            FloatVector v3 = FloatVector.fromArray(F, v, b + 3 * L);
            FloatVector p0 = FloatVector.broadcast(F, st[p + 0]);
            a00 = v0.fma(p0, a00); a01 = v1.fma(p0, a01); a02 = v2.fma(p0, a02); a03 = v3.fma(p0, a03);
            FloatVector p1 = FloatVector.broadcast(F, st[p + 1]);
            a10 = v0.fma(p1, a10); a11 = v1.fma(p1, a11); a12 = v2.fma(p1, a12); a13 = v3.fma(p1, a13);
            FloatVector p2 = FloatVector.broadcast(F, st[p + 2]);
            a20 = v0.fma(p2, a20); a21 = v1.fma(p2, a21); a22 = v2.fma(p2, a22); a23 = v3.fma(p2, a23);
            FloatVector p3 = FloatVector.broadcast(F, st[p + 3]);
            a30 = v0.fma(p3, a30); a31 = v1.fma(p3, a31); a32 = v2.fma(p3, a32); a33 = v3.fma(p3, a33);
            FloatVector p4 = FloatVector.broadcast(F, st[p + 4]);
            a40 = v0.fma(p4, a40); a41 = v1.fma(p4, a41); a42 = v2.fma(p4, a42); a43 = v3.fma(p4, a43);
            FloatVector p5 = FloatVector.broadcast(F, st[p + 5]);
            a50 = v0.fma(p5, a50); a51 = v1.fma(p5, a51); a52 = v2.fma(p5, a52); a53 = v3.fma(p5, a53);
        }
        a00.intoArray(ot, o0 + 0 * L); a01.intoArray(ot, o0 + 1 * L); a02.intoArray(ot, o0 + 2 * L); a03.intoArray(ot, o0 + 3 * L);
        a10.intoArray(ot, o1 + 0 * L); a11.intoArray(ot, o1 + 1 * L); a12.intoArray(ot, o1 + 2 * L); a13.intoArray(ot, o1 + 3 * L);
        a20.intoArray(ot, o2 + 0 * L); a21.intoArray(ot, o2 + 1 * L); a22.intoArray(ot, o2 + 2 * L); a23.intoArray(ot, o2 + 3 * L);
        a30.intoArray(ot, o3 + 0 * L); a31.intoArray(ot, o3 + 1 * L); a32.intoArray(ot, o3 + 2 * L); a33.intoArray(ot, o3 + 3 * L);
        a40.intoArray(ot, o4 + 0 * L); a41.intoArray(ot, o4 + 1 * L); a42.intoArray(ot, o4 + 2 * L); a43.intoArray(ot, o4 + 3 * L);
        a50.intoArray(ot, o5 + 0 * L); a51.intoArray(ot, o5 + 1 * L); a52.intoArray(ot, o5 + 2 * L); a53.intoArray(ot, o5 + 3 * L);
    }

    /** PV for one row {@code r}, one channel vector at a time. */
    static void pv1(float[] ot, int dv, float[] alpha, float[] st, float[] v, int vStride, int n, int r) {
        float s = alpha[r];
        for (int c = 0; c < dv; c += L) {
            int o = r * dv + c;
            FloatVector a = FloatVector.fromArray(F, ot, o).mul(s);
            for (int j = 0, p = r, b = c; j < n; j++, p += ROWS, b += vStride) {
                a = FloatVector.fromArray(F, v, b).fma(FloatVector.broadcast(F, st[p]), a);
            }
            a.intoArray(ot, o);
        }
    }

    /** PV for widths that are not whole vectors: plain loops. */
    static void pvScalar(float[] ot, int dv, float[] alpha, float[] st, float[] v, int vStride, int n, int rows) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < dv; c++) {
                float a = ot[r * dv + c] * alpha[r];
                for (int j = 0; j < n; j++) {
                    a += st[j * ROWS + r] * v[j * vStride + c];
                }
                ot[r * dv + c] = a;
            }
        }
    }
}
