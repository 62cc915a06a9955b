package dev.flyer.fs.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.client.FsClient;
import dev.flyer.fs.client.FsFile;
import dev.flyer.fs.kv.MemKvEngine;
import dev.flyer.fs.mgmtd.MgmtdConfig;
import dev.flyer.fs.server.LocalCluster;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Short-circuit reads: a client on the storage node's host reads committed chunk files itself
 * under a lease on the node's {@link VersionBoard}, and every read stays linearizable: a write
 * that returned is seen by every read that starts after it, a corrupt block is read around, and a
 * lease ends with a change of its chunk, a new routing, a fence or the node's end.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LocalReadsTest {
    static final long DEADLINE = TimeUnit.SECONDS.toNanos(20);

    @TempDir
    Path dir;

    static LocalCluster cluster(Path dir, int nodes, int replicas) {
        return new LocalCluster(dir, new MemKvEngine(), nodes, 1, replicas, MgmtdConfig.fast(1000));
    }

    static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Writes {@code size} seeded random bytes to {@code path} and waits until the client reads them from its files. */
    static byte[] writeReadLocally(FsClient client, String path, int seed, int size) throws InterruptedException {
        byte[] data = random(seed, size);
        client.writeFile(path, data);
        readLocally(client, path);
        return data;
    }

    /** Reads until one is served locally (the nodes renew their boards on their first heartbeat). */
    static byte[] readLocally(FsClient client, String path) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            long before = StorageService.localReads();
            byte[] got = client.readFile(path);
            if (StorageService.localReads() > before) {
                return got;
            }
            assertThat(System.nanoTime()).as("a read served from the chunk files within 10 s").isLessThan(end);
            Thread.sleep(20);
        }
    }

    @Test
    void committedChunksAreReadFromTheirFilesAndAWriteEndsTheLease() throws Exception {
        try (LocalCluster c = cluster(dir, 2, 2); FsClient client = c.client(DEADLINE)) {
            byte[] data = random(1, (3 << 20) + 4321);
            client.writeFile("/f", data);
            assertThat(Arrays.mismatch(readLocally(client, "/f"), data)).as("first differing byte").isEqualTo(-1);
            byte[] patch = random(2, 10_000);
            try (FsFile f = client.open("/f", true)) {
                f.write(1_000_000, patch, 0, patch.length);
            }
            System.arraycopy(patch, 0, data, 1_000_000, patch.length);
            long before = StorageService.localReads();
            assertThat(Arrays.mismatch(client.readFile("/f"), data)).as("the read after the write sees it: first differing byte")
                    .isEqualTo(-1);
            assertThat(StorageService.localReads()).as("and is still served locally, under a new lease").isGreaterThan(before);
            byte[] piece = new byte[4096];
            try (FsFile f = client.open("/f", false)) {
                assertThat(f.read(1_000_000, piece, 0, piece.length)).isEqualTo(piece.length);
            }
            assertThat(piece).isEqualTo(Arrays.copyOfRange(data, 1_000_000, 1_004_096));
        }
    }

    @Test
    void aCorruptBlockIsReadAroundAndReportedToItsNode() throws Exception {
        try (LocalCluster c = cluster(dir, 2, 2); FsClient client = c.client(DEADLINE)) {
            byte[] data = writeReadLocally(client, "/f", 3, 1 << 20);
            ChainTarget victim = client.routing().chain(1).targets().get(1);
            StorageNode node = c.storage(victim.nodeId()).node();
            ChunkEngine e = node.targets().get(victim.targetId());
            ChunkId chunk = new ChunkId(client.stat("/f").id(), 0);
            StorageFaults.flipCommittedByte(e, chunk, 5000, 1); // in place, as a bad disk would: no stamp moves
            for (int i = 0; i < 20; i++) {
                assertThat(Arrays.mismatch(client.readFile("/f"), data)).as("read %d: first differing byte", i).isEqualTo(-1);
            }
            assertThat(node.corruptChunks() > 0 || Arrays.equals(e.committedContent(chunk), data))
                    .as("the node learnt of the corrupt block (or already repaired it)").isTrue();
        }
    }

    @Test
    void readsAreLinearizableWhileAChunkIsOverwritten() throws Exception {
        long seed = System.nanoTime();
        System.out.println("LocalReadsTest.linearizable seed=" + seed);
        try (LocalCluster c = cluster(dir, 3, 3); FsClient client = c.client(DEADLINE)) {
            client.writeFile("/n", ByteBuffer.allocate(8).putLong(0).array());
            readLocally(client, "/n");
            AtomicLong acked = new AtomicLong();
            AtomicReference<String> violation = new AtomicReference<>();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            List<Thread> readers = new ArrayList<>();
            long localBefore = StorageService.localReads();
            for (int t = 0; t < 2; t++) {
                readers.add(Thread.ofPlatform().start(() -> {
                    byte[] b = new byte[8];
                    try (FsFile f = client.open("/n", false)) {
                        while (System.nanoTime() < end && violation.get() == null) {
                            long floor = acked.get();
                            f.read(0, b, 0, 8);
                            long v = ByteBuffer.wrap(b).getLong();
                            if (v < floor) {
                                violation.set("read " + v + " after write " + floor + " had been flushed");
                            }
                        }
                    }
                }));
            }
            Random rnd = new Random(seed);
            try (FsFile f = client.open("/n", true)) {
                for (long i = 1; System.nanoTime() < end; i++) {
                    f.write(0, ByteBuffer.allocate(8).putLong(i).array(), 0, 8);
                    f.flush(); // on every replica now: no reader may see an older value from here on
                    acked.set(i);
                    if (rnd.nextInt(4) == 0) {
                        Thread.sleep(1); // let leases form between writes
                    }
                }
            }
            for (Thread r : readers) {
                r.join();
            }
            assertThat(violation.get()).isNull();
            assertThat(StorageService.localReads()).as("some reads went to the files").isGreaterThan(localBefore);
        }
    }

    @Test
    void aLeaseHoldsUntilItsCellTheEpochOrTheDeadlineMoves() {
        VersionBoard board = VersionBoard.create();
        assertThat(board).as("/dev/shm is available here").isNotNull();
        try {
            VersionBoard peer = VersionBoard.map(board.ref());
            ChunkId a = new ChunkId(7, 0);
            ChunkId b = new ChunkId(7, 1);
            long cellA = VersionBoard.cellOffset(1001, a);
            long cellB = VersionBoard.cellOffset(1001, b);
            assertThat(cellA).isNotEqualTo(cellB).isNotEqualTo(VersionBoard.cellOffset(2001, a));
            long epoch = peer.epoch();
            long stampA = peer.stamp(cellA);
            long stampB = peer.stamp(cellB);
            assertThat(peer.holds(epoch, cellA, stampA)).as("not renewed yet").isFalse();
            board.renew(System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
            assertThat(peer.holds(epoch, cellA, stampA)).isTrue();
            board.bump(1001, a);
            assertThat(peer.holds(epoch, cellA, stampA)).as("its chunk changed").isFalse();
            assertThat(peer.holds(epoch, cellB, stampB)).as("another chunk's lease").isTrue();
            board.invalidate(false);
            assertThat(peer.holds(epoch, cellB, stampB)).as("a new epoch").isFalse();
            long epoch2 = peer.epoch();
            assertThat(peer.holds(epoch2, cellB, stampB)).isTrue();
            board.renew(System.nanoTime() - 1);
            assertThat(peer.holds(epoch2, cellB, stampB)).as("past the deadline").isFalse();
            board.renew(System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
            board.close();
            assertThat(peer.holds(peer.epoch(), cellB, stampB)).as("a closed board").isFalse();
        } finally {
            board.close();
        }
    }

    @Test
    void aSequentialReaderReadsTheNextChunkAheadAndUsesIt() throws Exception {
        try (LocalCluster c = cluster(dir, 2, 2); FsClient client = c.client(DEADLINE)) {
            byte[] data = writeReadLocally(client, "/s", 3, (6 << 20) - 1000);
            long before = StorageService.readAheadsUsed();
            byte[] got = new byte[data.length];
            try (FsFile f = client.open("/s", false)) {
                for (int at = 0; at < data.length; at += 1 << 20) {
                    assertThat(f.read(at, got, at, Math.min(1 << 20, data.length - at))).isEqualTo(Math.min(1 << 20, data.length - at));
                }
            }
            assertThat(Arrays.mismatch(got, data)).as("first differing byte").isEqualTo(-1);
            // read 1 continues read 0: chunks 2..5 are read ahead (the last one short); one may miss its lease
            assertThat(StorageService.readAheadsUsed() - before).as("chunks used from read-ahead").isBetween(3L, 4L);
        }
    }

    @Test
    void aChunkOverwrittenAfterItWasReadAheadIsReadAgain() throws Exception {
        try (LocalCluster c = cluster(dir, 2, 2); FsClient client = c.client(DEADLINE)) {
            byte[] data = writeReadLocally(client, "/o", 4, 4 << 20);
            byte[] got = new byte[1 << 20];
            try (FsFile reader = client.open("/o", false)) {
                reader.read(0, got, 0, got.length);
                reader.read(1 << 20, got, 0, got.length); // reads chunk 2 ahead
                Thread.sleep(300); // let the read-ahead finish with the old bytes
                byte[] patch = random(5, 4096);
                try (FsFile writer = client.open("/o", true)) {
                    writer.write((2 << 20) + 100, patch, 0, patch.length);
                }
                System.arraycopy(patch, 0, data, (2 << 20) + 100, patch.length);
                long before = StorageService.readAheadsUsed();
                reader.read(2 << 20, got, 0, got.length);
                assertThat(Arrays.mismatch(got, Arrays.copyOfRange(data, 2 << 20, 3 << 20)))
                        .as("the read after the write sees it: first differing byte").isEqualTo(-1);
                assertThat(StorageService.readAheadsUsed()).as("the stale read-ahead was not used").isEqualTo(before);
            }
        }
    }

    @Test
    void readAheadBuffersGoBackToThePoolWhenSkippedUsedOrClosed() throws Exception {
        try (LocalCluster c = cluster(dir, 2, 2); FsClient client = c.client(DEADLINE)) {
            byte[] data = writeReadLocally(client, "/p", 6, 8 << 20);
            int before = BufferPool.SHARED.inUse();
            byte[] got = new byte[1 << 20];
            try (FsFile f = client.open("/p", false)) {
                f.read(0, got, 0, got.length);
                f.read(1 << 20, got, 0, got.length); // chunks 2 and 3 ahead
                f.read(5 << 20, got, 0, got.length); // skips them
                f.read(6 << 20, got, 0, got.length); // chunk 7 ahead, left at close
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (BufferPool.SHARED.inUse() > before && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            // at most as many out as before: the nodes' own reads and writes share the pool
            assertThat(BufferPool.SHARED.inUse()).as("pooled buffers still out").isLessThanOrEqualTo(before);
        }
    }
}
