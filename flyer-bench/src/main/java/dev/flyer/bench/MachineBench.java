package dev.flyer.bench;

import dev.flyer.bench.internal.Kernels;
import dev.flyer.bench.internal.NativePeers;
import dev.flyer.bench.internal.OpenBlas;
import dev.flyer.core.exec.ComputePool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.util.Random;

/**
 * {@code flyer bench machine}: this machine's yardsticks, each Java figure beside its C peer.
 *
 * <p>Rows: STREAM copy and triad (1 thread and all threads; bandwidth counts bytes read plus
 * bytes written, as STREAM does; peers libc {@code memcpy} and a C triad loop), FP32 FMA peak
 * (12 independent vector FMA chains; peer the same loop in C), and, when OpenBLAS is installed,
 * {@code cblas_sgemm} GFLOP/s at n = 1024 and 4096 against the FMA peak. The bandwidth limit is
 * the best all-threads bandwidth any implementation reached; the FMA limit is the best FMA peak.
 */
public final class MachineBench {
    /** Run parameters: bytes per STREAM array, FMA iterations, sgemm sizes, samples. */
    public record Options(long arrayBytes, long fmaIterations, int[] gemmSizes, long warmupNs, int samples) {
        public static Options defaults() {
            return new Options(256L << 20, 20_000_000L, new int[] {1024, 4096}, 300_000_000L, 10);
        }

        /** A short configuration for tests and {@code flyer demo}. */
        public static Options quick() {
            return new Options(16L << 20, 2_000_000L, new int[] {256}, 50_000_000L, 3);
        }
    }

    private MachineBench() {}

    public static BenchReport run(Options o, Progress progress) {
        BenchReport report = new BenchReport("flyer bench machine (" + ComputePool.shared().threads() + " threads)");
        Optional<NativePeers> c = NativePeers.load();
        Optional<OpenBlas> blas = OpenBlas.load();
        int threads = ComputePool.shared().threads();
        long n = o.arrayBytes() / 4;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = arena.allocate(n * 4, 64);
            MemorySegment b = arena.allocate(n * 4, 64);
            MemorySegment cc = arena.allocate(n * 4, 64);
            for (long i = 0; i < n; i++) {
                b.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, 1.0f);
                cc.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, 2.0f);
            }
            double copyBytes = 2.0 * n * 4;
            double triadBytes = 3.0 * n * 4;
            double[] java = new double[4];
            double[] peer = new double[4];
            for (int t = 0; t < 2; t++) {
                int workers = t == 0 ? 1 : threads;
                String label = t == 0 ? "1 thread" : "all threads";
                progress.step("STREAM copy, " + label);
                java[t] = copyBytes / time(o, workers, n, (from, count) -> Kernels.copy(a, b, from, count)) / 1e9;
                peer[t] = copyBytes / time(o, workers, n, (from, count) ->
                        NativePeers.memcpy(a.asSlice(from * 4, count * 4), b.asSlice(from * 4, count * 4), count * 4)) / 1e9;
                progress.done();
                progress.step("STREAM triad, " + label);
                java[2 + t] = triadBytes / time(o, workers, n, (from, count) -> Kernels.triad(a, b, cc, 3f, from, count)) / 1e9;
                peer[2 + t] = c.map(p -> triadBytes / time(o, workers, n, (from, count) -> p.triad(
                        a.asSlice(from * 4, count * 4), b.asSlice(from * 4, count * 4), cc.asSlice(from * 4, count * 4),
                        3f, count)) / 1e9).orElse(Double.NaN);
                progress.done();
            }
            double bandwidth = max(java[1], peer[1], java[3], peer[3]);
            report.add(new BenchRow("STREAM copy, 1 thread", "GB/s", java[0], peer[0], "libc memcpy", bandwidth));
            report.add(new BenchRow("STREAM copy, all threads", "GB/s", java[1], peer[1], "libc memcpy", bandwidth));
            report.add(new BenchRow("STREAM triad, 1 thread", "GB/s", java[2], peer[2], "C -O3 -march=native", bandwidth));
            report.add(new BenchRow("STREAM triad, all threads", "GB/s", java[3], peer[3], "C -O3 -march=native", bandwidth));
        }
        double[] fma = new double[4];
        for (int t = 0; t < 2; t++) {
            int workers = t == 0 ? 1 : threads;
            progress.step("FMA peak, " + (t == 0 ? "1 thread" : "all threads"));
            double flops = 2.0 * o.fmaIterations() * workers;
            fma[t] = flops * Kernels.FMAS_PER_ITERATION / fmaSeconds(o, workers, () -> sink(Kernels.fmaPeak(o.fmaIterations()))) / 1e9;
            fma[2 + t] = c.map(p -> flops * NativePeers.FMAS_PER_ITERATION
                    / fmaSeconds(o, workers, () -> sink(p.fmaPeak(o.fmaIterations()))) / 1e9).orElse(Double.NaN);
            progress.done();
        }
        double fmaLimit = max(fma[1], fma[3]);
        report.add(new BenchRow("FP32 FMA peak, 1 thread", "GFLOP/s", fma[0], fma[2], "C -O3 -march=native", fmaLimit));
        report.add(new BenchRow("FP32 FMA peak, all threads", "GFLOP/s", fma[1], fma[3], "C -O3 -march=native", fmaLimit));
        String coreType = System.getenv("OPENBLAS_CORETYPE");
        if (blas.isPresent() && coreType != null) {
            report.note("OPENBLAS_CORETYPE=" + coreType + " pins OpenBLAS to that CPU's kernels; unset it and "
                    + "OPENBLAS_L2_SIZE for this command alone to measure the kernels it picks itself");
        }
        blas.ifPresent(ob -> {
            for (int size : o.gemmSizes()) {
                progress.step("OpenBLAS sgemm n=" + size);
                report.add(new BenchRow("yardstick: OpenBLAS cblas_sgemm n=" + size + ", all threads", "GFLOP/s",
                        sgemmGflops(ob, size, threads, o), Double.NaN, "", fmaLimit));
                progress.done();
            }
        });
        return report;
    }

    /** Quick bandwidth and FMA figures for other benches' limit columns. */
    public static MachineLimits quickLimits() {
        // 256 MiB arrays: well past any L3 here (32 MiB), so the copy figure is DRAM's, not the cache's
        BenchReport r = run(new Options(256L << 20, 5_000_000L, new int[0], 100_000_000L, 5), Progress.quiet());
        return new MachineLimits(Math.max(r.rows().get(0).ours(), r.rows().get(0).peer()),
                r.rows().get(0).limit(), r.rows().get(4).limit(), r.rows().get(5).limit());
    }

    /** Steps of {@link #run}: for progress bars. */
    public static int steps(Options o) {
        return 4 + 2 + (OpenBlas.load().isPresent() ? o.gemmSizes().length : 0);
    }

    private static volatile float sinkValue;

    private static void sink(float v) {
        sinkValue = v;
    }

    /** Best seconds for {@code workers} threads to run their share of {@code [0, n)} once. */
    private static double time(Options o, int workers, long n, Measure.Chunk chunk) {
        return Measure.bestSecondsSplit(workers, n, chunk, o.warmupNs(), o.samples());
    }

    /** Best seconds for {@code workers} threads to each run {@code loop} once, at the same time. */
    private static double fmaSeconds(Options o, int workers, Runnable loop) {
        Runnable once = workers == 1 ? loop : () -> ComputePool.shared().parallelFor(workers, (w, ignored) -> loop.run());
        return Measure.bestSeconds(once, o.warmupNs(), o.samples());
    }

    static double sgemmGflops(OpenBlas blas, int size, int threads, Options o) {
        blas.setThreads(threads);
        try (Arena arena = Arena.ofConfined()) {
            long elems = (long) size * size;
            MemorySegment a = arena.allocate(elems * 4, 64);
            MemorySegment b = arena.allocate(elems * 4, 64);
            MemorySegment c = arena.allocate(elems * 4, 64);
            Random random = new Random(1);
            for (long i = 0; i < elems; i++) {
                a.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, random.nextFloat());
                b.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, random.nextFloat());
            }
            int samples = size >= 4096 ? Math.min(3, o.samples()) : o.samples();
            double seconds = Measure.bestSeconds(() -> blas.sgemm(size, size, size, a, b, true, c),
                    Math.min(o.warmupNs(), 100_000_000L), samples);
            return 2.0 * size * size * size / seconds / 1e9;
        }
    }

    private static double max(double... values) {
        double m = Double.NaN;
        for (double v : values) {
            if (!Double.isNaN(v) && (Double.isNaN(m) || v > m)) {
                m = v;
            }
        }
        return m;
    }
}
