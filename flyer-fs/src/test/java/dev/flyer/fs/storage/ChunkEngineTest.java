package dev.flyer.fs.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ChunkEngineTest {
    @TempDir
    Path dir;

    static byte[] fill(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void stageCommitReadAndPartialUpdates() {
        ChunkId id = new ChunkId(7, 0);
        try (ChunkEngine e = ChunkEngine.open(dir, false)) {
            e.stage(id, 1, 1, 0, fill(100_000, 1), false);
            assertThatThrownBy(() -> e.read(id, 0, 10, false)).isInstanceOfSatisfying(StorageException.class,
                    x -> assertThat(x.code()).isEqualTo(StorageException.Code.NOT_COMMITTED));
            assertThat(e.read(id, 0, 3, true)).containsExactly(1, 1, 1);
            e.commit(id, 1, 1);
            e.stage(id, 2, 1, 99_998, fill(4, 2), false);
            assertThat(e.read(id, 99_990, 100, true)).hasSize(12).endsWith(2, 2, 2, 2);
            e.commit(id, 2, 1);
            ChunkMeta m = e.meta(id);
            assertThat(m.committedVersion()).isEqualTo(2);
            assertThat(m.committedLength()).isEqualTo(100_002);
            assertThat(m.hasPending()).isFalse();
            assertThat(e.read(id, 99_997, 10, false)).containsExactly(1, 2, 2, 2, 2);
            assertThat(e.read(id, 200_000, 10, false)).isEmpty();
            assertThat(e.slotsInUse()).as("the replaced versions' slots are free").isEqualTo(1);
            assertThat(e.metasOf(7)).hasSize(1);
            assertThat(e.metasOf(8)).isEmpty();
        }
    }

    @Test
    void crashBetweenDataWriteAndMetadataCommitLeavesTheOldVersion() throws Exception {
        ChunkId id = new ChunkId(9, 3);
        try (ChunkEngine e = ChunkEngine.open(dir, false)) {
            e.stage(id, 1, 1, 0, fill(1000, 1), true);
            e.commit(id, 1, 1);
            ChunkEngine.Location v1 = e.location(id, 1);
            try (var ch = java.nio.channels.FileChannel.open(v1.file(), java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(fill(1000, 2)), v1.offset() + 4096); // v2's bytes landed, its metadata never did
            }
            Files.writeString(dir.resolve("data").resolve("stray"), "not a pack file");
        }
        try (ChunkEngine e = ChunkEngine.open(dir, false)) {
            assertThat(e.read(id, 0, 1000, false)).isEqualTo(fill(1000, 1));
            assertThat(e.slotsInUse()).as("a slot no metadata names is free after open").isEqualTo(1);
            assertThat(dir.resolve("data").resolve("stray")).as("stray files are removed on open").doesNotExist();
            e.stage(id, 2, 1, 0, fill(10, 3), false);
        }
        try (ChunkEngine e = ChunkEngine.open(dir, false)) {
            assertThat(e.meta(id).pendingVersion()).as("a staged version survives restart as pending").isEqualTo(2);
            assertThat(e.read(id, 0, 1, true)).containsExactly(3);
            e.commit(id, 2, 1);
            assertThat(e.read(id, 0, 12, false)).startsWith(3, 3).endsWith(1, 1);
        }
    }

    @Test
    void flippedBytesAreDetected() throws Exception {
        ChunkId id = new ChunkId(1, 1);
        try (ChunkEngine e = ChunkEngine.open(dir, false)) {
            e.replace(id, 5, 2, fill(200_000, 4));
            StorageFaults.flipCommittedByte(e, id, 150_000, 0x40);
            assertThat(e.read(id, 0, 1000, false)).as("blocks untouched by the flip still verify").hasSize(1000);
            assertThatThrownBy(() -> e.read(id, 140_000, 20_000, false)).isInstanceOfSatisfying(StorageException.class,
                    x -> assertThat(x.code()).isEqualTo(StorageException.Code.CHECKSUM_MISMATCH));
            e.replace(id, 5, 2, fill(200_000, 4));
            assertThat(e.read(id, 140_000, 20_000, false)).isEqualTo(fill(20_000, 4));
        }
    }

    @Test
    void slotsNamedByMetadataSurviveReopenAndAreNotHandedOutAgain() {
        try (ChunkEngine e = ChunkEngine.open(dir, false)) {
            for (int i = 0; i < 20; i++) {
                e.replace(new ChunkId(3, i), 1, 1, fill(5000 * (i + 1), i));
            }
            e.stage(new ChunkId(3, 0), 2, 1, 0, fill(100, 99), false); // pending over committed: two slots
        }
        try (ChunkEngine e = ChunkEngine.open(dir, false)) {
            assertThat(e.slotsInUse()).isEqualTo(21);
            for (int i = 0; i < 20; i++) {
                e.replace(new ChunkId(4, i), 1, 1, fill(5000 * (i + 1), 100 + i));
            }
            for (int i = 0; i < 20; i++) {
                if (i > 0) { // chunk 0 has a pending version, and answers NOT_COMMITTED
                    assertThat(e.read(new ChunkId(3, i), 0, 5000 * (i + 1), false)).isEqualTo(fill(5000 * (i + 1), i));
                }
                assertThat(e.read(new ChunkId(4, i), 0, 5000 * (i + 1), false)).isEqualTo(fill(5000 * (i + 1), 100 + i));
            }
            assertThat(e.read(new ChunkId(3, 0), 0, 3, true)).containsExactly(99, 99, 99);
            e.remove(new ChunkId(3, 0));
            assertThat(e.slotsInUse()).as("a removed chunk frees both its versions' slots").isEqualTo(39);
        }
    }

    @Test
    void removedChunksGiveTheirPackFilesTailsBackToTheFileSystem() throws Exception {
        try (ChunkEngine e = ChunkEngine.open(dir, false, true, 0)) {
            for (int i = 0; i < 12; i++) { // three 1 MiB slots in each of the four stripe files
                e.replace(new ChunkId(5, i), 1, 1, fill(1 << 20, i));
            }
            Path file0 = e.location(new ChunkId(5, 0), 1).file();
            assertThat(Files.size(file0)).isEqualTo(3L << 20);
            e.remove(new ChunkId(5, 8)); // file 0's last slot
            e.remove(new ChunkId(5, 4)); // and the one before it
            e.remove(new ChunkId(5, 1)); // file 1's first slot: space between used slots stays
            assertThat(e.trim()).isEqualTo(2L << 20);
            assertThat(Files.size(file0)).isEqualTo(1L << 20);
            assertThat(e.read(new ChunkId(5, 0), 0, 1 << 20, false)).isEqualTo(fill(1 << 20, 0));
            assertThat(e.read(new ChunkId(5, 9), 0, 1 << 20, false)).isEqualTo(fill(1 << 20, 9));
            for (int i : new int[] {0, 2, 3, 5, 6, 7, 9, 10, 11}) {
                e.remove(new ChunkId(5, i));
            }
            assertThat(e.trim()).as("file 0 kept 1 MiB, files 1-3 three each").isEqualTo(10L << 20);
            try (java.util.stream.Stream<Path> packs = Files.walk(dir.resolve("data"))) {
                assertThat(packs.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum())
                        .as("no chunks, no bytes on disk").isZero();
            }
        }
    }

    @Test
    void aDirectoryOfTheOldFilePerVersionLayoutIsRefusedNotWiped() throws Exception {
        try (ChunkEngine e = ChunkEngine.open(dir, false)) {
            e.replace(new ChunkId(1, 0), 1, 1, fill(10, 1));
        }
        try (org.rocksdb.Options o = new org.rocksdb.Options(); org.rocksdb.RocksDB db = org.rocksdb.RocksDB.open(o, dir.resolve("meta").toString())) {
            db.put(new ChunkId(1, 0).encode(), ChunkMeta.decode(new ChunkId(1, 0), db.get(new ChunkId(1, 0).encode())).encode());
        }
        Path old = Files.createDirectories(dir.resolve("data").resolve("1")).resolve("0.1");
        Files.write(old, fill(10, 1));
        assertThatThrownBy(() -> ChunkEngine.open(dir, false)).isInstanceOfSatisfying(StorageException.class,
                x -> assertThat(x.getMessage()).contains("older Flyer"));
        assertThat(old).as("nothing stored is deleted").exists();
    }

    @Test
    void readsDuringOverwritesSeeOldOrNewNeverAMix() throws Exception {
        ChunkId id = new ChunkId(2, 0);
        int n = 256 << 10;
        try (ChunkEngine e = ChunkEngine.open(dir, false, true, 0)) { // freed slots reused at once: reads race the reuse
            e.replace(id, 1, 1, fill(n, 1));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger reads = new AtomicInteger();
            java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
            Thread reader = Thread.ofPlatform().start(() -> {
                try {
                    while (!stop.get()) {
                        byte[] got = e.read(id, 0, n, true);
                        byte first = got[0];
                        for (byte x : got) {
                            if (x != first) {
                                throw new AssertionError("mixed read: " + first + " and " + x);
                            }
                        }
                        reads.incrementAndGet();
                    }
                } catch (Throwable t) {
                    failed.set(t);
                }
            });
            for (int v = 2; v < 400; v++) {
                e.stage(id, v, 1, 0, fill(n, v), false);
                e.commit(id, v, 1);
            }
            stop.set(true);
            reader.join();
            assertThat(failed.get()).as("the reader's failure").isNull();
            assertThat(reads.get()).isPositive();
            assertThat(e.read(id, 0, 1, false)).containsExactly((byte) 399);
        }
    }
}
