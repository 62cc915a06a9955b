package dev.flyer.fs.storage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The process's aligned direct-I/O buffers of {@link #BUFFER_BYTES} (a default 1 MiB chunk and
 * the blocks around a read of one), shared by every {@link ChunkFiles}: the storage service's
 * engines and a client's local reads alike, so the steady data path allocates no native memory.
 *
 * <p>Implementation notes. Buffers are carved {@link #PER_SLAB} at a time from one
 * {@link IoMemory} slab (huge pages: a buffer is at most two physically contiguous pieces, so a
 * chunk reaches the disk as one request), up to {@link #MAX_BUFFERS}; slabs live as long as the
 * process. Past that many buffers in use at once, a borrower gets a buffer of its own (collected
 * with its arena), as every borrower did before the pool. Offsets are multiples of
 * {@code BUFFER_BYTES}, itself a multiple of 64 KiB, so every buffer meets any file system's
 * direct-I/O alignment up to 64 KiB.
 */
final class BufferPool {
    static final int BUFFER_BYTES = (1 << 20) + (128 << 10);
    /** The largest direct-I/O alignment the pooled buffers meet. */
    static final int MAX_ALIGNMENT = 64 << 10;
    private static final int PER_SLAB = 8;
    private static final int MAX_BUFFERS = 64;
    static final BufferPool SHARED = new BufferPool();

    private final ArrayBlockingQueue<MemorySegment> free = new ArrayBlockingQueue<>(MAX_BUFFERS);
    private final AtomicInteger carved = new AtomicInteger();
    private final AtomicInteger inUse = new AtomicInteger();

    private BufferPool() {}

    /** A buffer of {@link #BUFFER_BYTES}, aligned to {@link #MAX_ALIGNMENT}. */
    MemorySegment take() {
        inUse.incrementAndGet();
        MemorySegment buffer = free.poll();
        if (buffer != null) {
            return buffer;
        }
        if (carved.addAndGet(PER_SLAB) <= MAX_BUFFERS) {
            MemorySegment slab = IoMemory.allocate((long) PER_SLAB * BUFFER_BYTES, Arena.global());
            for (int i = 1; i < PER_SLAB; i++) {
                free.offer(slab.asSlice((long) i * BUFFER_BYTES, BUFFER_BYTES));
            }
            return slab.asSlice(0, BUFFER_BYTES);
        }
        return Arena.ofAuto().allocate(BUFFER_BYTES, MAX_ALIGNMENT);
    }

    /** Buffers taken and not given back (a leak shows here). */
    int inUse() {
        return inUse.get();
    }

    /** Takes back a buffer {@link #take} gave; one of another size is not the pool's and is left to its arena. */
    void giveBack(MemorySegment buffer) {
        if (buffer.byteSize() != BUFFER_BYTES) {
            return;
        }
        inUse.decrementAndGet();
        free.offer(buffer); // dropped when the pool is full: one the pool did not carve
    }
}
