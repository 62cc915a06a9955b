package dev.flyer.gemm;

import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.gemm.internal.GemmRunner;
import dev.flyer.gemm.internal.GemmRunner.Operand;
import java.util.Arrays;

/**
 * DeepGEMM's GEMMs on the CPU: FP8 E4M3 with fine-grained scales (1x128 per token for A, 128x128
 * per block for B), dense and the two MoE grouped layouts, plus BF16 and FP8-weight-only products.
 *
 * <p>Contract: every product is NT, {@code D[m, n] = A[m, k] · B[n, k]ᵀ} (plus {@code C} when
 * accumulating), FP32 accumulation; an FP8 product promotes each 128-wide K slice's partial sum
 * multiplied by that slice's A and B scales into the accumulator, as DeepGEMM's kernels do. D is
 * F32 or BF16 (rounded to nearest even). Shapes, dtypes, group indices and segment alignment are
 * checked first; violations are {@link IllegalArgumentException}s naming the argument and both
 * values, and nothing is written.
 *
 * <p>Implementation notes: follows the semantics of deepseek-ai/DeepGEMM
 * {@code deep_gemm/__init__.py} ({@code fp8_gemm_nt}, {@code m_grouped_fp8_gemm_nt_contiguous},
 * {@code fp8_m_grouped_gemm_nt_masked}); the kernel is {@link dev.flyer.gemm.internal.PanelKernel}.
 * Padding rows of the contiguous layout ({@code m_indices = -1}) are written as zeros.
 */
public final class Gemm {
    /** Rows of an expert's segment in the contiguous layout start at multiples of this. */
    public static final int ALIGNMENT = 128;

    private Gemm() {}

    /**
     * Switches the few-row FP8 kernel between copies specialised per depth k at run time
     * (classfile-generated hidden classes, DeepGEMM's JIT idea; the default) and the generic copy;
     * for A/B measurements, see {@code flyer bench gemm}.
     */
    public static void useSpecializedKernels(boolean on) {
        dev.flyer.gemm.internal.Specializer.setEnabled(on);
    }

    /** Drops the specialised copies made so far, so the next call of each shape pays its cold start again. */
    public static void clearSpecializedKernels() {
        dev.flyer.gemm.internal.Specializer.clear();
    }

    /** FP8 dense NT: {@code D = A · Bᵀ}. */
    public static void fp8Nt(QuantizedTensor a, QuantizedTensor b, Tensor d) {
        fp8Nt(a, b, d, null);
    }

    /** FP8 dense NT with accumulation: {@code D = A · Bᵀ + C} ({@code c} may be {@code d} itself or null). */
    public static void fp8Nt(QuantizedTensor a, QuantizedTensor b, Tensor d, Tensor c) {
        checkFp8(a, "A", 1);
        checkFp8(b, "B", 128);
        dense(Operand.of(a), Operand.of(b), d, c);
    }

    /** BF16 (or F32) dense NT: {@code D = A · Bᵀ (+ C)}. */
    public static void bf16Nt(Tensor a, Tensor b, Tensor d, Tensor c) {
        checkPlain(a, "A");
        checkPlain(b, "B");
        dense(Operand.plain(a), Operand.plain(b), d, c);
    }

    /** FP8 weights with unquantised activations (model.py's default path): {@code D = A · dequant(B)ᵀ}. */
    public static void weightOnlyNt(Tensor a, QuantizedTensor b, Tensor d) {
        checkPlain(a, "A");
        checkFp8(b, "B", 128);
        dense(Operand.plain(a), Operand.of(b), d, null);
    }

    /**
     * M-grouped contiguous: row {@code i} of A belongs to expert {@code mIndices[i]} ({@code -1}:
     * padding, written as zeros); {@code b[g]} is expert {@code g}'s weight.
     */
    public static void fp8GroupedContiguous(QuantizedTensor a, QuantizedTensor[] b, int[] mIndices, Tensor d) {
        checkFp8(a, "A", 1);
        for (int g = 0; g < b.length; g++) {
            checkFp8(b[g], "B[" + g + "]", 128);
        }
        long m = a.values().size(0);
        if (mIndices.length != m) {
            throw new IllegalArgumentException("m_indices has " + mIndices.length + " entries but A has " + m + " rows");
        }
        checkOutput(d, m, b.length == 0 ? 0 : b[0].values().size(0));
        int start = 0;
        while (start < m) {
            int g = mIndices[start];
            if (g < -1 || g >= b.length) {
                throw new IllegalArgumentException("m_indices[" + start + "] = " + g + " is outside [-1, " + b.length + ")");
            }
            int end = start;
            while (end < m && mIndices[end] == g) {
                end++;
            }
            if (g >= 0 && start % ALIGNMENT != 0) {
                throw new IllegalArgumentException("group " + g + "'s segment starts at row " + start
                        + ", not a multiple of the alignment " + ALIGNMENT);
            }
            start = end;
        }
        for (start = 0; start < m;) {
            int g = mIndices[start];
            int end = start;
            while (end < m && mIndices[end] == g) {
                end++;
            }
            int rows = end - start;
            int n = Math.toIntExact(d.size(1));
            float[] out = GemmRunner.outBuffer(rows * n);
            if (g < 0) {
                Arrays.fill(out, 0, rows * n, 0f);
            } else {
                checkK(a, b[g], "B[" + g + "]");
                GemmRunner.nt(Operand.of(a), start, rows, Operand.of(b[g]), out, false);
            }
            GemmRunner.store(out, rows, n, d, start);
            start = end;
        }
    }

    /**
     * M-grouped masked: group {@code g} computes the first {@code maskedM[g]} rows of
     * {@code a[g]} ({@code [m_max, k]}) against {@code b[g]} into {@code d[g]} ({@code [m_max, n]});
     * rows beyond {@code maskedM[g]} are not touched.
     */
    public static void fp8GroupedMasked(QuantizedTensor[] a, QuantizedTensor[] b, Tensor[] d, int[] maskedM) {
        if (a.length != b.length || a.length != d.length || a.length != maskedM.length) {
            throw new IllegalArgumentException("groups differ: A " + a.length + ", B " + b.length + ", D " + d.length
                    + ", masked_m " + maskedM.length);
        }
        for (int g = 0; g < a.length; g++) {
            checkFp8(a[g], "A[" + g + "]", 1);
            checkFp8(b[g], "B[" + g + "]", 128);
            checkK(a[g], b[g], "B[" + g + "]");
            long mMax = a[g].values().size(0);
            checkOutput(d[g], mMax, b[g].values().size(0));
            if (maskedM[g] < 0 || maskedM[g] > mMax) {
                throw new IllegalArgumentException("masked_m[" + g + "] = " + maskedM[g] + " is outside [0, m_max = " + mMax + "]");
            }
        }
        for (int g = 0; g < a.length; g++) {
            if (maskedM[g] > 0) {
                int n = Math.toIntExact(d[g].size(1));
                float[] out = GemmRunner.outBuffer(maskedM[g] * n);
                GemmRunner.nt(Operand.of(a[g]), 0, maskedM[g], Operand.of(b[g]), out, false);
                GemmRunner.store(out, maskedM[g], n, d[g], 0);
            }
        }
    }

    /**
     * K-grouped TN (weight gradients): for each group {@code g}, {@code D[g] = A_gᵀ · B_g (+ C[g])}
     * where {@code A_g} and {@code B_g} are the group's {@code kSizes[g]} consecutive rows of
     * {@code a [K_total, m]} and {@code b [K_total, n]}; both carry one scale per 128 rows of K and
     * per column ({@code 128x1} groups). Each group's K must be a multiple of 128 (0 is an empty
     * group: {@code D[g] = C[g]} or zeros).
     *
     * <p>Each group's operands are transposed into the NT layout (a copy per call; this is the
     * training path, not the decode path) and run through the same kernel.
     */
    public static void fp8KGroupedTn(QuantizedTensor a, QuantizedTensor b, int[] kSizes, Tensor[] d, Tensor[] c) {
        for (var q : new QuantizedTensor[] {a, b}) {
            if (q.values().dtype() != DType.F8_E4M3 || q.groupRows() != 128 || q.groupCols() != 1) {
                throw new IllegalArgumentException((q == a ? "A" : "B") + " must be F8_E4M3 with 128x1 scale groups, got "
                        + q.values().dtype() + " with " + q.groupRows() + "x" + q.groupCols());
            }
        }
        long kTotal = a.values().size(0);
        if (b.values().size(0) != kTotal) {
            throw new IllegalArgumentException("A has K_total = " + kTotal + " but B has " + b.values().size(0));
        }
        if (d.length != kSizes.length || (c != null && c.length != kSizes.length)) {
            throw new IllegalArgumentException(kSizes.length + " groups but " + d.length + " outputs");
        }
        long sum = 0;
        for (int g = 0; g < kSizes.length; g++) {
            if (kSizes[g] < 0 || kSizes[g] % 128 != 0) {
                throw new IllegalArgumentException("k_sizes[" + g + "] = " + kSizes[g] + " is not a non-negative multiple of 128");
            }
            sum += kSizes[g];
            checkOutput(d[g], a.values().size(1), b.values().size(1));
        }
        if (sum != kTotal) {
            throw new IllegalArgumentException("k_sizes add up to " + sum + " but K_total = " + kTotal);
        }
        int m = Math.toIntExact(a.values().size(1));
        int n = Math.toIntExact(b.values().size(1));
        long k0 = 0;
        for (int g = 0; g < kSizes.length; g++) {
            float[] out = GemmRunner.outBuffer(m * n);
            if (c != null && c[g] != null) {
                checkOutput(c[g], m, n);
                GemmRunner.load(c[g], 0, m, n, out);
            } else {
                Arrays.fill(out, 0, m * n, 0f);
            }
            if (kSizes[g] > 0 && m > 0 && n > 0) {
                try (java.lang.foreign.Arena scratch = java.lang.foreign.Arena.ofShared()) {
                    QuantizedTensor at = KGrouped.transpose(a, k0, kSizes[g], scratch);
                    QuantizedTensor bt = KGrouped.transpose(b, k0, kSizes[g], scratch);
                    GemmRunner.nt(Operand.of(at), 0, m, Operand.of(bt), out, true);
                }
            }
            GemmRunner.store(out, m, n, d[g], 0);
            k0 += kSizes[g];
        }
    }

    private static void dense(Operand a, Operand b, Tensor d, Tensor c) {
        long m = a.values().size(0);
        long n = b.values().size(0);
        if (a.values().size(1) != b.values().size(1)) {
            throw new IllegalArgumentException("A has k = " + a.values().size(1) + " but B has k = " + b.values().size(1));
        }
        checkOutput(d, m, n);
        if (c != null) {
            checkOutput(c, m, n);
            if (c.dtype() != DType.F32 && c.dtype() != DType.BF16) {
                throw new IllegalArgumentException("C must be F32 or BF16, got " + c.dtype());
            }
        }
        int rows = Math.toIntExact(m);
        int cols = Math.toIntExact(n);
        float[] out = GemmRunner.outBuffer(rows * cols);
        if (c != null) {
            GemmRunner.load(c, 0, rows, cols, out);
        }
        if (rows > 0 && cols > 0) {
            GemmRunner.nt(a, 0, rows, b, out, c != null);
        }
        GemmRunner.store(out, rows, cols, d, 0);
    }

    private static void checkFp8(QuantizedTensor q, String name, int groupRows) {
        if (q.values().dtype() != DType.F8_E4M3) {
            throw new IllegalArgumentException(name + " must be F8_E4M3, got " + q.values().dtype());
        }
        if (q.groupRows() != groupRows || q.groupCols() != 128) {
            throw new IllegalArgumentException(name + " needs " + groupRows + "x128 scale groups, got " + q.groupRows()
                    + "x" + q.groupCols());
        }
    }

    private static void checkK(QuantizedTensor a, QuantizedTensor b, String name) {
        if (a.values().size(1) != b.values().size(1)) {
            throw new IllegalArgumentException("A has k = " + a.values().size(1) + " but " + name + " has k = "
                    + b.values().size(1));
        }
    }

    private static void checkPlain(Tensor t, String name) {
        if (t.rank() != 2 || (t.dtype() != DType.BF16 && t.dtype() != DType.F32)) {
            throw new IllegalArgumentException(name + " must be a 2-D BF16 or F32 tensor, got " + t.dtype()
                    + Arrays.toString(t.shape()));
        }
    }

    private static void checkOutput(Tensor d, long m, long n) {
        if (d.rank() != 2 || d.size(0) != m || d.size(1) != n) {
            throw new IllegalArgumentException("D must be [" + m + ", " + n + "], got " + Arrays.toString(d.shape()));
        }
        if (d.dtype() != DType.F32 && d.dtype() != DType.BF16) {
            throw new IllegalArgumentException("D must be F32 or BF16, got " + d.dtype());
        }
    }
}
