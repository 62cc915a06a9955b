package dev.flyer.fs.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.fs.client.FsClient;
import dev.flyer.fs.meta.FsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Minutes of writes and reads while storage processes are killed with -9 and restarted (slow tag). */
@Tag("slow")
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class SoakTest {
    @TempDir
    Path dir;

    @AfterEach
    void down() throws Exception {
        if (Files.exists(ProcessCluster.manifestPath(dir))) {
            ProcessCluster.down(dir);
        }
    }

    @Test
    void writesSurviveRepeatedStorageKills() throws Exception {
        long seed = System.nanoTime();
        System.out.println("SoakTest seed=" + seed);
        ProcessCluster.Manifest m = ProcessCluster.up(dir, 3, 2, 3, 100, 1000, s -> { });
        AtomicBoolean stop = new AtomicBoolean();
        Random rnd = new Random(seed);
        Thread chaos = Thread.ofPlatform().start(() -> {
            Random r = new Random(seed + 1);
            try {
                while (!stop.get()) {
                    Thread.sleep(4000);
                    int node = 1 + r.nextInt(3);
                    ProcessCluster.Member victim = m.processes().stream()
                            .filter(p -> p.role().equals("storage") && p.id() == node).findFirst().orElseThrow();
                    ProcessClusterTest.kill9(new ProcessCluster.Member(victim.role(), victim.id(),
                            currentPid(victim), victim.address(), victim.config(), victim.log()));
                    Thread.sleep(1500);
                    ProcessCluster.start(dir, NodeConfigs.read(victim));
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Map<String, byte[]> written = new HashMap<>();
        try (FsClient c = FsClient.connect(m.mgmtd(), TimeUnit.SECONDS.toNanos(60))) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            for (int i = 0; System.nanoTime() < end; i++) {
                byte[] data = new byte[rnd.nextInt(3 << 20)];
                rnd.nextBytes(data);
                String path = "/soak-" + rnd.nextInt(20);
                try {
                    c.writeFile(path, data);
                    written.put(path, data);
                } catch (FsException e) {
                    throw new AssertionError("seed " + seed + ": write " + i + " failed: " + e.getMessage(), e);
                }
                String probe = written.keySet().iterator().next();
                same(c, seed, probe, written.get(probe));
            }
            stop.set(true);
            chaos.join();
            ProcessClusterTest.awaitAllServing(c);
            for (var e : written.entrySet()) {
                same(c, seed, e.getKey(), e.getValue());
                ProcessClusterTest.assertReplicasEqual(c, c.stat(e.getKey()).id());
            }
        }
    }

    /** Fails with the lengths and the first differing offset (not megabytes of bytes). */
    private static void same(FsClient c, long seed, String path, byte[] expected) {
        byte[] got = c.readFile(path);
        int at = java.util.Arrays.mismatch(got, expected);
        if (at >= 0) {
            throw new AssertionError("seed " + seed + ": " + path + " read " + got.length + " bytes, wrote " + expected.length
                    + "; first difference at " + at + " (chunk " + at / (1 << 20) + "); stat length " + c.stat(path).length()
                    + "; chains " + c.routing().chains());
        }
    }

    /** The pid of the newest process started from this member's config (restarts change it). */
    private static long currentPid(ProcessCluster.Member victim) {
        return ProcessHandle.allProcesses().filter(h -> h.info().arguments().map(a -> String.join(" ", a).contains(victim.config()))
                .orElse(false)).mapToLong(ProcessHandle::pid).max().orElse(victim.pid());
    }
}
