package dev.flyer.gemm.internal;

import dev.flyer.core.exec.ComputePool;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernel for few rows (decode, m &lt;= {@link #MAX_ROWS}): B is streamed once per group of
 * four A rows straight from its FP8 codes, with no packing, so the product runs at the speed of
 * reading one byte per weight. Up to 16 rows: at m = 16 four passes over a B row that stays in L1
 * beat packing FP32 panels (74 against 58-61 GFLOP/s on the V3 shapes); eight rows per pass was
 * slower (eight A rows of k = 2048 no longer fit L1).
 *
 * <p>Implementation notes: the float whose bits are {@code (code & 0x7F) << 20 | (code & 0x80) << 24}
 * is the E4M3 value times 2^-120 (subnormals included), and the 2^120 is folded into B's block
 * scale. 64 codes load as one vector of 16 ints, with no widening shuffle: byte {@code q} of every
 * int is "quarter" {@code q}, brought to the top by {@code << (24 - 8q)}, spread by an arithmetic
 * {@code >> 4} and masked with {@code 0x87F00000} (three in-lane ops per 16 weights). Quarter
 * {@code q} holds weights {@code 4i + q} of the 64, so A's row is permuted to match once per call
 * ({@link #toQuarterOrder}). That is for m = 1 only ({@link #quarterOrder}): the order of the terms
 * changes the FP32 sums in their last bits, and with activation quantisation a last bit can flip an
 * FP8 code at a tie (the tiny-V3 FP8 golden test has one in an m = 3 product), so 2-16 rows keep
 * the 16-code widening decode and its summation order. Depths past the last whole 64 use the widening decode too. Each
 * 128-wide K slice's partial sums are promoted into the accumulators times {@code sA * sB}, as in
 * {@link PanelKernel}; lanes are reduced once per output at the end. Needs k to be a multiple of 16
 * and 512-bit vectors; {@link #applies} says when.
 */
public final class SkinnyKernel {
    public static final int MAX_ROWS = 16;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_128;
    private static final float TWO_POW_120 = 0x1p120f;
    private static final int COLS_PER_TILE = 16;

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
     * {@code bScale[(j / 128) * kBlocks + kb]}.
     */
    public static void run(float[] a, int rows, int k, float[] aScale, java.lang.foreign.MemorySegment b, long bBase,
                           long bStride, float[] bScale, int n, float[] out, boolean add) {
        int kBlocks = (k + PanelKernel.K_BLOCK - 1) / PanelKernel.K_BLOCK;
        int tiles = (n + COLS_PER_TILE - 1) / COLS_PER_TILE;
        ComputePool.shared().parallelFor(tiles, (t, w) -> {
            int first = t * COLS_PER_TILE;
            int end = Math.min(n, first + COLS_PER_TILE);
            if (quarterOrder(rows)) {
                for (int j = first; j < end; j++) {
                    single(a, k, kBlocks, aScale, b, bBase + j * bStride, bScale, j, out, add);
                }
                return;
            }
            for (int j = first; j < end; j++) {
                for (int r0 = 0; r0 < rows; r0 += 4) {
                    column(a, r0, Math.min(4, rows - r0), k, kBlocks, aScale, b, bBase + j * bStride, bScale, j, n,
                            out, add);
                }
            }
        });
    }

    private static void column(float[] a, int r0, int rows, int k, int kBlocks, float[] aScale,
                               java.lang.foreign.MemorySegment b, long rowBase, float[] bScale, int j, int n,
                               float[] out, boolean add) {
        k = kOf(k);
        kBlocks = (k + PanelKernel.K_BLOCK - 1) / PanelKernel.K_BLOCK;
        FloatVector z = FloatVector.zero(F);
        FloatVector acc0 = z, acc1 = z, acc2 = z, acc3 = z;
        int o1 = rows > 1 ? 1 : 0;
        int o2 = rows > 2 ? 2 : 0;
        int o3 = rows > 3 ? 3 : 0;
        for (int kb = 0; kb < kBlocks; kb++) {
            FloatVector p0 = z, p1 = z, p2 = z, p3 = z;
            int end = Math.min(k, (kb + 1) * PanelKernel.K_BLOCK);
            for (int kk = kb * PanelKernel.K_BLOCK; kk < end; kk += 16) {
                FloatVector bv = decode(b, rowBase + kk);
                p0 = FloatVector.fromArray(F, a, (r0) * k + kk).fma(bv, p0);
                p1 = FloatVector.fromArray(F, a, (r0 + o1) * k + kk).fma(bv, p1);
                p2 = FloatVector.fromArray(F, a, (r0 + o2) * k + kk).fma(bv, p2);
                p3 = FloatVector.fromArray(F, a, (r0 + o3) * k + kk).fma(bv, p3);
            }
            float sb = bScale[(j / PanelKernel.K_BLOCK) * kBlocks + kb] * TWO_POW_120;
            acc0 = p0.fma(FloatVector.broadcast(F, aScale[r0 * kBlocks + kb] * sb), acc0);
            acc1 = p1.fma(FloatVector.broadcast(F, aScale[(r0 + o1) * kBlocks + kb] * sb), acc1);
            acc2 = p2.fma(FloatVector.broadcast(F, aScale[(r0 + o2) * kBlocks + kb] * sb), acc2);
            acc3 = p3.fma(FloatVector.broadcast(F, aScale[(r0 + o3) * kBlocks + kb] * sb), acc3);
        }
        put(out, r0 * n + j, acc0, add);
        if (rows > 1) {
            put(out, (r0 + 1) * n + j, acc1, add);
        }
        if (rows > 2) {
            put(out, (r0 + 2) * n + j, acc2, add);
        }
        if (rows > 3) {
            put(out, (r0 + 3) * n + j, acc3, add);
        }
    }

    /** One A row (m = 1): four independent chains per slice, one load per 64 weights. */
    private static void single(float[] a, int k, int kBlocks, float[] aScale, java.lang.foreign.MemorySegment b,
                               long rowBase, float[] bScale, int j, float[] out, boolean add) {
        k = kOf(k);
        kBlocks = (k + PanelKernel.K_BLOCK - 1) / PanelKernel.K_BLOCK;
        FloatVector z = FloatVector.zero(F);
        FloatVector acc = z;
        for (int kb = 0; kb < kBlocks; kb++) {
            FloatVector p0 = z;
            FloatVector p1 = z;
            int kk = kb * PanelKernel.K_BLOCK;
            int end = Math.min(k, (kb + 1) * PanelKernel.K_BLOCK);
            FloatVector p2 = z;
            FloatVector p3 = z;
            for (; kk + 64 <= end; kk += 64) {
                IntVector codes = IntVector.fromMemorySegment(I, b, rowBase + kk, java.nio.ByteOrder.LITTLE_ENDIAN);
                p0 = FloatVector.fromArray(F, a, kk).fma(quarter(codes, 0), p0);
                p1 = FloatVector.fromArray(F, a, kk + 16).fma(quarter(codes, 1), p1);
                p2 = FloatVector.fromArray(F, a, kk + 32).fma(quarter(codes, 2), p2);
                p3 = FloatVector.fromArray(F, a, kk + 48).fma(quarter(codes, 3), p3);
            }
            for (; kk < end; kk += 16) {
                p0 = FloatVector.fromArray(F, a, kk).fma(decode(b, rowBase + kk), p0);
            }
            float s = aScale[kb] * bScale[(j / PanelKernel.K_BLOCK) * kBlocks + kb] * TWO_POW_120;
            acc = p0.add(p1).add(p2.add(p3)).fma(FloatVector.broadcast(F, s), acc);
        }
        put(out, j, acc, add);
    }

    /** Quarter {@code q} of 64 codes held as 16 ints (codes {@code 4i + q}) as floats times 2^-120. */
    private static FloatVector quarter(IntVector codes, int q) {
        IntVector top = q == 3 ? codes : codes.lanewise(VectorOperators.LSHL, 24 - 8 * q);
        return top.lanewise(VectorOperators.ASHR, 4).and(0x87F00000).reinterpretAsFloats();
    }

    /** 16 E4M3 codes at {@code at} as floats times 2^-120. */
    private static FloatVector decode(java.lang.foreign.MemorySegment b, long at) {
        IntVector codes = ((IntVector) ByteVector.fromMemorySegment(B8, b, at, java.nio.ByteOrder.LITTLE_ENDIAN)
                .castShape(I, 0)).and(0xFF);
        return codes.and(0x7F).lanewise(VectorOperators.LSHL, 20)
                .or(codes.and(0x80).lanewise(VectorOperators.LSHL, 24)).reinterpretAsFloats();
    }

    private static void put(float[] out, int at, FloatVector acc, boolean add) {
        float v = acc.reduceLanes(VectorOperators.ADD);
        out[at] = add ? out[at] + v : v;
    }
}
