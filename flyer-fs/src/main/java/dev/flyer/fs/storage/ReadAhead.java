package dev.flyer.fs.storage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A chunk's committed bytes read before they are asked for (a sequential reader's next chunk),
 * good while the local-read lease they were read under holds. {@link #copy} checks the lease
 * first, so a copy is as linearizable as a read at the moment of the copy: no update of the chunk
 * can have committed between the read and the check. It answers -1 once the chunk may have
 * changed; the caller then reads it again.
 *
 * <p>The bytes stay in the pooled direct-I/O buffer they were read and verified in (no copy until
 * the reader's own); one owner at a time uses it and then {@link #release}s it to the pool.
 */
public final class ReadAhead {
    private final AtomicReference<MemorySegment> buffer;
    private final int length;
    private final BooleanSupplier holds;
    private final Consumer<MemorySegment> giveBack;

    ReadAhead(MemorySegment buffer, int length, BooleanSupplier holds, Consumer<MemorySegment> giveBack) {
        this.buffer = new AtomicReference<>(buffer);
        this.length = length;
        this.holds = holds;
        this.giveBack = giveBack;
    }

    /**
     * Copies [offset, offset + n) of the chunk (shorter at its end) to {@code dst}; returns the
     * bytes copied, or -1 when the lease no longer holds or the buffer was released.
     */
    public int copy(int offset, int n, byte[] dst, int dstOffset) {
        MemorySegment b = buffer.get();
        if (b == null || !holds.getAsBoolean()) {
            return -1;
        }
        int got = Math.max(0, Math.min(n, length - offset));
        MemorySegment.copy(b, ValueLayout.JAVA_BYTE, offset, dst, dstOffset, got);
        LocalReads.readAheadUsed();
        return got;
    }

    /** Gives the buffer back to its pool (once; later calls and copies find none). */
    public void release() {
        MemorySegment b = buffer.getAndSet(null);
        if (b != null) {
            giveBack.accept(b);
        }
    }
}
