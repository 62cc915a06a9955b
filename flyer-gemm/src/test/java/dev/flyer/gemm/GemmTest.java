package dev.flyer.gemm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.core.quant.Fp8Quantizer;
import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Differential tests against FP64 products, with DeepGEMM's diff metric. */
class GemmTest {
    private final Arena arena = Arena.ofShared();
    private final long seed = System.nanoTime();
    private final Random random = new Random(seed);

    GemmTest() {
        System.out.println("GemmTest seed=" + seed);
    }

    @AfterEach
    void close() {
        arena.close();
    }

    /** DeepGEMM's {@code calc_diff}: 1 - 2 sum(xy) / sum(x^2 + y^2) in FP64. */
    static double diff(double[] x, double[] y) {
        double xy = 0;
        double sq = 0;
        for (int i = 0; i < x.length; i++) {
            xy += x[i] * y[i];
            sq += x[i] * x[i] + y[i] * y[i];
        }
        return sq == 0 ? 0 : 1 - 2 * xy / sq;
    }

    Tensor gaussian(DType dtype, int rows, int cols) {
        Tensor t = Tensor.allocate(arena, dtype, rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t.setFloat((float) (random.nextGaussian() * (1 + r % 5)), r, c);
            }
        }
        return t;
    }

    /** FP64 {@code x[m,k] · y[n,k]ᵀ} of the values {@code get} returns. */
    static double[] reference(int m, int n, int k, Value a, Value b) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += a.get(i, p) * b.get(j, p);
                }
                out[i * n + j] = s;
            }
        }
        return out;
    }

    interface Value {
        double get(int row, int col);
    }

    static Value dequantized(QuantizedTensor q) {
        return (r, c) -> (double) q.values().getFloat(r, c) * q.scale(r, c);
    }

    static Value plain(Tensor t) {
        return (r, c) -> t.getFloat(r, c);
    }

    static double[] values(Tensor d) {
        double[] out = new double[(int) d.numel()];
        float[] f = d.toFloatArray();
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }

    @Test
    void fp8DenseMatchesBothReferencesOnAwkwardShapes() {
        int[][] shapes = {{1, 128, 128}, {3, 130, 256}, {17, 33, 384}, {64, 256, 1024}, {5, 7, 200}, {4, 32, 128},
            {8, 64, 2048}, {1, 40, 336}, {3, 24, 336}, {12, 40, 256}, {16, 24, 336}, {20, 41, 336}, {32, 129, 256},
            {33, 17, 128}, {47, 18, 256},
            {64, 40, 4224}};
        // the FP8-vs-unquantised diff is a statistic: judged over all shapes' outputs together, as
        // DeepGEMM judges it over large outputs (one 1x128 output alone can exceed it by chance)
        java.util.List<double[]> got = new java.util.ArrayList<>();
        java.util.List<double[]> exact = new java.util.ArrayList<>();
        for (int[] s : shapes) {
            int m = s[0];
            int n = s[1];
            int k = s[2];
            Tensor x = gaussian(DType.F32, m, k);
            Tensor w = gaussian(DType.F32, n, k);
            for (boolean ue8m0 : new boolean[] {false, true}) {
                QuantizedTensor a = Fp8Quantizer.perTokenGroup(x, 128, ue8m0, arena);
                QuantizedTensor b = Fp8Quantizer.perBlock(w, 128, ue8m0, arena);
                if (ue8m0) {
                    a = a.withUe8m0Scales(arena);
                    b = b.withUe8m0Scales(arena);
                }
                Tensor d = Tensor.allocate(arena, DType.F32, m, n);
                Gemm.fp8Nt(a, b, d);
                String shape = "m=" + m + " n=" + n + " k=" + k + " ue8m0=" + ue8m0;
                assertThat(diff(values(d), reference(m, n, k, dequantized(a), dequantized(b))))
                        .as("vs dequantised operands, " + shape).isLessThan(1e-6);
                got.add(values(d));
                exact.add(reference(m, n, k, plain(x), plain(w)));
            }
        }
        double[] all = got.stream().flatMapToDouble(java.util.Arrays::stream).toArray();
        double[] ref = exact.stream().flatMapToDouble(java.util.Arrays::stream).toArray();
        assertThat(diff(all, ref)).as("vs unquantised inputs, all shapes").isLessThan(1e-3);
    }

    @Test
    void accumulateModeAndBf16Output() {
        accumulateAndBf16(9, 40, 256);
        accumulateAndBf16(50, 40, 2304); // panels in two K chunks
    }

    private void accumulateAndBf16(int m, int n, int k) {
        Tensor x = gaussian(DType.F32, m, k);
        Tensor w = gaussian(DType.F32, n, k);
        QuantizedTensor a = Fp8Quantizer.perTokenGroup(x, 128, false, arena);
        QuantizedTensor b = Fp8Quantizer.perBlock(w, 128, false, arena);
        Tensor c = gaussian(DType.F32, m, n);
        Tensor d = Tensor.allocate(arena, DType.F32, m, n);
        Gemm.fp8Nt(a, b, d, c);
        double[] ref = reference(m, n, k, dequantized(a), dequantized(b));
        for (int i = 0; i < ref.length; i++) {
            ref[i] += c.getFloat(i / n, i % n);
        }
        assertThat(diff(values(d), ref)).isLessThan(1e-6);
        Tensor dBf16 = Tensor.allocate(arena, DType.BF16, m, n);
        Gemm.fp8Nt(a, b, dBf16);
        assertThat(diff(values(dBf16), reference(m, n, k, dequantized(a), dequantized(b)))).isLessThan(1e-4);
    }

    @Test
    void bf16AndWeightOnlyProducts() {
        int m = 6;
        int n = 50;
        int k = 320;
        Tensor x = gaussian(DType.BF16, m, k);
        Tensor w = gaussian(DType.BF16, n, k);
        Tensor d = Tensor.allocate(arena, DType.F32, m, n);
        Gemm.bf16Nt(x, w, d, null);
        assertThat(diff(values(d), reference(m, n, k, plain(x), plain(w)))).isLessThan(1e-5);
        Tensor xf = gaussian(DType.F32, m, k);
        QuantizedTensor b = Fp8Quantizer.perBlock(gaussian(DType.F32, n, k), 128, false, arena);
        Gemm.weightOnlyNt(xf, b, d);
        assertThat(diff(values(d), reference(m, n, k, plain(xf), dequantized(b)))).isLessThan(1e-6);
    }

    /** The few-row plain-weight kernel (BF16 and F32 B, 1..8 rows, with and without C) against FP64. */
    @Test
    void fewRowPlainWeightsMatchTheReference() {
        int n = 70;
        int k = 256;
        for (DType bType : new DType[] {DType.BF16, DType.F32}) {
            Tensor w = gaussian(bType, n, k);
            for (int m : new int[] {1, 2, 3, 4, 5, 8, 9}) {
                Tensor x = gaussian(DType.F32, m, k);
                Tensor d = Tensor.allocate(arena, DType.F32, m, n);
                Gemm.bf16Nt(x, w, d, null);
                double[] ref = reference(m, n, k, plain(x), plain(w));
                assertThat(diff(values(d), ref)).as("%s m=%d", bType, m).isLessThan(1e-6);
                Gemm.bf16Nt(x, w, d, d);
                double[] twice = ref.clone();
                for (int i = 0; i < twice.length; i++) {
                    twice[i] *= 2;
                }
                assertThat(diff(values(d), twice)).as("%s m=%d accumulate", bType, m).isLessThan(1e-6);
            }
        }
    }

    @Test
    void groupedContiguousWithPaddingAndEmptyGroups() {
        int n = 48;
        int k = 256;
        QuantizedTensor[] experts = new QuantizedTensor[3];
        for (int g = 0; g < 3; g++) {
            experts[g] = Fp8Quantizer.perBlock(gaussian(DType.F32, n, k), 128, false, arena);
        }
        int m = 3 * 128;
        int[] mIndices = new int[m];
        for (int i = 0; i < m; i++) {
            int block = i / 128;
            // block 0: expert 2, 100 rows + padding; block 1: all padding; block 2: expert 0; expert 1 empty
            mIndices[i] = block == 0 ? (i < 100 ? 2 : -1) : block == 1 ? -1 : 0;
        }
        QuantizedTensor a = Fp8Quantizer.perTokenGroup(gaussian(DType.F32, m, k), 128, false, arena);
        Tensor d = Tensor.allocate(arena, DType.F32, m, n);
        Gemm.fp8GroupedContiguous(a, experts, mIndices, d);
        for (int g : new int[] {0, 2}) {
            double[] got = new double[n];
            for (int i = 0; i < m; i++) {
                if (mIndices[i] != g) {
                    continue;
                }
                int row = i;
                double[] ref = reference(1, n, k, (r, c) -> dequantized(a).get(row, c), dequantized(experts[g]));
                for (int j = 0; j < n; j++) {
                    got[j] = d.getFloat(i, j);
                }
                assertThat(diff(got, ref)).as("row %d of expert %d", i, g).isLessThan(1e-6);
            }
        }
        for (int i = 0; i < m; i++) {
            if (mIndices[i] == -1) {
                for (int j = 0; j < n; j++) {
                    assertThat(d.getFloat(i, j)).as("padding row %d", i).isZero();
                }
            }
        }
    }

    @Test
    void groupedMaskedComputesOnlyValidRows() {
        int groups = 3;
        int mMax = 8;
        int n = 40;
        int k = 128;
        int[] maskedM = {8, 0, 3};
        QuantizedTensor[] a = new QuantizedTensor[groups];
        QuantizedTensor[] b = new QuantizedTensor[groups];
        Tensor[] d = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            a[g] = Fp8Quantizer.perTokenGroup(gaussian(DType.F32, mMax, k), 128, false, arena);
            b[g] = Fp8Quantizer.perBlock(gaussian(DType.F32, n, k), 128, false, arena);
            d[g] = Tensor.allocate(arena, DType.F32, mMax, n);
            for (int i = 0; i < mMax; i++) {
                for (int j = 0; j < n; j++) {
                    d[g].setFloat(Float.NaN, i, j);
                }
            }
        }
        Gemm.fp8GroupedMasked(a, b, d, maskedM);
        for (int g = 0; g < groups; g++) {
            for (int i = 0; i < mMax; i++) {
                if (i < maskedM[g]) {
                    int row = i;
                    QuantizedTensor ag = a[g];
                    double[] ref = reference(1, n, k, (r, c) -> dequantized(ag).get(row, c), dequantized(b[g]));
                    double[] got = new double[n];
                    for (int j = 0; j < n; j++) {
                        got[j] = d[g].getFloat(i, j);
                    }
                    assertThat(diff(got, ref)).isLessThan(1e-6);
                } else {
                    assertThat(d[g].getFloat(i, 0)).as("group %d row %d untouched", g, i).isNaN();
                }
            }
        }
    }

    QuantizedTensor quantizeKMajor(Tensor x) {
        QuantizedTensor q = new QuantizedTensor(Tensor.allocate(arena, DType.F8_E4M3, x.shape()),
                Tensor.allocate(arena, DType.F32, x.size(0) / 128, x.size(1)), 128, 1);
        Fp8Quantizer.quantize(x, q, false);
        return q;
    }

    @Test
    void kGroupedWeightGradientsIncludingAnEmptyGroup() {
        int m = 5;
        int n = 40;
        int[] kSizes = {128, 0, 256};
        QuantizedTensor a = quantizeKMajor(gaussian(DType.F32, 384, m));
        QuantizedTensor b = quantizeKMajor(gaussian(DType.F32, 384, n));
        Tensor[] d = new Tensor[3];
        Tensor[] c = new Tensor[3];
        for (int g = 0; g < 3; g++) {
            d[g] = Tensor.allocate(arena, DType.F32, m, n);
            c[g] = gaussian(DType.F32, m, n);
        }
        Gemm.fp8KGroupedTn(a, b, kSizes, d, c);
        int k0 = 0;
        for (int g = 0; g < 3; g++) {
            int from = k0;
            int len = kSizes[g];
            double[] ref = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = c[g].getFloat(i, j);
                    for (int kk = from; kk < from + len; kk++) {
                        s += dequantized(a).get(kk, i) * dequantized(b).get(kk, j);
                    }
                    ref[i * n + j] = s;
                }
            }
            assertThat(diff(values(d[g]), ref)).as("group %d", g).isLessThan(1e-6);
            k0 += len;
        }
        assertThatThrownBy(() -> Gemm.fp8KGroupedTn(a, b, new int[] {128, 200, 56}, d, null))
                .hasMessageContaining("k_sizes[1] = 200 is not a non-negative multiple of 128");
        assertThatThrownBy(() -> Gemm.fp8KGroupedTn(a, b, new int[] {128, 128, 0}, d, null))
                .hasMessageContaining("k_sizes add up to 256 but K_total = 384");
    }

    @Test
    void specialisedKernelsGiveTheGenericKernelsResultsBitForBit() {
        QuantizedTensor a = Fp8Quantizer.perTokenGroup(gaussian(DType.F32, 3, 384), 128, false, arena);
        QuantizedTensor b = Fp8Quantizer.perBlock(gaussian(DType.F32, 70, 384), 128, false, arena);
        Tensor generic = Tensor.allocate(arena, DType.F32, 3, 70);
        Tensor special = Tensor.allocate(arena, DType.F32, 3, 70);
        try {
            Gemm.useSpecializedKernels(false);
            Gemm.fp8Nt(a, b, generic);
            Gemm.useSpecializedKernels(true);
            Gemm.clearSpecializedKernels();
            Gemm.fp8Nt(a, b, special);
        } finally {
            Gemm.useSpecializedKernels(true);
        }
        assertThat(special.toFloatArray()).isEqualTo(generic.toFloatArray());
    }

    @Test
    void badInputIsRejectedWithTheArgumentNamed() {
        QuantizedTensor a = Fp8Quantizer.perTokenGroup(gaussian(DType.F32, 4, 256), 128, false, arena);
        QuantizedTensor b = Fp8Quantizer.perBlock(gaussian(DType.F32, 32, 256), 128, false, arena);
        QuantizedTensor bShort = Fp8Quantizer.perBlock(gaussian(DType.F32, 32, 128), 128, false, arena);
        assertThatThrownBy(() -> Gemm.fp8Nt(a, bShort, Tensor.allocate(arena, DType.F32, 4, 32)))
                .hasMessageContaining("A has k = 256 but B has k = 128");
        assertThatThrownBy(() -> Gemm.fp8Nt(a, b, Tensor.allocate(arena, DType.F32, 4, 31)))
                .hasMessageContaining("D must be [4, 32], got [4, 31]");
        assertThatThrownBy(() -> Gemm.fp8Nt(a, b, Tensor.allocate(arena, DType.I32, 4, 32)))
                .hasMessageContaining("D must be F32 or BF16");
        assertThatThrownBy(() -> Gemm.fp8Nt(b, b, Tensor.allocate(arena, DType.F32, 32, 32)))
                .hasMessageContaining("A needs 1x128 scale groups, got 128x128");
        QuantizedTensor a256 = Fp8Quantizer.perTokenGroup(gaussian(DType.F32, 256, 256), 128, false, arena);
        int[] misaligned = new int[256];
        java.util.Arrays.fill(misaligned, 0, 64, -1);
        assertThatThrownBy(() -> Gemm.fp8GroupedContiguous(a256, new QuantizedTensor[] {b}, misaligned,
                Tensor.allocate(arena, DType.F32, 256, 32))).hasMessageContaining("starts at row 64, not a multiple");
        int[] outOfRange = new int[256];
        outOfRange[5] = 3;
        assertThatThrownBy(() -> Gemm.fp8GroupedContiguous(a256, new QuantizedTensor[] {b}, outOfRange,
                Tensor.allocate(arena, DType.F32, 256, 32))).hasMessageContaining("m_indices[5] = 3 is outside [-1, 1)");
        assertThatThrownBy(() -> Gemm.fp8GroupedMasked(new QuantizedTensor[] {a}, new QuantizedTensor[] {b},
                new Tensor[] {Tensor.allocate(arena, DType.F32, 4, 32)}, new int[] {5}))
                .hasMessageContaining("masked_m[0] = 5 is outside [0, m_max = 4]");
        assertThatThrownBy(() -> Gemm.bf16Nt(Tensor.allocate(arena, DType.I8, 2, 2), Tensor.allocate(arena, DType.BF16, 2, 2),
                Tensor.allocate(arena, DType.F32, 2, 2), null)).hasMessageContaining("A must be a 2-D BF16 or F32 tensor");
    }
}
