package dev.flyer.bench;

import dev.flyer.bench.internal.OpenBlas;
import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.quant.Fp8Quantizer;
import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.gemm.Gemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * {@code flyer bench gemm}: FP8 GEMM GFLOP/s on DeepSeek-V3 shapes beside OpenBLAS
 * {@code cblas_sgemm} ({@code cblas_sgemv} at m = 1) on the same operands already dequantised to
 * FP32 (dequantisation not charged to the peer), against the machine's FMA peak; a second row per
 * shape gives the bytes each side must move (FP8 vs FP32 operands) per second against the STREAM
 * copy bandwidth.
 *
 * <p>Shapes from DeepGEMM's README and tests: dense m x (n, k) for the V3 projections, and the
 * grouped MoE layouts on the expert shapes. Row names carry {@code layout=... m=... n=... k=...}.
 */
public final class GemmBench {
    static final int[][] NK = {{2112, 7168}, {576, 7168}, {24576, 1536}, {32768, 512}, {7168, 16384}, {4096, 7168},
        {7168, 2048}};
    static final int[] M = {1, 4, 8, 16, 64, 128, 512};

    /** One shape: dense ({@code groups == 0}) or masked grouped with {@code groups} groups of {@code m} rows. */
    record Shape(String layout, int m, int n, int k, int groups) {
        String name() {
            return "layout=" + layout + " m=" + m + " n=" + n + " k=" + k + (groups > 0 ? " groups=" + groups : "");
        }
    }

    private GemmBench() {}

    /** Progress steps of {@link #run}. */
    public static int steps(boolean quick) {
        return shapes(quick).size() + 3;
    }

    public static List<Shape> shapes(boolean quick) {
        List<Shape> out = new ArrayList<>();
        if (quick) {
            for (int m : new int[] {1, 4, 16, 128}) {
                out.add(new Shape("dense", m, 2112, 7168, 0));
                out.add(new Shape("dense", m, 7168, 2048, 0));
            }
            out.add(new Shape("masked", 20, 7168, 2048, 6));
            return out;
        }
        for (int m : M) {
            for (int[] nk : NK) {
                out.add(new Shape("dense", m, nk[0], nk[1], 0));
            }
        }
        for (int[] nk : new int[][] {{4096, 7168}, {7168, 2048}}) {
            out.add(new Shape("masked", 20, nk[0], nk[1], 6));
            out.add(new Shape("masked", 192, nk[0], nk[1], 32));
        }
        return out;
    }

    public static BenchReport run(boolean quick, Progress progress) {
        MachineLimits limits = MachineBench.quickLimits();
        Optional<OpenBlas> blas = OpenBlas.load();
        blas.ifPresent(b -> b.setThreads(ComputePool.shared().threads()));
        BenchReport report = new BenchReport("flyer bench gemm (FP8 E4M3, 1x128 / 128x128 scales, FP32 out)");
        progress.step("warming up the kernels");
        warmUp(shapes(quick));
        double logRatio = 0;
        int ratios = 0;
        for (Shape s : shapes(quick)) {
            progress.step(s.name());
            double[] r = measure(s, blas, quick);
            report.add(new BenchRow(s.name(), "GFLOP/s", r[0], r[1], "OpenBLAS sgemm on FP32", limits.fmaGflopsAll()));
            double flops = 2.0 * s.m() * s.n() * s.k() * Math.max(1, s.groups());
            report.add(new BenchRow(s.name() + " memory", "GB/s", bytes(s, 1) * r[0] / flops, bytes(s, 4) * r[1] / flops,
                    "OpenBLAS (FP32 operands)", limits.copyGBsAll()));
            if (Double.isFinite(r[1])) {
                logRatio += Math.log(r[0] / r[1]);
                ratios++;
            }
            progress.done();
        }
        if (ratios > 0) {
            report.add(new BenchRow("geometric mean over " + ratios + " shapes", "ratio", Math.exp(logRatio / ratios), 1,
                    "OpenBLAS = 1", Double.NaN));
        }
        progress.step("BF16 GEMM vs oneDNN");
        bf16(report, quick);
        progress.step("run-time specialisation A/B");
        specialisation(report, quick);
        if (System.getenv("OPENBLAS_CORETYPE") != null) {
            report.note("OPENBLAS_CORETYPE=" + System.getenv("OPENBLAS_CORETYPE") + " pins OpenBLAS's kernels on this machine");
        }
        return report;
    }

    /**
     * The cold start of every V3 depth: specialised copies dropped, then the first m = 1 product of
     * each distinct k (copy made, its first, interpreted, call) and the second for comparison.
     */
    private static void coldStarts(BenchReport report, boolean quick) {
        int[] ks = quick ? new int[] {512} : java.util.Arrays.stream(NK).mapToInt(nk -> nk[1]).distinct().toArray();
        Gemm.clearSpecializedKernels();
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom random = new SplittableRandom(5);
            double total = 0;
            for (int k : ks) {
                QuantizedTensor a = Fp8Quantizer.perTokenGroup(randomTensor(arena, 1, k, random), 128, false, arena);
                QuantizedTensor b = Fp8Quantizer.perBlock(randomTensor(arena, 256, k, random), 128, false, arena);
                Tensor d = Tensor.allocate(arena, DType.F32, 1, 256);
                long t0 = System.nanoTime();
                Gemm.fp8Nt(a, b, d);
                double first = (System.nanoTime() - t0) / 1e6;
                t0 = System.nanoTime();
                Gemm.fp8Nt(a, b, d);
                double second = (System.nanoTime() - t0) / 1e6;
                total += first;
                report.add(new BenchRow("cold start, specialised k=" + k + " (first call; peer: second call)", "ms", first,
                        second, "same shape again", Double.NaN));
            }
            report.add(BenchRow.of("cold start, all " + ks.length + " depths", "ms", total));
        }
    }

    /** BF16 x BF16 -> F32 products beside oneDNN's matmul (when {@code libdnnl2} is installed). */
    private static void bf16(BenchReport report, boolean quick) {
        java.util.Optional<dev.flyer.bench.internal.OneDnn> dnnl = dev.flyer.bench.internal.OneDnn.load();
        int[][] shapes = quick ? new int[][] {{1, 2112, 7168}, {128, 2112, 7168}}
                : new int[][] {{1, 2112, 7168}, {16, 2112, 7168}, {128, 2112, 7168}, {128, 7168, 2048}, {512, 4096, 7168}};
        // the BF16 GEMV reaches C2 only after ~400 ms of calls (measured 27-36 GFLOP/s before, 62-85 after)
        long warm = quick ? 1_000_000_000L : 1_500_000_000L;
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom random = new SplittableRandom(11);
            for (int[] s : shapes) {
                Tensor a = bf16Tensor(arena, s[0], s[2], random);
                Tensor b = bf16Tensor(arena, s[1], s[2], random);
                Tensor d = Tensor.allocate(arena, DType.F32, s[0], s[1]);
                double flops = 2.0 * s[0] * s[1] * s[2];
                double ours = flops / Measure.bestSeconds(() -> Gemm.bf16Nt(a, b, d, null), warm, 5) / 1e9;
                double peer = dnnl.map(dn -> {
                    Runnable mm = dn.bf16Nt(s[0], s[1], s[2], a.data(), b.data(), arena.allocate((long) s[0] * s[1] * 4, 64));
                    return flops / Measure.bestSeconds(mm, warm, 5) / 1e9;
                }).orElse(Double.NaN);
                report.add(new BenchRow("layout=bf16 m=" + s[0] + " n=" + s[1] + " k=" + s[2], "GFLOP/s", ours, peer,
                        "oneDNN BF16 matmul", Double.NaN));
            }
        }
        if (dnnl.isEmpty()) {
            report.note("oneDNN (Debian libdnnl2) is not installed: BF16 rows have no peer");
        }
    }

    private static Tensor bf16Tensor(Arena arena, int rows, int cols, SplittableRandom random) {
        Tensor t = Tensor.allocate(arena, DType.BF16, rows, cols);
        MemorySegment seg = t.data();
        for (long i = 0; i < (long) rows * cols; i++) {
            seg.setAtIndex(ValueLayout.JAVA_SHORT, i, dev.flyer.core.numeric.Bf16.encode((float) (random.nextDouble() * 2 - 1)));
        }
        return t;
    }

    /**
     * DeepGEMM's JIT idea, measured: the few-row kernel specialised per k (hidden classes made with
     * the classfile API) against the generic kernel on decode shapes, and the cold start of each V3
     * depth (copy made, then its first call).
     */
    private static void specialisation(BenchReport report, boolean quick) {
        coldStarts(report, quick);
        int[][] shapes = quick ? new int[][] {{1, 2112, 7168}, {4, 7168, 2048}}
                : new int[][] {{1, 2112, 7168}, {4, 2112, 7168}, {1, 7168, 2048}, {4, 7168, 2048}, {8, 576, 7168}};
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom random = new SplittableRandom(7);
            for (int[] s : shapes) {
                QuantizedTensor a = Fp8Quantizer.perTokenGroup(randomTensor(arena, s[0], s[2], random), 128, false, arena);
                QuantizedTensor b = Fp8Quantizer.perBlock(randomTensor(arena, s[1], s[2], random), 128, false, arena);
                Tensor d = Tensor.allocate(arena, DType.F32, s[0], s[1]);
                double flops = 2.0 * s[0] * s[1] * s[2];
                Gemm.useSpecializedKernels(true);
                try {
                    Gemm.clearSpecializedKernels();
                    long t0 = System.nanoTime();
                    Gemm.fp8Nt(a, b, d);
                    double coldMs = (System.nanoTime() - t0) / 1e6;
                    // alternate A and B so a noisy neighbour hurts both alike; keep each one's best
                    double generic = 0;
                    double special = 0;
                    for (int round = 0; round < 3; round++) {
                        Gemm.useSpecializedKernels(false);
                        generic = Math.max(generic, flops / Measure.bestSeconds(() -> Gemm.fp8Nt(a, b, d), 150_000_000L, 5) / 1e9);
                        Gemm.useSpecializedKernels(true);
                        special = Math.max(special, flops / Measure.bestSeconds(() -> Gemm.fp8Nt(a, b, d), 150_000_000L, 5) / 1e9);
                    }
                    String shape = "m=" + s[0] + " n=" + s[1] + " k=" + s[2];
                    report.add(new BenchRow("specialised k, " + shape, "GFLOP/s", special, generic, "generic kernel",
                            Double.NaN));
                    report.add(BenchRow.of("specialised k, cold start (copy + first call), " + shape, "ms", coldMs));
                } finally {
                    Gemm.useSpecializedKernels(true);
                }
            }
        }
    }

    /**
     * Runs both kernels many times on small shapes so C2 compiles them through the invocation
     * counters before any timed shape (a few long calls would leave them in slower code).
     */
    private static void warmUp(List<Shape> shapes) {
        int[] depths = java.util.stream.IntStream.concat(java.util.stream.IntStream.of(512),
                shapes.stream().mapToInt(Shape::k)).distinct().toArray();
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom random = new SplittableRandom(1);
            // every depth a timed shape uses: its run-time specialised copy is compiled here, not timed
            for (int k : depths) {
                for (int m : new int[] {1, 4, 64}) {
                    QuantizedTensor a = Fp8Quantizer.perTokenGroup(randomTensor(arena, m, k, random), 128, false, arena);
                    QuantizedTensor b = Fp8Quantizer.perBlock(randomTensor(arena, 256, k, random), 128, false, arena);
                    Tensor d = Tensor.allocate(arena, DType.F32, m, 256);
                    for (int i = 0; i < (m > 8 ? 100 : 400); i++) {
                        Gemm.fp8Nt(a, b, d);
                    }
                }
            }
        }
    }

    /** Bytes one product moves at least: A and B at {@code operandBytes} each, scales, and the FP32 output. */
    static double bytes(Shape s, int operandBytes) {
        double groups = Math.max(1, s.groups());
        double scales = operandBytes == 1 ? 4.0 * (s.m() * Math.ceil(s.k() / 128.0)
                + Math.ceil(s.n() / 128.0) * Math.ceil(s.k() / 128.0)) : 0;
        return groups * ((double) operandBytes * ((double) s.m() * s.k() + (double) s.n() * s.k())
                + 4.0 * s.m() * s.n() + scales);
    }

    /** Our and the peer's GFLOP/s for one shape. */
    private static double[] measure(Shape s, Optional<OpenBlas> blas, boolean quick) {
        int groups = Math.max(1, s.groups());
        long warm = quick ? 200_000_000L : 500_000_000L;
        int samples = quick ? 3 : 5;
        double flops = 2.0 * s.m() * s.n() * s.k() * groups;
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom random = new SplittableRandom(s.hashCode());
            QuantizedTensor[] a = new QuantizedTensor[groups];
            QuantizedTensor[] b = new QuantizedTensor[groups];
            Tensor[] d = new Tensor[groups];
            for (int g = 0; g < groups; g++) {
                a[g] = Fp8Quantizer.perTokenGroup(randomTensor(arena, s.m(), s.k(), random), 128, false, arena);
                b[g] = Fp8Quantizer.perBlock(randomTensor(arena, s.n(), s.k(), random), 128, false, arena);
                d[g] = Tensor.allocate(arena, DType.F32, s.m(), s.n());
            }
            int[] masked = new int[groups];
            java.util.Arrays.fill(masked, s.m());
            Runnable ours = s.groups() == 0 ? () -> Gemm.fp8Nt(a[0], b[0], d[0]) : () -> Gemm.fp8GroupedMasked(a, b, d, masked);
            Runnable peer = blas.map(ob -> peer(ob, a, b, s, arena)).orElse(null);
            double[] seconds = Measure.bestSecondsAlternating(quick ? 2 : 3, warm, samples, ours, peer);
            return new double[] {flops / seconds[0] / 1e9, flops / seconds[1] / 1e9};
        }
    }

    private static Runnable peer(OpenBlas blas, QuantizedTensor[] a, QuantizedTensor[] b, Shape s, Arena arena) {
        int groups = a.length;
        MemorySegment[] af = new MemorySegment[groups];
        MemorySegment[] bf = new MemorySegment[groups];
        MemorySegment[] cf = new MemorySegment[groups];
        for (int g = 0; g < groups; g++) {
            af[g] = Fp8Quantizer.dequantize(a[g], arena).data();
            bf[g] = Fp8Quantizer.dequantize(b[g], arena).data();
            cf[g] = arena.allocate((long) s.m() * s.n() * 4, 64);
        }
        return () -> {
            for (int g = 0; g < groups; g++) {
                if (s.m() == 1) {
                    blas.sgemv(s.n(), s.k(), bf[g], af[g], cf[g]);
                } else {
                    blas.sgemm(s.m(), s.n(), s.k(), af[g], bf[g], true, cf[g]);
                }
            }
        };
    }

    private static Tensor randomTensor(Arena arena, int rows, int cols, SplittableRandom random) {
        Tensor t = Tensor.allocate(arena, DType.F32, rows, cols);
        MemorySegment seg = t.data();
        for (long i = 0; i < (long) rows * cols; i++) {
            seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (random.nextDouble() * 2 - 1));
        }
        return t;
    }
}
