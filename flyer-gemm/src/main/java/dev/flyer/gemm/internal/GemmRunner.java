package dev.flyer.gemm.internal;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.numeric.Fp8Format;
import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Runs one NT product {@code D[rows, n] = A[rows, k] · B[n, k]ᵀ} on the compute pool: A decoded
 * once to FP32 rows; for FP8 B and up to {@link SkinnyKernel#MAX_ROWS} rows, {@link SkinnyKernel}
 * (B decoded row by row, never packed); for plain B and few rows, {@link SkinnyPlainKernel}; else B
 * decoded panel by panel (32 columns, packed K-major) by the worker that owns the panel, and
 * {@link PanelKernel} tiles over all rows of each panel.
 *
 * <p>Implementation notes: operands are described by {@link Operand}s so FP8 (with per-group
 * scales), BF16 and FP32 share the one kernel; FP32/BF16 operands have scale 1. Scratch buffers
 * are per thread and grow to the largest call, so steady-state calls allocate no FP32 buffers.
 */
public final class GemmRunner {
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[11][0]);

    /**
     * K slices per panel chunk: 2048 deep, 256 KiB of FP32 panel. Measured against whole-K panels in
     * one process, alternating (best of 32 calls each): m = 512 n = 2112 k = 7168 190 -> 203 GFLOP/s,
     * m = 128 181 -> 189, m = 64 k = 16384 147 -> 150. Deeper products add their chunks' sums in
     * order (their last bits differ from one-piece sums).
     */
    static final int CHUNK_BLOCKS = 16;

    private GemmRunner() {}

    /** A matrix operand: values (FP8, BF16 or F32, row-contiguous) and, for FP8, scales. */
    public record Operand(Tensor values, QuantizedTensor quantized) {
        public static Operand of(QuantizedTensor q) {
            return new Operand(q.values(), q);
        }

        public static Operand plain(Tensor t) {
            return new Operand(t, null);
        }

        long rows() {
            return values.size(0);
        }

        long cols() {
            return values.size(1);
        }

        float scale(long row, long col) {
            return quantized == null ? 1f : quantized.scale(row, col);
        }
    }

    /** {@code out[rows, n]} (+)= {@code a[rowOffset .. rowOffset + rows] · bᵀ}. */
    public static void nt(Operand a, long rowOffset, int rows, Operand b, float[] out, boolean add) {
        int k = Math.toIntExact(a.cols());
        int n = Math.toIntExact(b.rows());
        int kBlocks = (k + PanelKernel.K_BLOCK - 1) / PanelKernel.K_BLOCK;
        float[] aRows = scratch(0, rows * k);
        float[] aScale = scratch(1, rows * kBlocks);
        decodeRows(a, rowOffset, rows, k, aRows, 0);
        QuantizedTensor aq = a.quantized();
        if (aq == null) {
            java.util.Arrays.fill(aScale, 0, rows * kBlocks, 1f);
        } else {
            float[] raw = scratch(7, Math.toIntExact(aq.scales().numel()));
            readScales(aq.scales(), raw);
            int cols = Math.toIntExact(aq.scales().size(1));
            for (int r = 0; r < rows; r++) {
                for (int kb = 0; kb < kBlocks; kb++) {
                    aScale[r * kBlocks + kb] = raw[(int) ((rowOffset + r) / aq.groupRows()) * cols
                            + kb * PanelKernel.K_BLOCK / aq.groupCols()];
                }
            }
        }
        Tensor bv = b.values();
        TilePlan plan = TilePlan.choose(rows, n, k, ComputePool.shared().threads());
        if (plan.skinny() && SkinnyKernel.applies(rows, k, bv.dtype() == DType.F8_E4M3) && bv.stride(1) == 1
                && b.quantized().groupRows() == PanelKernel.K_BLOCK && b.quantized().scales().size(1) == kBlocks) {
            float[] blockScales = scratch(3, Math.toIntExact(b.quantized().scales().numel()));
            readScales(b.quantized().scales(), blockScales);
            float[] quartered = aRows;
            if (SkinnyKernel.quarterOrder(rows)) {
                quartered = scratch(8, rows * k);
                SkinnyKernel.toQuarterOrder(aRows, rows, k, quartered);
            }
            if (Specializer.enabled()) {
                Specializer.run(quartered, rows, k, aScale, bv.segment(), bv.byteOffset(0, 0), bv.stride(0), blockScales, n,
                        out, add, plan.tileCols());
            } else {
                SkinnyKernel.run(quartered, rows, k, aScale, bv.segment(), bv.byteOffset(0, 0), bv.stride(0), blockScales,
                        n, out, add, plan.tileCols());
            }
            return;
        }
        if (b.quantized() == null && aq == null && bv.stride(1) == 1 && SkinnyPlainKernel.applies(rows, k, bv.dtype())) {
            SkinnyPlainKernel.run(aRows, rows, k, bv.segment(), bv.byteOffset(0, 0), bv.stride(0) * bv.dtype().byteSize(),
                    bv.dtype(), n, out, add);
            return;
        }
        int panels = (n + PanelKernel.PANEL - 1) / PanelKernel.PANEL;
        QuantizedTensor bq = b.quantized();
        float[] blockScales = bq == null ? null : scratch(6, Math.toIntExact(bq.scales().numel()));
        if (bq != null) {
            readScales(bq.scales(), blockScales);
        }
        int scaleCols = bq == null ? 0 : Math.toIntExact(bq.scales().size(1));
        ComputePool.shared().parallelFor(panels, (p, worker) -> {
            int col0 = p * PanelKernel.PANEL;
            int cols = Math.min(PanelKernel.PANEL, n - col0);
            float[] panel = scratch(2, k * PanelKernel.PANEL);
            float[] bScale = scratch(5, kBlocks * PanelKernel.PANEL);
            packPanel(b, col0, cols, k, panel);
            for (int kb = 0; kb < kBlocks; kb++) {
                for (int c = 0; c < PanelKernel.PANEL; c++) {
                    bScale[kb * PanelKernel.PANEL + c] = c >= cols ? 0f : bq == null ? 1f
                            : blockScales[(col0 + c) / bq.groupRows() * scaleCols + kb * PanelKernel.K_BLOCK / bq.groupCols()];
                }
            }
            // K in chunks whose slice of the panel stays in L2 while every row tile walks it; each
            // chunk's sums are added to out (one chunk: the sums of one piece, as before)
            int step = CHUNK_BLOCKS;
            int chunks = (kBlocks + step - 1) / step;
            for (int c = 0; c < chunks; c++) {
                int kb0 = c * step;
                int kb1 = Math.min(kBlocks, kb0 + step);
                boolean addChunk = add || c > 0;
                for (int r = 0; r < rows; r += PanelKernel.MR) {
                    PanelKernel.tile(aRows, r, Math.min(PanelKernel.MR, rows - r), k, aScale, kBlocks, panel, bScale, 0,
                            out, n, col0, cols, kb0, kb1, addChunk);
                }
            }
        });
    }

    /** All of a scale tensor ({@code [rows, cols]}, F32 or UE8M0 codes) as row-major floats. */
    static void readScales(Tensor scales, float[] dst) {
        int rows = Math.toIntExact(scales.size(0));
        int cols = Math.toIntExact(scales.size(1));
        if (scales.dtype() == DType.F32 && scales.isContiguous()) {
            MemorySegment.copy(scales.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, scales.offset() * 4, dst, 0, rows * cols);
            return;
        }
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                dst[i * cols + j] = scales.dtype() == DType.F32 ? scales.getFloat(i, j)
                        : dev.flyer.core.numeric.Ue8m0.decode((byte) scales.getLong(i, j));
            }
        }
    }

    private static void decodeRows(Operand a, long rowOffset, int rows, int k, float[] dst, int dstOffset) {
        Tensor v = a.values();
        for (int r = 0; r < rows; r++) {
            decodeRow(v, rowOffset + r, k, dst, dstOffset + r * k);
        }
    }

    /** Decodes row {@code row} of {@code v} into {@code dst[at .. at + k)}. */
    static void decodeRow(Tensor v, long row, int k, float[] dst, int at) {
        decodeRow(v, row, 0, k, dst, at);
    }

    /** Decodes depths {@code from .. from + count} of row {@code row} of {@code v} into {@code dst[at ..]}. */
    static void decodeRow(Tensor v, long row, int from, int count, float[] dst, int at) {
        if (v.stride(1) != 1) {
            throw new IllegalArgumentException("operand rows must be contiguous (stride 1 along k), got strides "
                    + java.util.Arrays.toString(v.strides()));
        }
        MemorySegment seg = v.segment();
        long base = v.byteOffset(row, from);
        switch (v.dtype()) {
            case F8_E4M3 -> Fp8Format.E4M3FN.decode(seg, base, dst, at, count);
            case F8_E5M2 -> Fp8Format.E5M2.decode(seg, base, dst, at, count);
            case BF16 -> Bf16.decode(seg, base, dst, at, count);
            case F32 -> MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT_UNALIGNED, base, dst, at, count);
            default -> throw new IllegalArgumentException("operand dtype must be F8_E4M3, F8_E5M2, BF16 or F32, got "
                    + v.dtype());
        }
    }

    private static void packPanel(Operand b, int col0, int cols, int k, float[] panel) {
        if (PanelPacker.applies()) {
            PanelPacker.pack(b.values(), col0, cols, k, panel);
            return;
        }
        float[] row = scratch(3, k);
        for (int c = 0; c < PanelKernel.PANEL; c++) {
            if (c < cols) {
                decodeRow(b.values(), col0 + c, k, row, 0);
                for (int kk = 0; kk < k; kk++) {
                    panel[kk * PanelKernel.PANEL + c] = row[kk];
                }
            } else {
                for (int kk = 0; kk < k; kk++) {
                    panel[kk * PanelKernel.PANEL + c] = 0f;
                }
            }
        }
    }

    /** This thread's output buffer (slot 4; the other slots serve {@link #nt}). */
    public static float[] outBuffer(int size) {
        return scratch(4, size);
    }

    /**
     * This thread's scratch buffer {@code slot}, at least {@code size} floats. Slots: 0 A rows, 1 A
     * scales, 2 panel, 3 B rows being packed (workers) or B block scales (skinny caller), 4 output,
     * 5 panel scales, 6 B block scales (panels), 7 raw A scales, 8 quarter-order A, 9 skinny decoded
     * B rows, 10 {@link PanelKernel}'s finished tile.
     */
    static float[] scratch(int slot, int size) {
        float[][] mine = SCRATCH.get();
        if (mine[slot].length < size) {
            mine[slot] = new float[size];
        }
        return mine[slot];
    }

    /** Writes {@code out[rows, n]} into rows {@code rowOffset..} of {@code d} (F32 or BF16). */
    public static void store(float[] out, int rows, int n, Tensor d, long rowOffset) {
        if (d.stride(1) != 1) {
            throw new IllegalArgumentException("D rows must be contiguous, got strides " + java.util.Arrays.toString(d.strides()));
        }
        for (int r = 0; r < rows; r++) {
            long at = d.byteOffset(rowOffset + r, 0);
            if (d.dtype() == DType.F32) {
                MemorySegment.copy(out, r * n, d.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, at, n);
            } else if (d.dtype() == DType.BF16) {
                Bf16.encode(out, r * n, d.segment(), at, n);
            } else {
                throw new IllegalArgumentException("D must be F32 or BF16, got " + d.dtype());
            }
        }
    }

    /** Reads rows of an F32 tensor into {@code out} (the accumulate input C). */
    public static void load(Tensor c, long rowOffset, int rows, int n, float[] out) {
        for (int r = 0; r < rows; r++) {
            decodeRow(c, rowOffset + r, n, out, r * n);
        }
    }
}
