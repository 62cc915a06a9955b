package dev.flyer.ep.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A grow-only off-heap region reused across calls: {@link #ensure} returns a segment of at least
 * the asked size, reallocating (and freeing the old one) only when it grows, so steady-state calls
 * of one shape allocate nothing. Shared arena: communication threads read and write it.
 */
public final class Slab implements AutoCloseable {
    private Arena arena;
    private MemorySegment segment = MemorySegment.NULL;

    /** A segment of exactly {@code bytes} at the start of the region (old contents are not kept on growth). */
    public MemorySegment ensure(long bytes) {
        if (segment.byteSize() < bytes) {
            close();
            arena = Arena.ofShared();
            segment = arena.allocate(Math.max(bytes, segment.byteSize() + segment.byteSize() / 4), 64);
        }
        return segment.asSlice(0, bytes);
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
            arena = null;
            segment = MemorySegment.NULL;
        }
    }
}
