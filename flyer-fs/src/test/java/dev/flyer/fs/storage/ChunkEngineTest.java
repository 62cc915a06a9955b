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
            e.awaitDeletes();
            assertThat(e.dataFile(id, 1)).doesNotExist();
            assertThat(e.metasOf(7)).hasSize(1);
            assertThat(e.metasOf(8)).isEmpty();
        }
    }

    @Test
    void crashBetweenDataWriteAndMetadataCommitLeavesTheOldVersion() throws Exception {
        ChunkId id = new ChunkId(9, 3);
        Path orphan;
        try (ChunkEngine e = ChunkEngine.open(dir, false)) {
            e.stage(id, 1, 1, 0, fill(1000, 1), true);
            e.commit(id, 1, 1);
            orphan = e.dataFile(id, 2);
            Files.write(orphan, fill(1000, 2)); // the data of v2 landed, its metadata never did
        }
        try (ChunkEngine e = ChunkEngine.open(dir, false)) {
            assertThat(e.read(id, 0, 1000, false)).isEqualTo(fill(1000, 1));
            assertThat(orphan).as("orphan data is removed on open").doesNotExist();
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
            Path f = e.dataFile(id, 5);
            byte[] raw = Files.readAllBytes(f);
            raw[150_000] ^= 0x40;
            Files.write(f, raw);
            assertThat(e.read(id, 0, 1000, false)).as("blocks untouched by the flip still verify").hasSize(1000);
            assertThatThrownBy(() -> e.read(id, 140_000, 20_000, false)).isInstanceOfSatisfying(StorageException.class,
                    x -> assertThat(x.code()).isEqualTo(StorageException.Code.CHECKSUM_MISMATCH));
            e.replace(id, 5, 2, fill(200_000, 4));
            assertThat(e.read(id, 140_000, 20_000, false)).isEqualTo(fill(20_000, 4));
        }
    }

    @Test
    void readsDuringOverwritesSeeOldOrNewNeverAMix() throws Exception {
        ChunkId id = new ChunkId(2, 0);
        int n = 256 << 10;
        try (ChunkEngine e = ChunkEngine.open(dir, false)) {
            e.replace(id, 1, 1, fill(n, 1));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger reads = new AtomicInteger();
            Thread reader = Thread.ofPlatform().start(() -> {
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
            });
            for (int v = 2; v < 60; v++) {
                e.stage(id, v, 1, 0, fill(n, v), false);
                e.commit(id, v, 1);
            }
            stop.set(true);
            reader.join();
            assertThat(reads.get()).isPositive();
            assertThat(e.read(id, 0, 1, false)).containsExactly(59);
        }
    }
}
