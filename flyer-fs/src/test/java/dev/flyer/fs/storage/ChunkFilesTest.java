package dev.flyer.fs.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Direct I/O (O_DIRECT, aligned blocks, padded writes cut back, bounce buffers) against buffered
 * I/O, the reference: the same random updates and reads give the same bytes through every kind
 * of destination buffer (heap, unaligned direct, aligned direct).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ChunkFilesTest {
    @TempDir
    Path dir;

    @Test
    void directAndBufferedEnginesAgreeOnRandomUpdatesAndReads() {
        long seed = System.nanoTime();
        System.out.println("ChunkFilesTest seed " + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        try (ChunkEngine direct = ChunkEngine.open(dir.resolve("direct"), false, true);
                ChunkEngine buffered = ChunkEngine.open(dir.resolve("buffered"), false, false);
                Arena arena = Arena.ofConfined()) {
            assertThat(buffered.directIo()).isFalse();
            System.out.println("direct I/O available here: " + direct.directIo());
            int[] lengths = {0, 1, 511, 4095, 4096, 4097, 65_535, 65_536, 65_537, 300_001, 1 << 20};
            for (int step = 0; step < 60; step++) {
                ChunkId id = new ChunkId(1, rnd.nextInt(4));
                int length = lengths[rnd.nextInt(lengths.length)];
                int offset = rnd.nextBoolean() ? 0 : rnd.nextInt(200_000);
                byte[] data = new byte[length];
                rnd.nextBytes(data);
                for (ChunkEngine e : new ChunkEngine[] {direct, buffered}) {
                    ChunkMeta m = e.meta(id);
                    long v = (m == null ? 0 : m.committedVersion()) + 1;
                    e.stage(id, v, 1, offset, data, false);
                    e.commit(id, v, 1);
                }
                assertThat(direct.meta(id).committedSignature()).isEqualTo(buffered.meta(id).committedSignature());
                int total = buffered.meta(id).committedLength();
                int from = total == 0 ? 0 : rnd.nextInt(total);
                int n = rnd.nextInt(Math.max(1, total - from) + 10);
                byte[] want = buffered.read(id, from, n, false);
                assertThat(direct.read(id, from, n, false)).as("heap read, step %d", step).isEqualTo(want);
                MemorySegment raw = arena.allocate(n + 3 * ChunkMeta.BLOCK_BYTES + 8192, 4096);
                for (long misalign : new long[] {0, 3}) {
                    int got = direct.readInto(id, from, n, false,
                            capacity -> raw.asSlice(misalign, capacity).asByteBuffer());
                    ByteBuffer view = raw.asSlice(misalign, got).asByteBuffer();
                    byte[] bytes = new byte[got];
                    view.get(bytes);
                    assertThat(bytes).as("direct buffer misaligned by %d, step %d", misalign, step).isEqualTo(want);
                }
                assertThat(direct.committedContent(id)).isEqualTo(buffered.committedContent(id));
            }
        }
    }

    @Test
    void localReadersShareOneInstancePerDirectIoChoiceAndAlignment() {
        assertThat(ChunkFiles.like(true, 4096)).as("one buffer pool for every lease").isSameAs(ChunkFiles.like(true, 4096));
        assertThat(ChunkFiles.like(false, 4096)).isNotSameAs(ChunkFiles.like(true, 4096));
        assertThat(ChunkFiles.like(false, 4096).alignment()).as("buffered reads need no alignment").isEqualTo(1);
    }
}
