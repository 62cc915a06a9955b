package dev.flyer.fs.storage;

import java.util.function.BooleanSupplier;

/**
 * A chunk's committed bytes read before they are asked for (a sequential reader's next chunk),
 * good while the local-read lease they were read under holds. {@link #copy} checks the lease
 * first, so a copy is as linearizable as a read at the moment of the copy: no update of the chunk
 * can have committed between the read and the check. It answers -1 once the chunk may have
 * changed; the caller then reads it again.
 */
public final class ReadAhead {
    private final byte[] bytes;
    private final int length;
    private final BooleanSupplier holds;

    ReadAhead(byte[] bytes, int length, BooleanSupplier holds) {
        this.bytes = bytes;
        this.length = length;
        this.holds = holds;
    }

    /** The array the bytes were read into (the caller may reuse it once done with this). */
    public byte[] buffer() {
        return bytes;
    }

    /**
     * Copies [offset, offset + n) of the chunk (shorter at its end) to {@code dst}; returns the
     * bytes copied, or -1 when the lease no longer holds.
     */
    public int copy(int offset, int n, byte[] dst, int dstOffset) {
        if (!holds.getAsBoolean()) {
            return -1;
        }
        int got = Math.max(0, Math.min(n, length - offset));
        System.arraycopy(bytes, offset, dst, dstOffset, got);
        LocalReads.readAheadUsed();
        return got;
    }
}
