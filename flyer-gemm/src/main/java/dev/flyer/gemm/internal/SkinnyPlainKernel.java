package dev.flyer.gemm.internal;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Few-row products with a BF16 or FP32 weight ({@code m <= 8}: decode steps), where packing B
 * into FP32 panels would read and write every weight twice: each weight row streams once from
 * its mapped memory, is widened in registers, and meets up to four activation rows.
 *
 * <p>Implementation notes: vectors along k; BF16 is widened by a 16-bit left shift of the
 * zero-extended lanes (exact). Four accumulators (one per activation row; a single row alternates
 * two so the FMA latency is hidden, and is paired with a row half a tile away so two weight
 * streams are read at once). Columns are split into tiles of at least 64 on the compute pool,
 * widened as {@link TilePlan#widened} says: the head of V2-Lite (n = 102400, k = 2048, m = 1) on
 * two threads streamed 44-49 GB/s in 64-column tiles, 52-53 in 512 or 4096 and 60-62 at
 * 16 tiles per thread (3200 columns).
 * The scalar reference is {@link GemmRunner}'s panel path, which the tests compare against.
 */
public final class SkinnyPlainKernel {
    /** Rows up to which this kernel is used. */
    public static final int MAX_ROWS = 8;
    private static final int COLS_PER_TILE = 64;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    private SkinnyPlainKernel() {}

    public static boolean applies(int rows, int k, DType b) {
        return rows <= MAX_ROWS && (b == DType.BF16 || b == DType.F32) && k % L == 0;
    }

    /** {@code out[r * n + j] (+)= sum_kk a[r * k + kk] * B[j, kk]}, B row {@code j} at byte {@code bBase + j * bStrideBytes}. */
    public static void run(float[] a, int rows, int k, MemorySegment b, long bBase, long bStrideBytes, DType type, int n,
                           float[] out, boolean add) {
        boolean bf16 = type == DType.BF16;
        int cols = TilePlan.widened(n, COLS_PER_TILE, ComputePool.shared().threads());
        int tiles = (n + cols - 1) / cols;
        ComputePool.shared().parallelFor(tiles, (t, w) -> {
            int first = t * cols;
            int end = Math.min(n, first + cols);
            if (rows == 1) {
                int half = (end - first + 1) / 2;
                for (int j = first; j < first + half; j++) {
                    int j2 = j + half;
                    if (j2 < end) {
                        two(a, k, b, bBase + j * bStrideBytes, bBase + j2 * bStrideBytes, bf16, out, j, j2, add);
                    } else {
                        float s = single(a, k, b, bBase + j * bStrideBytes, bf16);
                        out[j] = add ? out[j] + s : s;
                    }
                }
                return;
            }
            for (int j = first; j < end; j++) {
                long row = bBase + j * bStrideBytes;
                for (int r0 = 0; r0 < rows; r0 += 4) {
                    column(a, r0, Math.min(4, rows - r0), k, b, row, bf16, j, n, out, add);
                }
            }
        });
    }

    private static FloatVector load(MemorySegment b, long offset, int i, boolean bf16) {
        if (bf16) {
            return Bf16.load(b, offset + 2L * i);
        }
        return FloatVector.fromMemorySegment(F, b, offset + 4L * i, ORDER);
    }

    private static float single(float[] a, int k, MemorySegment b, long row, boolean bf16) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= k; i += 2 * L) {
            s0 = FloatVector.fromArray(F, a, i).fma(load(b, row, i, bf16), s0);
            s1 = FloatVector.fromArray(F, a, i + L).fma(load(b, row, i + L, bf16), s1);
        }
        for (; i < k; i += L) {
            s0 = FloatVector.fromArray(F, a, i).fma(load(b, row, i, bf16), s0);
        }
        return s0.add(s1).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Rows {@code row} and {@code row2} (half a tile apart) against one A row, each exactly as
     * {@link #single} sums it: two independent weight streams in flight per core instead of one
     * (a lone stream leaves the core waiting on DRAM; 43 -> 50 GB/s on the V2-Lite head GEMV).
     */
    private static void two(float[] a, int k, MemorySegment b, long row, long row2, boolean bf16, float[] out, int j,
                            int j2, boolean add) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector t0 = FloatVector.zero(F);
        FloatVector t1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= k; i += 2 * L) {
            FloatVector x0 = FloatVector.fromArray(F, a, i);
            FloatVector x1 = FloatVector.fromArray(F, a, i + L);
            s0 = x0.fma(load(b, row, i, bf16), s0);
            t0 = x0.fma(load(b, row2, i, bf16), t0);
            s1 = x1.fma(load(b, row, i + L, bf16), s1);
            t1 = x1.fma(load(b, row2, i + L, bf16), t1);
        }
        for (; i < k; i += L) {
            FloatVector x0 = FloatVector.fromArray(F, a, i);
            s0 = x0.fma(load(b, row, i, bf16), s0);
            t0 = x0.fma(load(b, row2, i, bf16), t0);
        }
        float s = s0.add(s1).reduceLanes(VectorOperators.ADD);
        float t = t0.add(t1).reduceLanes(VectorOperators.ADD);
        out[j] = add ? out[j] + s : s;
        out[j2] = add ? out[j2] + t : t;
    }

    private static void column(float[] a, int r0, int rows, int k, MemorySegment b, long row, boolean bf16, int j, int n,
                               float[] out, boolean add) {
        int o0 = r0 * k;
        int o1 = (r0 + (rows > 1 ? 1 : 0)) * k;
        int o2 = (r0 + (rows > 2 ? 2 : 0)) * k;
        int o3 = (r0 + (rows > 3 ? 3 : 0)) * k;
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        FloatVector c3 = c0;
        for (int i = 0; i < k; i += L) {
            FloatVector v = load(b, row, i, bf16);
            c0 = FloatVector.fromArray(F, a, o0 + i).fma(v, c0);
            c1 = FloatVector.fromArray(F, a, o1 + i).fma(v, c1);
            c2 = FloatVector.fromArray(F, a, o2 + i).fma(v, c2);
            c3 = FloatVector.fromArray(F, a, o3 + i).fma(v, c3);
        }
        put(out, r0 * n + j, c0.reduceLanes(VectorOperators.ADD), add);
        if (rows > 1) {
            put(out, (r0 + 1) * n + j, c1.reduceLanes(VectorOperators.ADD), add);
        }
        if (rows > 2) {
            put(out, (r0 + 2) * n + j, c2.reduceLanes(VectorOperators.ADD), add);
        }
        if (rows > 3) {
            put(out, (r0 + 3) * n + j, c3.reduceLanes(VectorOperators.ADD), add);
        }
    }

    /** Takes the reduced sum: a vector passed to a call C2 leaves out of line is boxed (seen in SkinnyKernel). */
    private static void put(float[] out, int at, float s, boolean add) {
        out[at] = add ? out[at] + s : s;
    }
}
