package dev.flyer.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flyer.bench.internal.EpMpiPeer;
import dev.flyer.bench.internal.NativePeers;
import dev.flyer.dist.Launcher;
import dev.flyer.profile.OverlapAnalysis;
import dev.flyer.profile.OverlapReport;
import dev.flyer.profile.TraceReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code flyer bench ep}: DeepEP's benchmark settings scaled to this machine, each rank a process
 * started through the launcher ({@code flyer launch}'s engine), beside Open MPI's
 * {@code MPI_Alltoallv} doing the same exchange with the same routing, and beside the machine's
 * limit, all in the same run.
 *
 * <p>Units are DeepEP's: bytes received per rank ÷ time (normal mode, and low latency), latency
 * per call (low latency). The limit per rank is the time the bytes need at the machine's copy
 * rate (libc memcpy on all cores, one copy per byte: the least any shared-memory exchange does)
 * plus, for bytes from other "hosts", loopback TCP (iperf3), both shared by the ranks; as a rate. The
 * hook row runs dispatch, compute, combine, compute with and without the receive hook and
 * reports the share of communication flyer-profile finds overlapped in rank 0's trace.
 */
public final class EpBench {
    /** A job shape: ranks, split into {@code nodes} "hosts" (TCP between them when more than one). */
    public record Setting(int ranks, int nodes) {
        String transport() {
            return nodes > 1 ? "tcp" : "shm";
        }

        String label() {
            return "ranks=" + ranks + " nodes=" + nodes + " transport=" + transport();
        }
    }

    /** Sizes. */
    public record Options(int tokens, int llTokens, int hidden, int topk, int experts, int iters,
                          List<Setting> settings, int iperfSeconds) {
        public static Options defaults() {
            return new Options(4096, 128, 7168, 8, 256, 10, List.of(new Setting(2, 1), new Setting(4, 1),
                    new Setting(8, 1), new Setting(4, 2), new Setting(8, 2)), 3);
        }

        public static Options quick() {
            return new Options(512, 128, 7168, 8, 256, 5, List.of(new Setting(2, 1), new Setting(4, 1),
                    new Setting(4, 2)), 1);
        }
    }

    private EpBench() {}

    public static int steps(Options o) {
        return 2 + 2 * o.settings().size();
    }

    public static BenchReport run(Options o, Progress progress) throws IOException {
        BenchReport report = new BenchReport("flyer bench ep (hidden " + o.hidden() + ", top-" + o.topk() + " of "
                + o.experts() + " experts; normal: " + o.tokens() + " tokens/rank, FP8 dispatch, BF16 combine; "
                + "low latency: " + o.llTokens() + " tokens/rank, FP8 dispatch)");
        progress.step("memcpy on all cores");
        double copyGBs = copyGBs();
        progress.done();
        progress.step("iperf3");
        double tcpGBs = DistBench.iperf3GBs(o.iperfSeconds());
        progress.done();
        for (Setting s : o.settings()) {
            progress.step("flyer ep " + s.label());
            Path dir = Files.createTempDirectory("flyer-bench-ep");
            JsonNode ours = launch(o, s, dir, report);
            progress.done();
            progress.step("Open MPI " + s.label());
            if (ours != null) {
                Optional<EpMpiPeer.Result> normal = EpMpiPeer.run(dir.resolve("normal"), "normal", s.ranks(),
                        s.nodes() > 1, o.tokens(), o.hidden(), o.topk(), o.experts(), o.iters());
                Optional<EpMpiPeer.Result> ll = EpMpiPeer.run(dir.resolve("ll"), "low_latency", s.ranks(),
                        s.nodes() > 1, o.llTokens(), o.hidden(), o.topk(), o.experts(), o.iters());
                rows(report, s, ours, normal, ll, copyGBs, tcpGBs, dir);
            }
            progress.done();
        }
        report.note("limit = per-rank share of the machine: bytes / (one copy at libc memcpy on all cores ("
                + fmt(copyGBs) + " GB/s; a shared-memory exchange cannot copy less) + bytes from other hosts at "
                + "loopback TCP (iperf3 " + fmt(tcpGBs) + " GB/s)), all ranks sharing the "
                + Runtime.getRuntime().availableProcessors() + " cores");
        report.note("Open MPI: btl self,vader (one host) or self,tcp (all pairs, \"two hosts\"), counts by MPI_Alltoall, "
                + "rows packed then MPI_Alltoallv, combine = reverse MPI_Alltoallv + FP32 sum; same routing files");
        report.note("latency rows: lower is better (ours/peer < 1 means faster than Open MPI)");
        return report;
    }

    private static JsonNode launch(Options o, Setting s, Path dir, BenchReport report) throws IOException {
        List<String> cmd = javaCommand(List.of("dir=" + dir, "tokens=" + o.tokens(), "llTokens=" + o.llTokens(),
                "hidden=" + o.hidden(), "topk=" + o.topk(), "experts=" + o.experts(), "iters=" + o.iters(),
                "perNode=" + s.ranks() / s.nodes(), "transport=" + s.transport()));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int status;
        try {
            status = Launcher.run(new Launcher.Options(s.ranks(), 1, 0, null, 0), cmd,
                    new PrintStream(log, true, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        Path result = dir.resolve("result.json");
        if (status != 0 || !Files.exists(result)) {
            String text = log.toString(StandardCharsets.UTF_8);
            report.note(s.label() + " failed (exit " + status + "): "
                    + text.substring(Math.max(0, text.length() - 2000)).replace('\n', ' '));
            return null;
        }
        return new ObjectMapper().readTree(result.toFile());
    }

    private static void rows(BenchReport report, Setting s, JsonNode r, Optional<EpMpiPeer.Result> normal,
                             Optional<EpMpiPeer.Result> ll, double copyGBs, double tcpGBs, Path dir) throws IOException {
        for (String mode : new String[] {"normal", "low_latency"}) {
            Optional<EpMpiPeer.Result> peer = mode.equals("normal") ? normal : ll;
            for (String op : new String[] {"dispatch", "combine"}) {
                double seconds = r.path(mode + "_" + op + "_s").asDouble();
                double bytes = r.path(mode + "_" + op + "_bytes").asDouble();
                double remote = r.path(mode + "_remote_" + op + "_bytes").asDouble();
                double limitSeconds = ((bytes - remote) / (copyGBs * 1e9) + remote / (tcpGBs * 1e9)) * s.ranks();
                double peerGBs = peer.map(p -> (op.equals("dispatch") ? p.dispatchBytes() : p.combineBytes())
                        / (op.equals("dispatch") ? p.dispatchSeconds() : p.combineSeconds()) / 1e9).orElse(Double.NaN);
                String name = "mode=" + mode + " op=" + op + " " + s.label();
                report.add(new BenchRow(name, "GB/s", bytes / seconds / 1e9, peerGBs, "Open MPI Alltoallv",
                        bytes / limitSeconds / 1e9));
                if (mode.equals("low_latency")) {
                    double peerUs = peer.map(p -> 1e6 * (op.equals("dispatch") ? p.dispatchSeconds()
                            : p.combineSeconds())).orElse(Double.NaN);
                    report.add(new BenchRow(name + " latency", "us", seconds * 1e6, peerUs, "Open MPI Alltoallv",
                            Double.NaN));
                }
            }
        }
        report.note(s.label() + ": untimed rounds until no rank's got 5 % faster for 2 s: "
                + fmt(r.path("normal_warmup_s").asDouble()) + " s (normal), "
                + fmt(r.path("low_latency_warmup_s").asDouble()) + " s (low latency)");
        Path trace = dir.resolve("trace-rank0.json");
        if (Files.exists(trace)) {
            OverlapReport overlap = OverlapAnalysis.analyze(TraceReader.read(trace),
                    OverlapAnalysis.Options.defaults().withCommPattern("ep::"));
            report.add(BenchRow.of("mode=low_latency op=dispatch+combine hook " + s.label()
                    + ": communication overlapped by compute (flyer-profile, rank 0)", "%", 100 * overlap.overlapRatio()));
            report.note(s.label() + ": low-latency round trip with two compute phases of "
                    + fmt(1e3 * r.path("hook_compute_s").asDouble() / 2) + " ms each: "
                    + fmt(1e3 * r.path("hook_blocking_s").asDouble()) + " ms blocking, "
                    + fmt(1e3 * r.path("hook_overlapped_s").asDouble()) + " ms with receive hooks (trace: " + trace + ")");
        }
    }

    /** This JVM's java and module flags, a small heap, the class path, running {@link EpBenchRank}. */
    private static List<String> javaCommand(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java"));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!arg.startsWith("-agentlib") && !arg.startsWith("-javaagent") && !arg.startsWith("-Xmx")) {
                cmd.add(arg);
            }
        }
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), EpBenchRank.class.getName()));
        cmd.addAll(args);
        return cmd;
    }

    /** libc memcpy throughput with every core copying its own 64 MiB buffers at once, in GB/s. */
    private static double copyGBs() {
        int workers = Runtime.getRuntime().availableProcessors();
        long bytes = 64L << 20;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] src = new MemorySegment[workers];
            MemorySegment[] dst = new MemorySegment[workers];
            for (int w = 0; w < workers; w++) {
                src[w] = arena.allocate(bytes, 64).fill((byte) 1);
                dst[w] = arena.allocate(bytes, 64).fill((byte) 2);
            }
            double s = Measure.bestSeconds(() -> dev.flyer.core.exec.ComputePool.shared().parallelFor(workers,
                    (w, ignored) -> NativePeers.memcpy(dst[w], src[w], bytes)), 300_000_000L, 5);
            return workers * bytes / s / 1e9;
        }
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
