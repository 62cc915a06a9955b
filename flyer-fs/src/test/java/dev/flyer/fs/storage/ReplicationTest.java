package dev.flyer.fs.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.LocalState;
import dev.flyer.fs.chain.PublicState;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** CRAQ on a 3-replica chain: a model-based test with lost messages, reads during a paused write, re-sync. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ReplicationTest {
    @TempDir
    Path dir;

    /** A wire that loses a forward before delivery or its reply after delivery, at random. */
    static StorageApi lossy(StorageApi to, Random rnd, double p) {
        return new Forwarding(to) {
            @Override
            public ChunkMeta write(WriteRequest r) {
                if (rnd.nextDouble() < p) {
                    throw new StorageException(StorageException.Code.TIMEOUT, "request lost (injected)");
                }
                ChunkMeta m = to.write(r);
                if (rnd.nextDouble() < p) {
                    throw new StorageException(StorageException.Code.TIMEOUT, "reply lost (injected)");
                }
                return m;
            }
        };
    }

    @Test
    void randomWritesWithLostMessagesKeepReplicasEqualAndAcknowledgedWritesVisible() {
        long seed = System.nanoTime();
        System.out.println("ReplicationTest.model seed=" + seed);
        Random rnd = new Random(seed);
        try (ChainFixture f = new ChainFixture(dir, 3, TimeUnit.SECONDS.toNanos(30))) {
            Random wireRnd = new Random(seed + 1);
            f.wire = n -> lossy(f.nodes.get(n), wireRnd, 0.15);
            Map<ChunkId, byte[]> model = new HashMap<>();
            Map<ChunkId, Long> versions = new HashMap<>();
            for (long seq = 1; seq <= 150; seq++) {
                ChunkId chunk = new ChunkId(5, rnd.nextInt(4));
                int offset = rnd.nextInt(200_000);
                byte[] data = new byte[1 + rnd.nextInt(70_000)];
                rnd.nextBytes(data);
                ChunkMeta acked = null;
                for (int attempt = 0; acked == null; attempt++) {
                    try {
                        acked = f.write(42, seq, chunk, offset, data);
                    } catch (StorageException e) {
                        assertThat(e.code()).isEqualTo(StorageException.Code.TIMEOUT);
                        assertThat(attempt).as("seed %d: retries end", seed).isLessThan(100);
                    }
                }
                byte[] before = model.getOrDefault(chunk, new byte[0]);
                byte[] after = Arrays.copyOf(before, Math.max(before.length, offset + data.length));
                System.arraycopy(data, 0, after, offset, data.length);
                model.put(chunk, after);
                long v = versions.merge(chunk, 1L, Long::sum);
                assertThat(acked.committedVersion()).as("seed %d: one version per write, retries included", seed).isEqualTo(v);
                long replica = 1 + rnd.nextInt(3);
                assertThat(f.nodes.get((int) replica - 1).read(replica, chunk, 0, Integer.MAX_VALUE, false))
                        .as("seed %d: acknowledged write visible on replica %d", seed, replica).isEqualTo(after);
            }
            for (ChunkId chunk : model.keySet()) {
                for (long t = 1; t <= 3; t++) {
                    ChunkMeta m = f.engine(t).meta(chunk);
                    assertThat(m.hasPending()).isFalse();
                    assertThat(m.committedVersion()).isEqualTo(versions.get(chunk));
                    assertThat(f.engine(t).committedContent(chunk)).isEqualTo(model.get(chunk));
                }
            }
        }
    }

    @Test
    void readsDuringAPausedWriteSeeNotCommittedAtTheHeadAndTheOldValueAtTheTail() throws Exception {
        try (ChainFixture f = new ChainFixture(dir, 3, TimeUnit.SECONDS.toNanos(30))) {
            ChunkId chunk = new ChunkId(9, 0);
            f.write(1, 1, chunk, 0, "old".getBytes());
            CountDownLatch atTail = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            f.wire = n -> n != 2 ? f.nodes.get(n) : new Forwarding(f.nodes.get(2)) {
                @Override
                public ChunkMeta write(WriteRequest r) {
                    atTail.countDown();
                    await(release);
                    return super.write(r);
                }
            };
            Thread writer = Thread.ofPlatform().start(() -> f.write(1, 2, chunk, 0, "new".getBytes()));
            assertThat(atTail.await(10, TimeUnit.SECONDS)).isTrue();
            for (int head : new int[] {0, 1}) {
                assertThatThrownBy(() -> f.nodes.get(head).read(head + 1, chunk, 0, 3, false))
                        .isInstanceOfSatisfying(StorageException.class,
                                e -> assertThat(e.code()).isEqualTo(StorageException.Code.NOT_COMMITTED));
            }
            assertThat(new String(f.nodes.get(2).read(3, chunk, 0, 3, false))).isEqualTo("old");
            release.countDown();
            writer.join(10_000);
            for (int n = 0; n < 3; n++) {
                assertThat(new String(f.nodes.get(n).read(n + 1, chunk, 0, 3, false))).isEqualTo("new");
            }
        }
    }

    @Test
    void aReturningMiddleTargetResyncsAndAllReplicasEndByteEqual() {
        try (ChainFixture f = new ChainFixture(dir, 3, TimeUnit.SECONDS.toNanos(5))) {
            Random rnd = new Random(7);
            for (int i = 0; i < 6; i++) {
                f.write(1, i + 1, new ChunkId(3, i), 0, bytes(rnd, 100_000));
            }
            AtomicBoolean middleUp = new AtomicBoolean(true);
            f.wire = n -> {
                if (n == 1 && !middleUp.get()) {
                    throw new StorageException(StorageException.Code.TIMEOUT, "node 1 is down");
                }
                return f.nodes.get(n);
            };
            middleUp.set(false);
            f.down.put(2L, LocalState.OFFLINE);
            assertThat(f.scan().targets()).extracting(ChainTarget::targetId).containsExactly(1L, 3L, 2L);
            for (int i = 0; i < 6; i++) { // overwrite some chunks, add new ones, while the middle is away
                f.write(1, 100 + i, new ChunkId(3, i * 2), 50_000, bytes(rnd, 80_000));
            }
            f.engine(2).replace(new ChunkId(99, 0), 4, 1, bytes(rnd, 10)); // only the returning replica has it
            middleUp.set(true);
            f.down.clear();
            f.nodes.get(1).setLocalState(2, LocalState.ONLINE);
            assertThat(f.scan().target(2).orElseThrow().state()).isEqualTo(PublicState.SYNCING);
            f.write(1, 200, new ChunkId(3, 1), 0, bytes(rnd, 10)); // a write while syncing reaches it whole
            int[] sentRemoved = ChainSyncer.sync(f.engine(3), 3, f.chain(), f.wire);
            assertThat(sentRemoved[1]).isEqualTo(1);
            assertThat(f.scan().targets()).extracting(ChainTarget::state).containsOnly(PublicState.SERVING);
            assertThat(f.engine(2).meta(new ChunkId(99, 0))).isNull();
            for (ChunkMeta m : f.engine(1).metas()) {
                for (long t = 2; t <= 3; t++) {
                    assertThat(f.engine(t).committedContent(m.id())).as("chunk %s on target %d", m.id(), t)
                            .isEqualTo(f.engine(1).committedContent(m.id()));
                }
            }
            assertThat(f.engine(2).metas()).hasSameSizeAs(f.engine(1).metas());
        }
    }

    /**
     * The soak test's failure, made deterministic: a chunk the returning replica held when its list
     * was taken is truncated away and then written again while the sync runs. The sync must not
     * remove the new write from the returning replica on the strength of its old list.
     */
    @Test
    void aChunkRemovedAndWrittenAgainDuringTheSyncSurvivesOnTheReturningReplica() {
        try (ChainFixture f = new ChainFixture(dir, 3, TimeUnit.SECONDS.toNanos(5))) {
            Random rnd = new Random(11);
            ChunkId reborn = new ChunkId(7, 0);
            ChunkId changed = new ChunkId(7, 1);
            f.write(1, 1, reborn, 0, bytes(rnd, 1000));
            f.write(1, 2, changed, 0, bytes(rnd, 1000));
            f.down.put(2L, LocalState.OFFLINE);
            f.scan();
            f.write(1, 3, changed, 0, bytes(rnd, 1000)); // differs on the returning replica: the sync sends it
            f.down.clear();
            f.nodes.get(1).setLocalState(2, LocalState.ONLINE);
            assertThat(f.scan().target(2).orElseThrow().state()).isEqualTo(PublicState.SYNCING);
            byte[] again = bytes(rnd, 500);
            AtomicBoolean rewritten = new AtomicBoolean();
            f.wire = n -> n != 1 ? f.nodes.get(n) : new Forwarding(f.nodes.get(1)) {
                @Override
                public List<ChunkMeta> chunkMetas(long t, long inode) {
                    List<ChunkMeta> list = super.chunkMetas(t, inode);
                    for (long target = 1; target <= 3; target++) { // truncated away on every replica
                        f.engine(target).remove(reborn);
                    }
                    return list;
                }

                @Override
                public void syncChunk(long t, long cv, ChunkId c, long v, byte[] content) {
                    super.syncChunk(t, cv, c, v, content);
                    if (rewritten.compareAndSet(false, true)) { // after the sync's own list: written again
                        f.write(1, 4, reborn, 0, again);
                    }
                }
            };
            ChainSyncer.sync(f.engine(3), 3, f.chain(), f.wire);
            assertThat(rewritten).isTrue();
            for (long t = 1; t <= 3; t++) {
                assertThat(f.engine(t).meta(reborn)).as("target %d", t).isNotNull();
                assertThat(f.engine(t).committedContent(reborn)).as("target %d", t).isEqualTo(again);
            }
        }
    }

    /** 3FS #345: the tail commits, then dies before its acknowledgement arrives. */
    @Test
    void theTailCommitsAndDiesBeforeAcknowledging() {
        try (ChainFixture f = new ChainFixture(dir, 3, TimeUnit.SECONDS.toNanos(10))) {
            ChunkId chunk = new ChunkId(4, 0);
            f.write(1, 1, chunk, 0, "v1".getBytes());
            AtomicBoolean tailDead = new AtomicBoolean();
            f.wire = n -> n != 2 ? f.nodes.get(n) : new Forwarding(f.nodes.get(2)) {
                @Override
                public ChunkMeta write(WriteRequest r) {
                    if (tailDead.get()) {
                        throw new StorageException(StorageException.Code.TIMEOUT, "node 2 is dead");
                    }
                    super.write(r); // committed on the tail ...
                    tailDead.set(true); // ... which dies before its acknowledgement leaves
                    Thread.ofVirtual().start(() -> { // the manager notices and takes it out
                        f.down.put(3L, dev.flyer.fs.chain.LocalState.OFFLINE);
                        f.scan();
                    });
                    throw new StorageException(StorageException.Code.TIMEOUT, "reply lost: node 2 died");
                }
            };
            ChunkMeta acked = f.write(1, 2, chunk, 0, "v2".getBytes());
            assertThat(acked.committedVersion()).isEqualTo(2);
            assertThat(f.chain().writeTargets()).extracting(ChainTarget::targetId).containsExactly(1L, 2L);
            for (long t = 1; t <= 3; t++) {
                assertThat(f.engine(t).meta(chunk).committedVersion()).as("target %d", t).isEqualTo(2);
                assertThat(new String(f.engine(t).committedContent(chunk))).isEqualTo("v2");
            }
            // The dead tail returns holding the same version with the same content: nothing to send.
            f.wire = f.nodes::get;
            f.down.clear();
            f.nodes.get(2).setLocalState(3, dev.flyer.fs.chain.LocalState.ONLINE);
            assertThat(f.scan().target(3).orElseThrow().state()).isEqualTo(PublicState.SYNCING);
            assertThat(ChainSyncer.sync(f.engine(2), 2, f.chain(), f.wire)).containsExactly(0, 0);
            f.scan();
            assertThat(f.write(1, 3, chunk, 0, "v3".getBytes()).committedVersion()).isEqualTo(3);
            for (long t = 1; t <= 3; t++) {
                assertThat(new String(f.engine(t).committedContent(chunk))).isEqualTo("v3");
            }
        }
    }

    /** A replica from an older history holds the same version number with other bytes: it must not acknowledge as a repeat. */
    @Test
    void aStaleReplicaWithTheSameVersionNumberIsOverwrittenNotTakenForARepeat() {
        try (ChainFixture f = new ChainFixture(dir, 3, TimeUnit.SECONDS.toNanos(5))) {
            ChunkId chunk = new ChunkId(8, 0);
            f.engine(3).replace(chunk, 1, 1, "stale bytes from before a truncate".getBytes()); // only the tail has it
            f.write(1, 1, chunk, 0, "fresh".getBytes());
            for (long t = 1; t <= 3; t++) {
                assertThat(new String(f.engine(t).committedContent(chunk))).as("target %d", t).isEqualTo("fresh");
            }
            f.engine(2).replace(chunk, 2, 1, "middle diverged".getBytes()); // same next version, other bytes
            f.write(1, 2, chunk, 0, "again".getBytes());
            for (long t = 1; t <= 3; t++) {
                assertThat(new String(f.engine(t).committedContent(chunk))).as("target %d", t).isEqualTo("again");
                assertThat(f.engine(t).meta(chunk).committedVersion()).isEqualTo(2);
            }
        }
    }

    @Test
    void writesToAStaleChainVersionOrANonHeadAreRefused() {
        try (ChainFixture f = new ChainFixture(dir, 2, TimeUnit.SECONDS.toNanos(5))) {
            ChunkId c = new ChunkId(1, 0);
            assertThatThrownBy(() -> f.nodes.get(0).write(new WriteRequest(1, 1, 99, c, 0, new byte[1], false, 0, 1, 1)))
                    .hasMessageContaining("STALE_CHAIN_VERSION");
            assertThatThrownBy(() -> f.nodes.get(1).write(new WriteRequest(2, 1, 1, c, 0, new byte[1], false, 0, 1, 1)))
                    .hasMessageContaining("not the head");
        }
    }

    static byte[] bytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    static void await(CountDownLatch l) {
        try {
            l.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Delegates every call; tests override one to inject a fault. */
    static class Forwarding implements StorageApi {
        final StorageApi to;

        Forwarding(StorageApi to) {
            this.to = to;
        }

        @Override
        public ChunkMeta write(WriteRequest r) {
            return to.write(r);
        }

        @Override
        public byte[] read(long t, ChunkId c, int o, int l, boolean relaxed) {
            return to.read(t, c, o, l, relaxed);
        }

        @Override
        public List<ChunkMeta> chunkMetas(long t, long inode) {
            return to.chunkMetas(t, inode);
        }

        @Override
        public void removeChunks(long t, int chain, long cv, long inode, long from) {
            to.removeChunks(t, chain, cv, inode, from);
        }

        @Override
        public void syncDone(long t, long cv) {
            to.syncDone(t, cv);
        }

        @Override
        public void syncChunk(long t, long cv, ChunkId c, long v, byte[] content) {
            to.syncChunk(t, cv, c, v, content);
        }
    }
}
