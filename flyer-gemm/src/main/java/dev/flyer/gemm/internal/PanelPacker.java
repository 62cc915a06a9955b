package dev.flyer.gemm.internal;

import dev.flyer.core.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Packs B's rows into {@link PanelKernel}'s K-major panel ({@code panel[kk * 32 + c]} = row
 * {@code col0 + c}, depth {@code kk}): 16 rows are decoded a K chunk at a time, then each 16 x 16
 * block is transposed in registers and stored as 16 contiguous runs.
 *
 * <p>Implementation notes: the transpose swaps off-diagonal blocks of 8, 4, 2 and 1 lanes, each
 * step one two-vector {@code selectFrom} per output (vpermi2ps/vpermt2ps), 64 per block; that
 * replaced a vector scatter per decoded 16-value run, which took a third of the time of an
 * m = 64 product (JFR). Rows past {@code cols} and depths past {@code k} are zeros. Values are
 * exactly those of {@link GemmRunner#decodeRow}, so the products are unchanged bit for bit. The
 * transpose is spelled out over sixteen named vectors (an array of vectors would be boxed).
 */
final class PanelPacker {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    /** Depths decoded per pass: 16 rows x 256 floats = 16 KiB of scratch, in L1. */
    static final int CHUNK = 256;

    private static final FloatVector LO8 = indices(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    private static final FloatVector HI8 = indices(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    private static final FloatVector LO4 = indices(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    private static final FloatVector HI4 = indices(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    private static final FloatVector LO2 = indices(0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
    private static final FloatVector HI2 = indices(2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
    private static final FloatVector LO1 = indices(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    private static final FloatVector HI1 = indices(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);

    private PanelPacker() {}

    /** Whether this packer serves panels on this machine (16-lane float vectors). */
    static boolean applies() {
        return FloatVector.SPECIES_PREFERRED.length() >= 16;
    }

    /** Packs rows {@code col0 .. col0 + cols} (cols &lt;= 32) of {@code b}, depth {@code k}, into {@code panel}. */
    static void pack(Tensor b, int col0, int cols, int k, float[] panel) {
        float[] rows = GemmRunner.scratch(3, 16 * CHUNK);
        for (int c0 = 0; c0 < PanelKernel.PANEL; c0 += 16) {
            for (int k0 = 0; k0 < k; k0 += CHUNK) {
                int kc = Math.min(CHUNK, k - k0);
                for (int r = 0; r < 16; r++) {
                    if (c0 + r < cols) {
                        GemmRunner.decodeRow(b, col0 + c0 + r, k0, kc, rows, r * CHUNK);
                    } else {
                        java.util.Arrays.fill(rows, r * CHUNK, r * CHUNK + kc, 0f);
                    }
                }
                int kk = 0;
                for (; kk + 16 <= kc; kk += 16) {
                    transpose(rows, kk, panel, (k0 + kk) * PanelKernel.PANEL + c0);
                }
                for (; kk < kc; kk++) {
                    for (int r = 0; r < 16; r++) {
                        panel[(k0 + kk) * PanelKernel.PANEL + c0 + r] = rows[r * CHUNK + kk];
                    }
                }
            }
        }
    }

    /** {@code out[at + i * 32 + r] = rows[r * CHUNK + from + i]} for a 16 x 16 block. */
    private static void transpose(float[] rows, int from, float[] out, int at) {
        FloatVector v0 = FloatVector.fromArray(F, rows, 0 + from);
        FloatVector v1 = FloatVector.fromArray(F, rows, 1 * CHUNK + from);
        FloatVector v2 = FloatVector.fromArray(F, rows, 2 * CHUNK + from);
        FloatVector v3 = FloatVector.fromArray(F, rows, 3 * CHUNK + from);
        FloatVector v4 = FloatVector.fromArray(F, rows, 4 * CHUNK + from);
        FloatVector v5 = FloatVector.fromArray(F, rows, 5 * CHUNK + from);
        FloatVector v6 = FloatVector.fromArray(F, rows, 6 * CHUNK + from);
        FloatVector v7 = FloatVector.fromArray(F, rows, 7 * CHUNK + from);
        FloatVector v8 = FloatVector.fromArray(F, rows, 8 * CHUNK + from);
        FloatVector v9 = FloatVector.fromArray(F, rows, 9 * CHUNK + from);
        FloatVector v10 = FloatVector.fromArray(F, rows, 10 * CHUNK + from);
        FloatVector v11 = FloatVector.fromArray(F, rows, 11 * CHUNK + from);
        FloatVector v12 = FloatVector.fromArray(F, rows, 12 * CHUNK + from);
        FloatVector v13 = FloatVector.fromArray(F, rows, 13 * CHUNK + from);
        FloatVector v14 = FloatVector.fromArray(F, rows, 14 * CHUNK + from);
        FloatVector v15 = FloatVector.fromArray(F, rows, 15 * CHUNK + from);
        FloatVector t;
        t = LO8.selectFrom(v0, v8);
        v8 = HI8.selectFrom(v0, v8);
        v0 = t;
        t = LO8.selectFrom(v1, v9);
        v9 = HI8.selectFrom(v1, v9);
        v1 = t;
        t = LO8.selectFrom(v2, v10);
        v10 = HI8.selectFrom(v2, v10);
        v2 = t;
        t = LO8.selectFrom(v3, v11);
        v11 = HI8.selectFrom(v3, v11);
        v3 = t;
        t = LO8.selectFrom(v4, v12);
        v12 = HI8.selectFrom(v4, v12);
        v4 = t;
        t = LO8.selectFrom(v5, v13);
        v13 = HI8.selectFrom(v5, v13);
        v5 = t;
        t = LO8.selectFrom(v6, v14);
        v14 = HI8.selectFrom(v6, v14);
        v6 = t;
        t = LO8.selectFrom(v7, v15);
        v15 = HI8.selectFrom(v7, v15);
        v7 = t;
        t = LO4.selectFrom(v0, v4);
        v4 = HI4.selectFrom(v0, v4);
        v0 = t;
        t = LO4.selectFrom(v1, v5);
        v5 = HI4.selectFrom(v1, v5);
        v1 = t;
        t = LO4.selectFrom(v2, v6);
        v6 = HI4.selectFrom(v2, v6);
        v2 = t;
        t = LO4.selectFrom(v3, v7);
        v7 = HI4.selectFrom(v3, v7);
        v3 = t;
        t = LO4.selectFrom(v8, v12);
        v12 = HI4.selectFrom(v8, v12);
        v8 = t;
        t = LO4.selectFrom(v9, v13);
        v13 = HI4.selectFrom(v9, v13);
        v9 = t;
        t = LO4.selectFrom(v10, v14);
        v14 = HI4.selectFrom(v10, v14);
        v10 = t;
        t = LO4.selectFrom(v11, v15);
        v15 = HI4.selectFrom(v11, v15);
        v11 = t;
        t = LO2.selectFrom(v0, v2);
        v2 = HI2.selectFrom(v0, v2);
        v0 = t;
        t = LO2.selectFrom(v1, v3);
        v3 = HI2.selectFrom(v1, v3);
        v1 = t;
        t = LO2.selectFrom(v4, v6);
        v6 = HI2.selectFrom(v4, v6);
        v4 = t;
        t = LO2.selectFrom(v5, v7);
        v7 = HI2.selectFrom(v5, v7);
        v5 = t;
        t = LO2.selectFrom(v8, v10);
        v10 = HI2.selectFrom(v8, v10);
        v8 = t;
        t = LO2.selectFrom(v9, v11);
        v11 = HI2.selectFrom(v9, v11);
        v9 = t;
        t = LO2.selectFrom(v12, v14);
        v14 = HI2.selectFrom(v12, v14);
        v12 = t;
        t = LO2.selectFrom(v13, v15);
        v15 = HI2.selectFrom(v13, v15);
        v13 = t;
        t = LO1.selectFrom(v0, v1);
        v1 = HI1.selectFrom(v0, v1);
        v0 = t;
        t = LO1.selectFrom(v2, v3);
        v3 = HI1.selectFrom(v2, v3);
        v2 = t;
        t = LO1.selectFrom(v4, v5);
        v5 = HI1.selectFrom(v4, v5);
        v4 = t;
        t = LO1.selectFrom(v6, v7);
        v7 = HI1.selectFrom(v6, v7);
        v6 = t;
        t = LO1.selectFrom(v8, v9);
        v9 = HI1.selectFrom(v8, v9);
        v8 = t;
        t = LO1.selectFrom(v10, v11);
        v11 = HI1.selectFrom(v10, v11);
        v10 = t;
        t = LO1.selectFrom(v12, v13);
        v13 = HI1.selectFrom(v12, v13);
        v12 = t;
        t = LO1.selectFrom(v14, v15);
        v15 = HI1.selectFrom(v14, v15);
        v14 = t;
        v0.intoArray(out, at + 0 * PanelKernel.PANEL);
        v1.intoArray(out, at + 1 * PanelKernel.PANEL);
        v2.intoArray(out, at + 2 * PanelKernel.PANEL);
        v3.intoArray(out, at + 3 * PanelKernel.PANEL);
        v4.intoArray(out, at + 4 * PanelKernel.PANEL);
        v5.intoArray(out, at + 5 * PanelKernel.PANEL);
        v6.intoArray(out, at + 6 * PanelKernel.PANEL);
        v7.intoArray(out, at + 7 * PanelKernel.PANEL);
        v8.intoArray(out, at + 8 * PanelKernel.PANEL);
        v9.intoArray(out, at + 9 * PanelKernel.PANEL);
        v10.intoArray(out, at + 10 * PanelKernel.PANEL);
        v11.intoArray(out, at + 11 * PanelKernel.PANEL);
        v12.intoArray(out, at + 12 * PanelKernel.PANEL);
        v13.intoArray(out, at + 13 * PanelKernel.PANEL);
        v14.intoArray(out, at + 14 * PanelKernel.PANEL);
        v15.intoArray(out, at + 15 * PanelKernel.PANEL);
    }

    private static FloatVector indices(int... lanes) {
        float[] f = new float[lanes.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = lanes[i];
        }
        return FloatVector.fromArray(F, f, 0);
    }
}
