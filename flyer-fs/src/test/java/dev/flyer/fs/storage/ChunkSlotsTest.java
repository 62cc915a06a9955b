package dev.flyer.fs.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Slot allocation in pack files: size classes, stripes, delayed reuse, maps rebuilt from metadata. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ChunkSlotsTest {
    @TempDir
    Path dir;

    ChunkSlots slots(long reuseDelayNs) {
        return new ChunkSlots(dir, ChunkFiles.like(false, 1), reuseDelayNs);
    }

    @Test
    void aVersionTakesTheSmallestPowerOfTwoSlotFromFourKibToSixtyFourMib() {
        ChunkSlots s = slots(0);
        assertThat(s.log2For(0)).isEqualTo(12);
        assertThat(s.log2For(4096)).isEqualTo(12);
        assertThat(s.log2For(4097)).isEqualTo(13);
        assertThat(s.log2For(1 << 20)).isEqualTo(20);
        assertThat(s.log2For((1 << 20) + 1)).isEqualTo(21);
        assertThat(s.log2For(64 << 20)).isEqualTo(26);
        assertThatThrownBy(() -> s.log2For((64 << 20) + 1)).isInstanceOfSatisfying(StorageException.class,
                e -> assertThat(e.code()).isEqualTo(StorageException.Code.INVALID_ARGUMENT));
        ChunkSlots aligned = new ChunkSlots(dir, ChunkFiles.like(true, 16 << 10), 0);
        assertThat(aligned.log2For(10)).as("a slot is a multiple of the direct-I/O alignment").isEqualTo(14);
    }

    @Test
    void consecutiveAllocationsRotateOverFourFilesAtTheirLowestFreeSlots() {
        ChunkSlots s = slots(0);
        List<ChunkEngine.Location> at = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            at.add(s.location(s.allocate(1 << 20)));
        }
        long perFile = ChunkSlots.FILE_BYTES >> 20;
        for (int i = 0; i < 8; i++) {
            assertThat(at.get(i).file()).isEqualTo(dir.resolve("1048576").resolve((i % 4) * 1 + ".pack"));
            assertThat(at.get(i).offset()).isEqualTo((i / 4) * (1L << 20));
        }
        assertThat(perFile).isEqualTo(256);
        assertThat(s.inUse()).isEqualTo(8);
    }

    @Test
    void aFreedSlotWaitsForTheReuseDelayAndAMarkedOneIsNeverHandedOut() throws Exception {
        ChunkSlots s = slots(TimeUnit.MILLISECONDS.toNanos(150));
        long first = s.allocate(100);
        s.free(first);
        assertThat(s.inUse()).isZero();
        Set<Long> soon = new HashSet<>();
        for (int i = 0; i < 8; i++) {
            soon.add(s.allocate(100));
        }
        assertThat(soon).as("reused within the delay").doesNotContain(first);
        Thread.sleep(200);
        Set<Long> later = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            later.add(s.allocate(100));
        }
        assertThat(later).as("the lowest free slot of its stripe again after the delay").contains(first);

        ChunkSlots reopened = slots(0);
        long named = (12L << 40) | 0; // stripe 0's lowest slot, named by stored metadata
        reopened.markUsed(named);
        assertThat(reopened.allocate(100)).isNotEqualTo(named);
        assertThat(reopened.inUse()).isEqualTo(2);
    }

    @Test
    void aSlotSizeBeingWrittenIsNotTrimmedAnIdleOneIs() throws Exception {
        ChunkSlots s = slots(0);
        long[] slot = new long[5];
        for (int i = 0; i < 5; i++) { // stripes 0, 1, 2, 3, then stripe 0's second slot
            slot[i] = s.allocate(4096);
            s.write(slot[i], new byte[4096], false);
        }
        s.free(slot[4]);
        assertThat(s.trim(TimeUnit.HOURS.toNanos(1))).as("allocated a moment ago: its free tail is about to be reused").isZero();
        assertThat(s.trim(0)).isEqualTo(4096);
        assertThat(java.nio.file.Files.size(s.location(slot[0]).file())).isEqualTo(4096);
        s.close();
    }

    @Test
    void randomAllocationsAndFreesNeverHandOutASlotInUse() {
        long seed = System.nanoTime();
        System.out.println("ChunkSlotsTest seed " + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        ChunkSlots s = slots(0);
        List<Long> live = new ArrayList<>();
        Set<Long> model = new HashSet<>();
        int[] sizes = {1, 4096, 10_000, 1 << 20, 3 << 20};
        for (int step = 0; step < 20_000; step++) {
            if (!live.isEmpty() && rnd.nextInt(3) == 0) {
                long slot = live.remove(rnd.nextInt(live.size()));
                model.remove(slot);
                s.free(slot);
            } else {
                long slot = s.allocate(sizes[rnd.nextInt(sizes.length)]);
                assertThat(model.add(slot)).as("step %d: slot %x handed out while in use (seed %d)", step, slot, seed).isTrue();
                live.add(slot);
            }
            assertThat(s.inUse()).isEqualTo(model.size());
        }
    }
}
