package dev.flyer.fs.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.fs.chain.Chain;
import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.PublicState;
import dev.flyer.fs.client.FsClient;
import dev.flyer.fs.client.FsFile;
import dev.flyer.fs.meta.FsException;
import dev.flyer.fs.storage.ChunkMeta;
import dev.flyer.fs.storage.StorageApi;
import dev.flyer.fs.storage.StorageService;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Faults on real processes with replication 3: kill -9 of storage, cluster-manager and metadata processes. */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ProcessClusterTest {
    static final long DEADLINE = TimeUnit.SECONDS.toNanos(30);

    @TempDir
    Path dir;

    @AfterEach
    void down() throws Exception {
        if (java.nio.file.Files.exists(ProcessCluster.manifestPath(dir))) {
            ProcessCluster.down(dir);
        }
        // restarted nodes are in cluster.json too: no process started with a config under DIR outlives the test
        String conf = dir.resolve("conf").toString();
        List<Long> left = ProcessHandle.allProcesses()
                .filter(h -> h.info().arguments().map(a -> java.util.Arrays.stream(a).anyMatch(x -> x.startsWith(conf))).orElse(false))
                .map(ProcessHandle::pid).toList();
        assertThat(left).as("cluster processes still running after down").isEmpty();
    }

    static ProcessCluster.Member member(ProcessCluster.Manifest m, String role, int id) {
        return m.processes().stream().filter(p -> p.role().equals(role) && p.id() == id).findFirst().orElseThrow();
    }

    static void kill9(ProcessCluster.Member p) throws Exception {
        new ProcessBuilder("kill", "-9", Long.toString(p.pid())).start().waitFor();
        ProcessHandle.of(p.pid()).ifPresent(h -> h.onExit().join());
    }

    static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static void awaitAllServing(FsClient c) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!c.routing().chains().values().stream().flatMap(ch -> ch.targets().stream())
                .allMatch(t -> t.state() == PublicState.SERVING)) {
            if (System.nanoTime() > end) {
                throw new AssertionError("chains did not return to all-SERVING: " + c.routing().chains());
            }
            Thread.sleep(50);
        }
    }

    /** Each chunk of the inode read from every target of its chain, compared byte for byte. */
    static void assertReplicasEqual(FsClient c, long inode) {
        var r = c.routing();
        for (Chain chain : r.chains().values()) {
            byte[][] first = null;
            List<ChunkMeta> firstMetas = null;
            for (ChainTarget t : chain.targets()) {
                StorageApi api = StorageService.remote(r.nodeAddresses().get(t.nodeId()), DEADLINE);
                List<ChunkMeta> metas = api.chunkMetas(t.targetId(), inode);
                byte[][] content = metas.stream().map(m -> api.read(t.targetId(), m.id(), 0, Integer.MAX_VALUE, false)).toArray(byte[][]::new);
                if (first == null) {
                    first = content;
                    firstMetas = metas;
                } else {
                    assertThat(metas).hasSameSizeAs(firstMetas);
                    assertThat(content).as("chain %d target %d", chain.chainId(), t.targetId()).isDeepEqualTo(first);
                }
            }
        }
    }

    @Test
    void aStartUpThatFailsStopsWhatItStarted() throws Exception {
        java.nio.file.Files.createDirectories(dir.resolve("storage"));
        java.nio.file.Files.writeString(dir.resolve("storage").resolve("node-2"), "a file where node 2's targets go");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ProcessCluster.up(dir, 2, 1, 2, 100, 1000, s -> { }))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("storage-2 did not start");
        assertThat(ProcessCluster.manifestPath(dir)).doesNotExist(); // and @AfterEach finds no process left running
    }

    @Test
    void killedStorageNodeDuringALargeWriteThenItsReturnAndResync() throws Exception {
        ProcessCluster.Manifest m = ProcessCluster.up(dir, 3, 1, 3, 100, 1000, s -> { });
        try (FsClient c = FsClient.connect(m.mgmtd(), DEADLINE)) {
            byte[] data = random(1, 24 << 20);
            int middle = c.routing().chain(1).targets().get(1).nodeId();
            Thread killer = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(300);
                    kill9(member(m, "storage", middle));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (FsFile f = c.create("/big", 0)) {
                for (int off = 0; off < data.length; off += 1 << 20) {
                    f.write(off, data, off, 1 << 20); // every acknowledged MiB must read back
                }
            }
            killer.join();
            assertThat(c.stat("/big").length()).isEqualTo(data.length);
            assertThat(c.readFile("/big")).isEqualTo(data);
            System.out.println("after kill -9 of storage " + middle + ": chain 1 = " + c.routing().chain(1));
            ProcessCluster.start(dir, NodeConfigs.read(member(m, "storage", middle)));
            awaitAllServing(c);
            assertReplicasEqual(c, c.stat("/big").id());
        }
    }

    @Test
    void chainHeadNodeDiesUnderContinuousReadsAndManagerAndMetaRestarts() throws Exception {
        ProcessCluster.Manifest m = ProcessCluster.up(dir, 3, 1, 3, 100, 1000, s -> { });
        try (FsClient c = FsClient.connect(m.mgmtd(), DEADLINE)) {
            byte[] data = random(2, 4 << 20);
            c.writeFile("/r", data);
            int head = c.routing().chain(1).head().orElseThrow().nodeId();
            kill9(member(m, "storage", head)); // 3FS #268: the node holding every chain head
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            int reads = 0;
            while (System.nanoTime() < end) {
                assertThat(c.readFile("/r")).isEqualTo(data);
                reads++;
            }
            assertThat(reads).isPositive();
            ProcessCluster.Member primary = member(m, "mgmtd", 1);
            kill9(primary);
            c.writeFile("/after-mgmtd", data); // the standby takes over
            assertThat(c.readFile("/after-mgmtd")).isEqualTo(data);
            c.mkdirs("/d");
            c.writeFile("/d/old", data);
            kill9(member(m, "meta", 1)); // no rename in flight can be half-applied: KV transactions
            Thread renamer = Thread.ofPlatform().start(() -> {
                try {
                    c.rename("/d/old", "/d/new");
                } catch (FsException ignored) {
                    // the meta server may be down for the whole deadline; checked below
                }
            });
            Thread.sleep(200);
            ProcessCluster.start(dir, NodeConfigs.read(member(m, "meta", 1)));
            renamer.join();
            boolean oldName = c.exists("/d/old");
            boolean newName = c.exists("/d/new");
            assertThat(oldName ^ newName).as("old or new name, never both or neither").isTrue();
        }
    }
}
