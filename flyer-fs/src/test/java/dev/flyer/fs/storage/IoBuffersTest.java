package dev.flyer.fs.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The direct-I/O buffers: {@link IoMemory}, the shared {@link BufferPool}, and {@link ReadAhead}'s hand-back. */
class IoBuffersTest {
    @Test
    void ioMemoryIsZeroedWritableAndHugePageAlignedOnLinux() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = IoMemory.allocate(3 << 20, arena);
            assertThat(m.byteSize()).isEqualTo(3 << 20);
            if (System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
                assertThat(m.address() % (2 << 20)).as("2 MiB aligned").isZero();
            }
            assertThat(m.get(ValueLayout.JAVA_BYTE, 0)).isZero();
            assertThat(m.get(ValueLayout.JAVA_BYTE, (3 << 20) - 1)).isZero();
            m.fill((byte) 7);
            assertThat(m.get(ValueLayout.JAVA_BYTE, 12345)).isEqualTo((byte) 7);
        } // unmapped here; a crash would end the test JVM
        assertThatThrownBy(() -> IoMemory.allocate(0, Arena.global())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pooledBuffersAreAlignedDisjointAndReused() {
        List<MemorySegment> taken = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            taken.add(BufferPool.SHARED.take());
        }
        for (MemorySegment b : taken) {
            assertThat(b.byteSize()).isEqualTo(BufferPool.BUFFER_BYTES);
            assertThat(b.address() % BufferPool.MAX_ALIGNMENT).isZero();
        }
        List<MemorySegment> sorted = new ArrayList<>(taken);
        sorted.sort(java.util.Comparator.comparingLong(MemorySegment::address));
        for (int i = 1; i < sorted.size(); i++) {
            assertThat(sorted.get(i).address()).as("buffers do not overlap")
                    .isGreaterThanOrEqualTo(sorted.get(i - 1).address() + BufferPool.BUFFER_BYTES);
        }
        MemorySegment first = taken.getFirst();
        taken.forEach(BufferPool.SHARED::giveBack);
        List<MemorySegment> again = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            again.add(BufferPool.SHARED.take());
        }
        assertThat(again).extracting(MemorySegment::address).contains(first.address());
        again.forEach(BufferPool.SHARED::giveBack);
    }

    @Test
    void aReadAheadGivesItsBufferBackOnceAndCopiesNothingAfter() {
        AtomicInteger givenBack = new AtomicInteger();
        MemorySegment buffer = Arena.ofAuto().allocate(16);
        buffer.set(ValueLayout.JAVA_BYTE, 3, (byte) 9);
        boolean[] holds = {true};
        ReadAhead r = new ReadAhead(buffer, 10, () -> holds[0], b -> givenBack.incrementAndGet());
        byte[] dst = new byte[8];
        assertThat(r.copy(2, 8, dst, 0)).isEqualTo(8);
        assertThat(dst[1]).isEqualTo((byte) 9);
        assertThat(r.copy(6, 8, dst, 0)).as("shorter at the chunk's end").isEqualTo(4);
        holds[0] = false;
        assertThat(r.copy(0, 4, dst, 0)).as("the lease moved").isEqualTo(-1);
        holds[0] = true;
        r.release();
        r.release();
        assertThat(givenBack).hasValue(1);
        assertThat(r.copy(0, 4, dst, 0)).as("released").isEqualTo(-1);
    }
}
