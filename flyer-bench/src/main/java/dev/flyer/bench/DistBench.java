package dev.flyer.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flyer.bench.internal.NativePeers;
import dev.flyer.bench.internal.Tools;
import dev.flyer.dist.ProcessGroup;
import dev.flyer.dist.Work;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code flyer bench dist}: point-to-point bandwidth and latency between two ranks over shared
 * memory and over TCP, beside libc {@code memcpy} of the same buffer and iperf3 on loopback
 * (installed with apt-get when absent and allowed), all measured in the same run.
 *
 * <p>Implementation notes: the two ranks are threads of this process (the same code path as
 * processes); bandwidth streams {@code messages} messages of {@code messageBytes} from rank 0 to
 * rank 1; latency is half the round trip of 8-byte ping-pongs.
 */
public final class DistBench {
    /** Sizes and counts. */
    public record Options(long messageBytes, int messages, int pingPongs, int iperfSeconds) {
        public static Options defaults() {
            return new Options(16L << 20, 32, 2000, 3);
        }

        public static Options quick() {
            return new Options(4L << 20, 8, 200, 1);
        }
    }

    private DistBench() {}

    public static int steps() {
        return 5;
    }

    public static BenchReport run(Options o, Progress progress) throws IOException {
        BenchReport report = new BenchReport("flyer bench dist (2 ranks in one process, " + (o.messageBytes() >> 20)
                + " MiB messages)");
        progress.step("libc memcpy");
        double memcpy = memcpyGBs(o);
        progress.done();
        progress.step("iperf3");
        double iperf = iperf3GBs(o.iperfSeconds());
        progress.done();
        for (ProcessGroup.Transport t : new ProcessGroup.Transport[] {ProcessGroup.Transport.SHM, ProcessGroup.Transport.TCP}) {
            progress.step(t + " bandwidth and latency");
            List<ProcessGroup> groups = ProcessGroup.inProcess(2, ProcessGroup.Options.defaults().withTransport(t)
                    .withTimeout(Duration.ofSeconds(60)));
            try {
                double gbs = bandwidth(groups, o);
                double us = latencyUs(groups, o.pingPongs());
                boolean shm = t == ProcessGroup.Transport.SHM;
                report.add(new BenchRow("P2P bandwidth, " + t.name().toLowerCase(java.util.Locale.ROOT), "GB/s", gbs,
                        shm ? memcpy : iperf, shm ? "libc memcpy (1 copy)" : "iperf3 loopback", Double.NaN));
                report.add(BenchRow.of("P2P latency, " + t.name().toLowerCase(java.util.Locale.ROOT) + ", 8 B one-way",
                        "us", us));
            } finally {
                groups.forEach(ProcessGroup::close);
            }
            progress.done();
        }
        report.note("shared memory copies every byte twice (into the ring and out of it), so half of memcpy is its "
                + "ceiling; latency rows: lower is better");
        if (Double.isNaN(iperf)) {
            report.note("iperf3 is not installed and could not be (apt-get install iperf3)");
        }
        return report;
    }

    private static double memcpyGBs(Options o) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(o.messageBytes(), 64);
            MemorySegment b = arena.allocate(o.messageBytes(), 64);
            b.fill((byte) 1);
            double s = Measure.bestSeconds(() -> NativePeers.memcpy(a, b, o.messageBytes()), 200_000_000L, 10);
            return o.messageBytes() / s / 1e9;
        }
    }

    private static double bandwidth(List<ProcessGroup> g, Options o) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = arena.allocate(o.messageBytes(), 64);
            MemorySegment dst = arena.allocate(o.messageBytes(), 64);
            src.fill((byte) 7);
            for (int round = 0; round < 2; round++) {
                long t0 = System.nanoTime();
                List<Work> works = new ArrayList<>();
                for (int i = 0; i < o.messages(); i++) {
                    works.add(g.get(0).isend(src, 1));
                    works.add(g.get(1).irecv(dst, 0));
                }
                works.forEach(Work::await);
                if (round == 1) {
                    return (double) o.messages() * o.messageBytes() / ((System.nanoTime() - t0) / 1e9) / 1e9;
                }
            }
            throw new IllegalStateException("unreachable");
        }
    }

    private static double latencyUs(List<ProcessGroup> g, int pingPongs) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = arena.allocate(8);
            MemorySegment b = arena.allocate(8);
            Thread echo = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 2 * pingPongs; i++) {
                    g.get(1).recv(b, 0);
                    g.get(1).send(b, 0);
                }
            });
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 2; round++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < pingPongs; i++) {
                    g.get(0).send(a, 1);
                    g.get(0).recv(a, 1);
                }
                best = Math.min(best, System.nanoTime() - t0);
            }
            echo.join();
            return best / 1e3 / pingPongs / 2;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
    }

    /** iperf3 over loopback in GB/s, or NaN when iperf3 is unavailable. */
    static double iperf3GBs(int seconds) {
        try {
            if (!Tools.onPath("iperf3")) {
                Tools.aptInstall("iperf3");
                if (!Tools.onPath("iperf3")) {
                    return Double.NaN;
                }
            }
            int port;
            try (var s = new java.net.ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Process server = new ProcessBuilder("iperf3", "-s", "-1", "-p", Integer.toString(port))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
            try {
                Thread.sleep(300);
                Process client = new ProcessBuilder("iperf3", "-c", "127.0.0.1", "-p", Integer.toString(port), "-t",
                        Integer.toString(seconds), "-J").redirectErrorStream(true).start();
                byte[] out = client.getInputStream().readAllBytes();
                client.waitFor(seconds + 30L, TimeUnit.SECONDS);
                JsonNode json = new ObjectMapper().readTree(out);
                return json.path("end").path("sum_received").path("bits_per_second").asDouble(Double.NaN) / 8 / 1e9;
            } finally {
                server.destroyForcibly();
            }
        } catch (IOException e) {
            return Double.NaN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
    }
}
