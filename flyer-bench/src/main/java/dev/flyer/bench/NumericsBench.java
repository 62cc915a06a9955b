package dev.flyer.bench;

import dev.flyer.bench.internal.NativePeers;
import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.numeric.Fp8Format;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;
import java.util.Random;

/**
 * {@code flyer bench numerics}: bulk BF16 and FP8 E4M3 conversion throughput (bytes read plus
 * written per second) beside the same conversion in C ({@code gcc -O3 -march=native}) and the
 * machine's STREAM copy bandwidth, the ceiling for a streaming conversion.
 */
public final class NumericsBench {
    /** Elements per conversion, and timing parameters. */
    public record Options(long elements, long warmupNs, int samples) {
        public static Options defaults() {
            return new Options(16L << 20, 300_000_000L, 10);
        }

        public static Options quick() {
            return new Options(1L << 20, 200_000_000L, 3);
        }
    }

    private interface Conversion {
        void run(long from, long count);
    }

    private NumericsBench() {}

    public static int steps() {
        return 1 + 8;
    }

    public static BenchReport run(Options o, Progress progress) {
        progress.step("machine limits");
        MachineLimits limits = MachineBench.quickLimits();
        progress.done();
        Optional<NativePeers> c = NativePeers.load();
        BenchReport report = new BenchReport("flyer bench numerics (" + o.elements() + " elements)");
        long n = o.elements();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment f32 = arena.allocate(n * 4, 64);
            MemorySegment bf16 = arena.allocate(n * 2, 64);
            MemorySegment fp8 = arena.allocate(n, 64);
            MemorySegment out = arena.allocate(n * 4, 64);
            Random random = new Random(42);
            for (long i = 0; i < n; i++) {
                f32.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian() * 100);
            }
            add(report, progress, o, limits, "BF16 encode", 6, n,
                    (from, count) -> Bf16.encode(f32, from * 4, bf16, from * 2, count),
                    c.map(p -> (from, count) -> p.bf16Encode(f32.asSlice(from * 4), bf16.asSlice(from * 2), count)));
            add(report, progress, o, limits, "BF16 decode", 6, n,
                    (from, count) -> Bf16.decode(bf16, from * 2, out, from * 4, count),
                    c.map(p -> (from, count) -> p.bf16Decode(bf16.asSlice(from * 2), out.asSlice(from * 4), count)));
            add(report, progress, o, limits, "FP8 E4M3 encode", 5, n,
                    (from, count) -> Fp8Format.E4M3FN.encode(f32, from * 4, fp8, from, count),
                    c.map(p -> (from, count) -> p.e4m3Encode(f32.asSlice(from * 4), fp8.asSlice(from), count)));
            add(report, progress, o, limits, "FP8 E4M3 decode", 5, n,
                    (from, count) -> Fp8Format.E4M3FN.decode(fp8, from, out, from * 4, count),
                    c.map(p -> (from, count) -> p.e4m3Decode(fp8.asSlice(from), out.asSlice(from * 4), count)));
        }
        if (n * 4 < (64L << 20)) {
            report.note("the " + (n * 4 >> 20) + " MiB working set is cache-resident, so figures can exceed the "
                    + "memory-bandwidth limit; the default size (64 MiB) streams from memory");
        }
        return report;
    }

    private static void add(BenchReport report, Progress progress, Options o, MachineLimits limits, String name,
                            int bytesPerElement, long n, Conversion ours, Optional<Conversion> peer) {
        int threads = ComputePool.shared().threads();
        for (int workers : new int[] {1, threads}) {
            String label = name + (workers == 1 ? ", 1 thread" : ", all threads");
            progress.step(label);
            double bytes = (double) bytesPerElement * n;
            double oursGBs = bytes / time(o, workers, n, ours) / 1e9;
            double peerGBs = peer.map(p -> bytes / time(o, workers, n, p) / 1e9).orElse(Double.NaN);
            double limit = workers == 1 ? limits.copyGBs1() : limits.copyGBsAll();
            report.add(new BenchRow(label, "GB/s", oursGBs, peerGBs, "C -O3 -march=native", limit));
            progress.done();
        }
    }

    private static double time(Options o, int workers, long n, Conversion conversion) {
        return Measure.bestSecondsSplit(workers, n, conversion::run, o.warmupNs(), o.samples());
    }
}
