package dev.flyer.fs.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.fs.chain.Chain;
import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.PublicState;
import dev.flyer.fs.client.FsClient;
import dev.flyer.fs.client.FsFile;
import dev.flyer.fs.kv.MemKvEngine;
import dev.flyer.fs.meta.FsException;
import dev.flyer.fs.meta.Inode;
import dev.flyer.fs.mgmtd.MgmtdConfig;
import dev.flyer.fs.storage.ChunkEngine;
import dev.flyer.fs.storage.ChunkId;
import dev.flyer.fs.storage.ChunkMeta;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A whole cluster in one JVM over loopback RPC: files end to end, node loss and return, failover, corruption, GC. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterTest {
    static final long DEADLINE = TimeUnit.SECONDS.toNanos(20);

    @TempDir
    Path dir;

    static LocalCluster cluster(Path dir, int nodes, int targets, int replicas) {
        return new LocalCluster(dir, new MemKvEngine(), nodes, targets, replicas, MgmtdConfig.fast(1000));
    }

    static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static void await(String what, BooleanSupplier cond) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    /** Every chunk of the inode is byte-equal on every target of its chain. */
    static void assertReplicasEqual(LocalCluster c, FsClient client, long inode) {
        for (Chain chain : client.routing().chains().values()) {
            ChunkEngine first = null;
            for (ChainTarget t : chain.targets()) {
                ChunkEngine e = c.storage(t.nodeId()).node().targets().get(t.targetId());
                if (first == null) {
                    first = e;
                    continue;
                }
                assertThat(e.metasOf(inode)).hasSameSizeAs(first.metasOf(inode));
                for (ChunkMeta m : first.metasOf(inode)) {
                    assertThat(e.committedContent(m.id())).as("chunk %s on target %d", m.id(), t.targetId())
                            .isEqualTo(first.committedContent(m.id()));
                }
            }
        }
    }

    @Test
    void filesEndToEndWithThreeReplicas() throws Exception {
        try (LocalCluster c = cluster(dir, 3, 2, 3); FsClient client = c.client(DEADLINE)) {
            client.mkdirs("/data/x");
            byte[] data = random(1, 5 * (1 << 20) + 12345);
            try (FsFile f = client.create("/data/x/file", 0)) {
                f.write(0, data, 0, data.length);
            }
            Inode i = client.stat("/data/x/file");
            assertThat(i.length()).as("exact after close").isEqualTo(data.length);
            assertThat(client.readFile("/data/x/file")).isEqualTo(data);
            byte[] mid = new byte[3000];
            try (FsFile f = client.open("/data/x/file", false)) {
                assertThat(f.read((1 << 20) - 1000, mid, 0, mid.length)).isEqualTo(3000);
            }
            assertThat(mid).isEqualTo(java.util.Arrays.copyOfRange(data, (1 << 20) - 1000, (1 << 20) + 2000));
            assertThat(client.list("/data/x")).extracting(e -> e.name()).containsExactly("file");
            // under CPU load the fast failure detector may have dropped a target for a moment; replicas
            // are equal once every target serves again (a dropped one re-syncs first)
            ProcessClusterTest.awaitAllServing(client);
            assertReplicasEqual(c, client, i.id());
            client.truncate("/data/x/file", 1500);
            assertThat(client.readFile("/data/x/file")).isEqualTo(java.util.Arrays.copyOf(data, 1500));
            assertThatThrownBy(() -> client.create("/data/x/file", 0)).isInstanceOfSatisfying(FsException.class,
                    e -> assertThat(e.code()).isEqualTo(FsException.Code.EXISTS));
            assertThatThrownBy(() -> client.readFile("/nope")).isInstanceOfSatisfying(FsException.class,
                    e -> assertThat(e.code()).isEqualTo(FsException.Code.NOT_FOUND));
            assertThatThrownBy(() -> client.readFile("/data/x/file/y")).isInstanceOfSatisfying(FsException.class,
                    e -> assertThat(e.code()).isEqualTo(FsException.Code.NOT_DIRECTORY));
        }
    }

    @Test
    void writesBehindKeepTheirOrderAreSeenByTheirHandleAndTheCallerMayReuseItsArray() {
        try (LocalCluster c = cluster(dir, 2, 2, 2); FsClient client = c.client(DEADLINE)) {
            byte[] expected = new byte[3 << 20];
            byte[] buf = new byte[1 << 20];
            try (FsFile f = client.create("/wb", 0)) {
                for (int round = 0; round < 3; round++) { // each MiB written three times, the array reused at once
                    for (int mib = 0; mib < 3; mib++) {
                        java.util.Arrays.fill(buf, (byte) (10 * round + mib));
                        f.write((long) mib << 20, buf, 0, buf.length);
                    }
                }
                for (int i = 0; i < 200; i++) { // small rewrites of one chunk in flight one after another
                    f.write(4096, new byte[] {(byte) i, (byte) (i + 1)}, 0, 2);
                }
                byte[] mid = new byte[2];
                assertThat(f.read(4096, mid, 0, 2)).isEqualTo(2);
                assertThat(mid).as("this handle reads its own writes").containsExactly((byte) 199, (byte) 200);
            }
            for (int mib = 0; mib < 3; mib++) {
                java.util.Arrays.fill(expected, mib << 20, (mib + 1) << 20, (byte) (20 + mib));
            }
            expected[4096] = (byte) 199;
            expected[4097] = (byte) 200;
            assertThat(client.stat("/wb").length()).isEqualTo(expected.length);
            assertThat(client.readFile("/wb")).isEqualTo(expected);
        }
    }

    @Test
    void aWriteThatFailsBehindIsReportedByCloseAndTheNextWrite() {
        try (LocalCluster c = cluster(dir, 1, 1, 1); FsClient client = c.client(TimeUnit.SECONDS.toNanos(2))) {
            FsFile f = client.create("/lost", 0);
            f.write(0, random(7, 1000), 0, 1000);
            f.fsync();
            c.stopStorage(1);
            byte[] data = random(8, 1 << 20);
            f.write(0, data, 0, data.length); // returns: the chunk write goes on behind it
            java.util.function.Consumer<FsException> itsFailure = e -> {
                assertThat(e.code()).isEqualTo(FsException.Code.UNAVAILABLE);
                assertThat(e.getMessage()).contains("a write of /lost failed").contains("cluster unavailable");
            };
            assertThatThrownBy(f::fsync).as("fsync waits for it and reports its failure")
                    .isInstanceOfSatisfying(FsException.class, itsFailure);
            c.restartStorage(1);
            assertThatThrownBy(() -> f.write(0, data, 0, 10)).as("so does the next write: the file stays failed")
                    .isInstanceOfSatisfying(FsException.class, itsFailure);
            assertThatThrownBy(f::close).as("and close, after ending the session")
                    .isInstanceOfSatisfying(FsException.class, itsFailure);
            assertThat(client.stat("/lost").length()).as("what fsync made exact before the failure").isEqualTo(1000);
            assertThatThrownBy(() -> f.write(0, data, 0, 10)).isInstanceOfSatisfying(FsException.class,
                    e -> assertThat(e.getMessage()).contains("file is closed"));
        }
    }

    @Test
    void aStoppedMiddleNodeIsTakenOutAndResyncsWhenItReturns() {
        try (LocalCluster c = cluster(dir, 3, 1, 3); FsClient client = c.client(DEADLINE)) {
            byte[] before = random(2, 3 << 20);
            client.writeFile("/a", before);
            Chain chain = client.routing().chain(1);
            int middle = chain.targets().get(1).nodeId();
            c.stopStorage(middle);
            byte[] during = random(3, 4 << 20);
            client.writeFile("/b", during); // waits out failure detection, then writes to the remaining two
            assertThat(client.routing().chain(1).target(middle * 1000L + 1).orElseThrow().state())
                    .isIn(PublicState.OFFLINE, PublicState.LASTSRV);
            c.restartStorage(middle);
            await("the returning target to serve again", () -> client.routing().chain(1).targets().stream()
                    .allMatch(t -> t.state() == PublicState.SERVING));
            assertThat(client.readFile("/a")).isEqualTo(before);
            assertThat(client.readFile("/b")).isEqualTo(during);
            assertReplicasEqual(c, client, client.stat("/b").id());
            assertReplicasEqual(c, client, client.stat("/a").id());
        }
    }

    @Test
    void aStandbyManagerTakesOverAndCorruptReplicasAreReadAround() throws Exception {
        try (LocalCluster c = cluster(dir, 3, 1, 3); FsClient client = c.client(DEADLINE)) {
            byte[] data = random(4, 1 << 20);
            client.writeFile("/f", data);
            long inode = client.stat("/f").id();
            ChainTarget victim = client.routing().chain(1).targets().get(2);
            ChunkEngine e = c.storage(victim.nodeId()).node().targets().get(victim.targetId());
            ChunkId chunk = new ChunkId(inode, 0);
            dev.flyer.fs.storage.StorageFaults.flipCommittedByte(e, chunk, 100, 1);
            for (int i = 0; i < 10; i++) {
                assertThat(client.readFile("/f")).as("read %d served by an intact replica", i).isEqualTo(data);
            }
            await("the corrupt replica to be detected and repaired", () -> { // reads find it; the node repairs it
                assertThat(client.readFile("/f")).isEqualTo(data);
                try {
                    return java.util.Arrays.equals(e.committedContent(chunk), data);
                } catch (dev.flyer.fs.storage.StorageException stillCorrupt) {
                    return false;
                }
            });
            MgmtdServer primary = c.managers().stream().filter(m -> m.manager().isPrimary()).findFirst().orElseThrow();
            primary.close();
            await("the standby to take over", () -> c.managers().stream().anyMatch(m -> m != primary && m.manager().isPrimary()));
            client.writeFile("/g", data);
            assertThat(client.readFile("/g")).isEqualTo(data);
            assertThat(client.routing().chain(1).targets()).extracting(ChainTarget::state).containsOnly(PublicState.SERVING);
        }
    }

    @Test
    void aDeadWritersSessionIsPrunedAndTheLengthRecoveredFromStorage() {
        try (LocalCluster c = cluster(dir, 2, 1, 1); FsClient client = c.client(DEADLINE)) {
            byte[] data = random(6, (3 << 20) + 77);
            FsFile abandoned = client.create("/orphan", 0);
            abandoned.write(0, data, 0, data.length); // the writer "dies": no close, no renewal
            try (FsFile other = client.create("/synced", 0)) {
                other.write(0, data, 0, 1000);
                assertThat(other.fsync()).as("fsync makes the length exact at once").isEqualTo(1000);
            }
            await("the dead writer's session to be pruned with the exact length",
                    () -> client.stat("/orphan").length() == data.length);
            assertThat(client.readFile("/orphan")).isEqualTo(data);
            long inode = client.stat("/orphan").id();
            client.unlink("/orphan");
            await("its chunks to be collected", () -> c.storage(1).node().targets().values().stream()
                    .allMatch(e -> e.metasOf(inode).isEmpty()) && c.storage(2).node().targets().values().stream()
                    .allMatch(e -> e.metasOf(inode).isEmpty()));
        }
    }

    @Test
    void unlinkedFilesAreCollectedAfterTheDelay() {
        try (LocalCluster c = cluster(dir, 2, 1, 1); FsClient client = c.client(DEADLINE)) {
            client.writeFile("/tmp-file", random(5, 3 << 20));
            long inode = client.stat("/tmp-file").id();
            client.unlink("/tmp-file");
            await("chunks of the unlinked file to be removed", () -> c.storage(1).node().targets().values().stream()
                    .allMatch(e -> e.metasOf(inode).isEmpty()) && c.storage(2).node().targets().values().stream()
                    .allMatch(e -> e.metasOf(inode).isEmpty()));
        }
    }
}
