package dev.flyer.gemm.internal;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-blocked micro-kernel: a tile of up to 6 rows by one 32-column panel, FP32
 * products over one 128-wide K slice at a time, each slice's partial sums promoted into the
 * accumulators multiplied by that slice's scale, as DeepGEMM's kernels promote their tensor-core
 * partials.
 *
 * <p>Implementation notes: the panel holds B's 32 columns decoded to FP32 and packed K-major
 * ({@code panel[k * 32 + c]}), so one K step loads two 16-lane vectors of B and broadcasts one A
 * value per row: 12 FMAs per step for 6 rows, 12 partial and 12 accumulator registers (4 rows
 * gave only 8 independent FMA chains, too few to cover the FMA latency with the per-slice
 * promotion around them). Each output's sum runs in the same order whatever the tile height. Scales are per row and
 * slice for A ({@code aScale[row * kBlocks + kb]}) and per slice and column for B
 * ({@code bScale[kb * 32 + c]}: equal across a 128-row weight block, distinct for per-row scales). Rows beyond {@code rows} and columns beyond {@code cols} are not
 * written.
 */
public final class PanelKernel {
    public static final int PANEL = 32;
    public static final int MR = 6;
    public static final int K_BLOCK = 128;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512.length() == 16
            && FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    private static final int L = F.length();

    private PanelKernel() {}

    /**
     * {@code out[(row0 + r) * ldOut + col0 + c] (+)= sum over k of a[row] * panel}, promoted per slice.
     *
     * @param a decoded A rows, {@code a[row * k + kk]}
     * @param aScale A scales, {@code aScale[row * kBlocks + kb]}
     * @param bScale the panel's B scales, {@code bScale[bScaleOffset + kb * 32 + c]}
     */
    public static void tile(float[] a, int row0, int rows, int k, float[] aScale, int kBlocks, float[] panel,
                            float[] bScale, int bScaleOffset, float[] out, int ldOut, int col0, int cols, boolean add) {
        tile(a, row0, rows, k, aScale, kBlocks, panel, bScale, bScaleOffset, out, ldOut, col0, cols, 0, kBlocks, add);
    }

    /** Slices {@code kb0 .. kb1} only (a product cut into K chunks adds each chunk's sums to {@code out}). */
    public static void tile(float[] a, int row0, int rows, int k, float[] aScale, int kBlocks, float[] panel,
                            float[] bScale, int bScaleOffset, float[] out, int ldOut, int col0, int cols, int kb0,
                            int kb1, boolean add) {
        if (L == 16) {
            tile16(a, row0, rows, k, aScale, kBlocks, panel, bScale, bScaleOffset, out, ldOut, col0, cols, kb0, kb1, add);
        } else {
            scalarTile(a, row0, rows, k, aScale, kBlocks, panel, bScale, bScaleOffset, out, ldOut, col0, cols, kb0, kb1,
                    add);
        }
    }

    private static void tile16(float[] a, int row0, int rows, int k, float[] aScale, int kBlocks, float[] panel,
                               float[] bScale, int bScaleOffset, float[] out, int ldOut, int col0, int cols, int kb0,
                               int kb1, boolean add) {
        FloatVector z = FloatVector.zero(F);
        FloatVector d00 = z, d01 = z; FloatVector d10 = z, d11 = z; FloatVector d20 = z, d21 = z; FloatVector d30 = z, d31 = z; FloatVector d40 = z, d41 = z; FloatVector d50 = z, d51 = z;
        int a0 = row0 * k;
        int s0 = row0 * kBlocks;
        int r1 = rows > 1 ? 1 : 0;
        int a1 = (row0 + r1) * k;
        int s1 = (row0 + r1) * kBlocks;
        int r2 = rows > 2 ? 2 : 0;
        int a2 = (row0 + r2) * k;
        int s2 = (row0 + r2) * kBlocks;
        int r3 = rows > 3 ? 3 : 0;
        int a3 = (row0 + r3) * k;
        int s3 = (row0 + r3) * kBlocks;
        int r4 = rows > 4 ? 4 : 0;
        int a4 = (row0 + r4) * k;
        int s4 = (row0 + r4) * kBlocks;
        int r5 = rows > 5 ? 5 : 0;
        int a5 = (row0 + r5) * k;
        int s5 = (row0 + r5) * kBlocks;
        for (int kb = kb0; kb < kb1; kb++) {
            FloatVector p00 = z, p01 = z; FloatVector p10 = z, p11 = z; FloatVector p20 = z, p21 = z; FloatVector p30 = z, p31 = z; FloatVector p40 = z, p41 = z; FloatVector p50 = z, p51 = z;
            int end = Math.min(k, (kb + 1) * K_BLOCK);
            for (int kk = kb * K_BLOCK; kk < end; kk++) {
                FloatVector b0 = FloatVector.fromArray(F, panel, kk * PANEL);
                FloatVector b1 = FloatVector.fromArray(F, panel, kk * PANEL + L);
                FloatVector x0 = FloatVector.broadcast(F, a[a0 + kk]);
                p00 = x0.fma(b0, p00);
                p01 = x0.fma(b1, p01);
                FloatVector x1 = FloatVector.broadcast(F, a[a1 + kk]);
                p10 = x1.fma(b0, p10);
                p11 = x1.fma(b1, p11);
                FloatVector x2 = FloatVector.broadcast(F, a[a2 + kk]);
                p20 = x2.fma(b0, p20);
                p21 = x2.fma(b1, p21);
                FloatVector x3 = FloatVector.broadcast(F, a[a3 + kk]);
                p30 = x3.fma(b0, p30);
                p31 = x3.fma(b1, p31);
                FloatVector x4 = FloatVector.broadcast(F, a[a4 + kk]);
                p40 = x4.fma(b0, p40);
                p41 = x4.fma(b1, p41);
                FloatVector x5 = FloatVector.broadcast(F, a[a5 + kk]);
                p50 = x5.fma(b0, p50);
                p51 = x5.fma(b1, p51);
            }
            FloatVector sb0 = FloatVector.fromArray(F, bScale, bScaleOffset + kb * PANEL);
            FloatVector sb1 = FloatVector.fromArray(F, bScale, bScaleOffset + kb * PANEL + L);
            float t0 = aScale[s0 + kb];
            d00 = p00.fma(sb0.mul(t0), d00);
            d01 = p01.fma(sb1.mul(t0), d01);
            float t1 = aScale[s1 + kb];
            d10 = p10.fma(sb0.mul(t1), d10);
            d11 = p11.fma(sb1.mul(t1), d11);
            float t2 = aScale[s2 + kb];
            d20 = p20.fma(sb0.mul(t2), d20);
            d21 = p21.fma(sb1.mul(t2), d21);
            float t3 = aScale[s3 + kb];
            d30 = p30.fma(sb0.mul(t3), d30);
            d31 = p31.fma(sb1.mul(t3), d31);
            float t4 = aScale[s4 + kb];
            d40 = p40.fma(sb0.mul(t4), d40);
            d41 = p41.fma(sb1.mul(t4), d41);
            float t5 = aScale[s5 + kb];
            d50 = p50.fma(sb0.mul(t5), d50);
            d51 = p51.fma(sb1.mul(t5), d51);
        }
        // the sums leave through a scratch tile and a plain copy: a vector passed to a helper that
        // C2 leaves out of line is boxed, and tile16 is big enough to hit its inlining cutoff
        float[] tile = GemmRunner.scratch(10, MR * PANEL);
        d00.intoArray(tile, 0);
        d01.intoArray(tile, L);
        d10.intoArray(tile, PANEL);
        d11.intoArray(tile, PANEL + L);
        d20.intoArray(tile, 2 * PANEL);
        d21.intoArray(tile, 2 * PANEL + L);
        d30.intoArray(tile, 3 * PANEL);
        d31.intoArray(tile, 3 * PANEL + L);
        d40.intoArray(tile, 4 * PANEL);
        d41.intoArray(tile, 4 * PANEL + L);
        d50.intoArray(tile, 5 * PANEL);
        d51.intoArray(tile, 5 * PANEL + L);
        copyOut(tile, rows, cols, out, row0 * ldOut + col0, ldOut, add);
    }

    /** Rows {@code 0 .. rows} and columns {@code 0 .. cols} of a finished tile into {@code out}. */
    private static void copyOut(float[] tile, int rows, int cols, float[] out, int at, int ldOut, boolean add) {
        for (int r = 0; r < rows; r++) {
            int o = at + r * ldOut;
            for (int c = 0; c < cols; c++) {
                out[o + c] = add ? out[o + c] + tile[r * PANEL + c] : tile[r * PANEL + c];
            }
        }
    }

    /** The same promotion order without vectors (machines whose vectors are narrower than 512 bits). */
    static void scalarTile(float[] a, int row0, int rows, int k, float[] aScale, int kBlocks, float[] panel,
                           float[] bScale, int bScaleOffset, float[] out, int ldOut, int col0, int cols, int kb0,
                           int kb1, boolean add) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float acc = 0;
                for (int kb = kb0; kb < kb1; kb++) {
                    float partial = 0;
                    for (int kk = kb * K_BLOCK; kk < Math.min(k, (kb + 1) * K_BLOCK); kk++) {
                        partial = Math.fma(a[(row0 + r) * k + kk], panel[kk * PANEL + c], partial);
                    }
                    acc = Math.fma(partial, bScale[bScaleOffset + kb * PANEL + c] * aScale[(row0 + r) * kBlocks + kb], acc);
                }
                int at = (row0 + r) * ldOut + col0 + c;
                out[at] = add ? out[at] + acc : acc;
            }
        }
    }
}
