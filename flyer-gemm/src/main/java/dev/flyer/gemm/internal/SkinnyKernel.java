package dev.flyer.gemm.internal;

import dev.flyer.core.exec.ComputePool;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernel for few rows (decode and small MoE groups, m &lt;= {@link #MAX_ROWS}): no FP32 panels.
 * One row streams B straight from its FP8 codes; more rows decode two B rows at a time into a
 * worker's scratch (2k floats, L1/L2) and run four A rows against both (eight FMA chains, each A
 * load used twice), so a weight is decoded once per call however many rows use it.
 *
 * <p>Measured on the 2-core Zen 5 machine (GFLOP/s, probe over 50 calls, best): m = 16 went from
 * 64-68 (four-row passes decoding B each time) to 94-126; {@link TilePlan} decides when panels
 * take over (when A no longer fits L2).
 *
 * <p>Implementation notes: the float whose bits are {@code (code & 0x7F) << 20 | (code & 0x80) << 24}
 * is the E4M3 value times 2^-120 (subnormals included), and the 2^120 is folded into B's block
 * scale. For one row, 64 codes load as one vector of 16 ints, with no widening shuffle: byte {@code q}
 * of every int is "quarter" {@code q}, brought to the top by {@code << (24 - 8q)}, spread by an
 * arithmetic {@code >> 4} and masked with {@code 0x87F00000} (three in-lane ops per 16 weights).
 * Quarter {@code q} holds weights {@code 4i + q} of the 64, so A's row is permuted to match once per
 * call ({@link #toQuarterOrder}). That is for m = 1 only ({@link #quarterOrder}): the order of the
 * terms changes the FP32 sums in their last bits, and with activation quantisation a last bit can
 * flip an FP8 code at a tie (the tiny-V3 FP8 golden test has one in an m = 3 product), so more rows
 * keep the sequential order of the 16-code widening decode (every output is one FMA chain per K
 * slice, walked in K order, whichever loop nest runs it). Depths past the last whole 64 use the
 * widening decode too. Each 128-wide K slice's partial sums are promoted into the accumulators
 * times {@code sA * sB}, as in {@link PanelKernel}; lanes are reduced once per output at the end.
 * Needs k to be a multiple of 16 and 512-bit vectors; {@link #applies} says when.
 */
public final class SkinnyKernel {
    public static final int MAX_ROWS = 48;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_128;
    private static final float TWO_POW_120 = 0x1p120f;
    /** Sign and the seven magnitude bits of a code moved to float bits 31 and 26..20. */
    private static final int QUARTER_MASK = 0x87F00000;

    private SkinnyKernel() {}

    /**
     * The depth as the kernel sees it: the identity here; {@link Specializer} rewrites every call of
     * it into the constant of one shape, so C2 compiles that copy with constant loop bounds.
     */
    static int kOf(int k) {
        return k;
    }

    /**
     * Copies {@code rows} rows of depth {@code k} from {@code a} to {@code out} with every whole group
     * of 64 in quarter order ({@code out[g + 16q + i] = a[g + 4i + q]}); a partial last group is copied as is.
     */
    public static void toQuarterOrder(float[] a, int rows, int k, float[] out) {
        for (int r = 0; r < rows; r++) {
            int base = r * k;
            int g = 0;
            for (; g + 64 <= k; g += 64) {
                for (int q = 0; q < 4; q++) {
                    for (int i = 0; i < 16; i++) {
                        out[base + g + 16 * q + i] = a[base + g + 4 * i + q];
                    }
                }
            }
            System.arraycopy(a, base + g, out, base + g, k - g);
        }
    }

    /** Whether {@link #run} expects A's rows in quarter order ({@link #toQuarterOrder}): one row. */
    public static boolean quarterOrder(int rows) {
        return rows == 1;
    }

    /** Whether this kernel handles an FP8-B product of {@code rows} rows and depth {@code k}. */
    public static boolean applies(int rows, int k, boolean bIsE4m3) {
        return bIsE4m3 && rows <= MAX_ROWS && k % 16 == 0 && FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    }

    /**
     * {@code out[r * n + j] (+)= sum_k a[r * k + kk] * B[j, kk]} promoted per slice, for B's codes
     * in {@code b} (row {@code j} at byte {@code bBase + j * bStride}) and B's 128x128 block scales
     * {@code bScale[(j / 128) * kBlocks + kb]}, in tiles of {@code tileCols} columns ({@link TilePlan}).
     */
    public static void run(float[] a, int rows, int k, float[] aScale, java.lang.foreign.MemorySegment b, long bBase,
                           long bStride, float[] bScale, int n, float[] out, boolean add, int tileCols) {
        int tiles = (n + tileCols - 1) / tileCols;
        // one task per kernel, so that each compiles with its own profile (one shared task inlined
        // both kernels and ran out of C2's inlining budget in a process that used both)
        if (quarterOrder(rows)) {
            ComputePool.shared().parallelFor(tiles, (t, w) -> singleTile(a, k, aScale, b, bBase, bStride, bScale, n,
                    out, add, t * tileCols, tileCols));
        } else {
            ComputePool.shared().parallelFor(tiles, (t, w) -> pairTile(a, rows, k, aScale, b, bBase, bStride, bScale,
                    n, out, add, t * tileCols, tileCols));
        }
    }

    private static void singleTile(float[] a, int k, float[] aScale, java.lang.foreign.MemorySegment b, long bBase,
                                   long bStride, float[] bScale, int n, float[] out, boolean add, int first,
                                   int cols) {
        int end = Math.min(n, first + cols);
        for (int j = first; j < end; j++) {
            single(a, k, aScale, b, bBase + j * bStride, bScale, j, out, add);
        }
    }

    /** The columns of one tile two at a time (an odd last column is paired with itself). */
    private static void pairTile(float[] a, int rows, int k, float[] aScale, java.lang.foreign.MemorySegment b,
                                 long bBase, long bStride, float[] bScale, int n, float[] out, boolean add, int first,
                                 int cols) {
        int end = Math.min(n, first + cols);
        float[] decoded = GemmRunner.scratch(9, 2 * k);
        for (int j = first; j < end; j += 2) {
            int j1 = Math.min(j + 1, end - 1);
            decodeRow(b, bBase + j * bStride, k, decoded, 0);
            decodeRow(b, bBase + j1 * bStride, k, decoded, k);
            for (int r0 = 0; r0 < rows; r0 += 4) {
                columnPair(a, r0, Math.min(4, rows - r0), k, aScale, decoded, bScale, j, j1, n, out, add);
            }
        }
    }

    /** B's row at {@code rowBase} decoded to floats times 2^-120 into {@code dst[at .. at + k)}. */
    private static void decodeRow(java.lang.foreign.MemorySegment b, long rowBase, int k, float[] dst, int at) {
        k = kOf(k);
        for (int kk = 0; kk < k; kk += 16) {
            IntVector codes = ((IntVector) ByteVector.fromMemorySegment(B8, b, rowBase + kk, java.nio.ByteOrder.LITTLE_ENDIAN)
                    .castShape(I, 0)).and(0xFF);
            codes.and(0x7F).lanewise(VectorOperators.LSHL, 20).or(codes.and(0x80).lanewise(VectorOperators.LSHL, 24))
                    .reinterpretAsFloats().intoArray(dst, at + kk);
        }
    }

    /**
     * Rows {@code r0 ..} (up to four; missing ones repeat a row) against two decoded B rows
     * ({@code bRows[0 .. k)} is column {@code j}, {@code bRows[k .. 2k)} column {@code j1}, which may
     * be {@code j} again): eight FMA chains, each A load used twice. Every output is one chain per K
     * slice walked in K order, so the sums do not depend on how rows and columns are grouped.
     */
    private static void columnPair(float[] a, int r0, int rows, int k, float[] aScale, float[] bRows, float[] bScale,
                                   int j, int j1, int n, float[] out, boolean add) {
        k = kOf(k);
        int kBlocks = (k + PanelKernel.K_BLOCK - 1) / PanelKernel.K_BLOCK;
        FloatVector z = FloatVector.zero(F);
        FloatVector acc0 = z, acc1 = z, acc2 = z, acc3 = z, acc4 = z, acc5 = z, acc6 = z, acc7 = z;
        int o1 = rows > 1 ? 1 : 0;
        int o2 = rows > 2 ? 2 : 0;
        int o3 = rows > 3 ? 3 : 0;
        int a0 = r0 * k, a1 = (r0 + o1) * k, a2 = (r0 + o2) * k, a3 = (r0 + o3) * k;
        for (int kb = 0; kb < kBlocks; kb++) {
            FloatVector p0 = z, p1 = z, p2 = z, p3 = z, p4 = z, p5 = z, p6 = z, p7 = z;
            int end = Math.min(k, (kb + 1) * PanelKernel.K_BLOCK);
            for (int kk = kb * PanelKernel.K_BLOCK; kk < end; kk += 16) {
                FloatVector b0 = FloatVector.fromArray(F, bRows, kk);
                FloatVector b1 = FloatVector.fromArray(F, bRows, k + kk);
                FloatVector x0 = FloatVector.fromArray(F, a, a0 + kk);
                FloatVector x1 = FloatVector.fromArray(F, a, a1 + kk);
                FloatVector x2 = FloatVector.fromArray(F, a, a2 + kk);
                FloatVector x3 = FloatVector.fromArray(F, a, a3 + kk);
                p0 = x0.fma(b0, p0);
                p1 = x1.fma(b0, p1);
                p2 = x2.fma(b0, p2);
                p3 = x3.fma(b0, p3);
                p4 = x0.fma(b1, p4);
                p5 = x1.fma(b1, p5);
                p6 = x2.fma(b1, p6);
                p7 = x3.fma(b1, p7);
            }
            float s0 = bScale[(j / PanelKernel.K_BLOCK) * kBlocks + kb] * TWO_POW_120;
            float s1 = bScale[(j1 / PanelKernel.K_BLOCK) * kBlocks + kb] * TWO_POW_120;
            float q0 = aScale[r0 * kBlocks + kb];
            float q1 = aScale[(r0 + o1) * kBlocks + kb];
            float q2 = aScale[(r0 + o2) * kBlocks + kb];
            float q3 = aScale[(r0 + o3) * kBlocks + kb];
            acc0 = p0.fma(FloatVector.broadcast(F, q0 * s0), acc0);
            acc1 = p1.fma(FloatVector.broadcast(F, q1 * s0), acc1);
            acc2 = p2.fma(FloatVector.broadcast(F, q2 * s0), acc2);
            acc3 = p3.fma(FloatVector.broadcast(F, q3 * s0), acc3);
            acc4 = p4.fma(FloatVector.broadcast(F, q0 * s1), acc4);
            acc5 = p5.fma(FloatVector.broadcast(F, q1 * s1), acc5);
            acc6 = p6.fma(FloatVector.broadcast(F, q2 * s1), acc6);
            acc7 = p7.fma(FloatVector.broadcast(F, q3 * s1), acc7);
        }
        put4(out, r0 * n + j, n, rows, acc0.reduceLanes(VectorOperators.ADD), acc1.reduceLanes(VectorOperators.ADD), acc2.reduceLanes(VectorOperators.ADD), acc3.reduceLanes(VectorOperators.ADD), add);
        if (j1 != j) {
            put4(out, r0 * n + j1, n, rows, acc4.reduceLanes(VectorOperators.ADD), acc5.reduceLanes(VectorOperators.ADD), acc6.reduceLanes(VectorOperators.ADD), acc7.reduceLanes(VectorOperators.ADD), add);
        }
    }

    /** The first {@code rows} of four results into {@code out[at]}, {@code out[at + n]}, ... */
    private static void put4(float[] out, int at, int n, int rows, float r0, float r1, float r2, float r3,
                             boolean add) {
        put(out, at, r0, add);
        if (rows > 1) {
            put(out, at + n, r1, add);
        }
        if (rows > 2) {
            put(out, at + 2 * n, r2, add);
        }
        if (rows > 3) {
            put(out, at + 3 * n, r3, add);
        }
    }

    /** One A row (m = 1): four independent chains per slice, one load per 64 weights. */
    private static void single(float[] a, int k, float[] aScale, java.lang.foreign.MemorySegment b,
                               long rowBase, float[] bScale, int j, float[] out, boolean add) {
        k = kOf(k);
        int kBlocks = (k + PanelKernel.K_BLOCK - 1) / PanelKernel.K_BLOCK;
        FloatVector z = FloatVector.zero(F);
        FloatVector acc = z;
        for (int kb = 0; kb < kBlocks; kb++) {
            FloatVector p0 = z;
            FloatVector p1 = z;
            int kk = kb * PanelKernel.K_BLOCK;
            int end = Math.min(k, (kb + 1) * PanelKernel.K_BLOCK);
            FloatVector p2 = z;
            FloatVector p3 = z;
            for (int limit = end - 63; kk < limit; kk += 64) { // the counted-loop form C2 removes range checks from
                IntVector codes = IntVector.fromMemorySegment(I, b, rowBase + kk, java.nio.ByteOrder.LITTLE_ENDIAN);
                IntVector q0 = codes.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4);
                IntVector q1 = codes.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4);
                IntVector q2 = codes.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4);
                IntVector q3 = codes.lanewise(VectorOperators.ASHR, 4);
                p0 = FloatVector.fromArray(F, a, kk).fma(q0.and(QUARTER_MASK).reinterpretAsFloats(), p0);
                p1 = FloatVector.fromArray(F, a, kk + 16).fma(q1.and(QUARTER_MASK).reinterpretAsFloats(), p1);
                p2 = FloatVector.fromArray(F, a, kk + 32).fma(q2.and(QUARTER_MASK).reinterpretAsFloats(), p2);
                p3 = FloatVector.fromArray(F, a, kk + 48).fma(q3.and(QUARTER_MASK).reinterpretAsFloats(), p3);
            }
            for (; kk < end; kk += 16) {
                p0 = FloatVector.fromArray(F, a, kk).fma(decode(b, rowBase + kk), p0);
            }
            float s = aScale[kb] * bScale[(j / PanelKernel.K_BLOCK) * kBlocks + kb] * TWO_POW_120;
            acc = p0.add(p1).add(p2.add(p3)).fma(FloatVector.broadcast(F, s), acc);
        }
        put(out, j, acc.reduceLanes(VectorOperators.ADD), add);
    }

    /** 16 E4M3 codes at {@code at} as floats times 2^-120. */
    private static FloatVector decode(java.lang.foreign.MemorySegment b, long at) {
        IntVector codes = ((IntVector) ByteVector.fromMemorySegment(B8, b, at, java.nio.ByteOrder.LITTLE_ENDIAN)
                .castShape(I, 0)).and(0xFF);
        return codes.and(0x7F).lanewise(VectorOperators.LSHL, 20)
                .or(codes.and(0x80).lanewise(VectorOperators.LSHL, 24)).reinterpretAsFloats();
    }

    // vectors never cross a call that C2 may leave out of line (it did, for want of profile, and
    // boxed them: a third of the speed); kernels reduce their sums and decode in line,
    // helpers take floats
    private static void put(float[] out, int at, float v, boolean add) {
        out[at] = add ? out[at] + v : v;
    }
}
