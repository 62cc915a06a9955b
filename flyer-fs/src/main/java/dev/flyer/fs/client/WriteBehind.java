package dev.flyer.fs.client;

import dev.flyer.fs.meta.FsException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The chunk writes of one open file still on their way through their chains after
 * {@link FsFile#write} returned: a write starts its pieces at once and returns when no more than
 * {@code windowBytes} of this file's pieces are still in flight, so a writer keeps several chunk
 * writes going (HDFS's output stream keeps a window of packets unacknowledged the same way).
 * {@link #drain} waits for all of them; {@code fsync} and {@code close} drain and report a failure.
 *
 * <p>Implementation notes:
 * <ul>
 * <li>Each piece's bytes are copied before the write returns (the caller may reuse its array),
 *     into a pooled chunk-sized array when the piece is a whole chunk (the pool holds at most
 *     {@code windowBytes}), else into a new array of its length.</li>
 * <li>Order: a piece waits until the piece in flight for the same chunk, if any, has finished, so
 *     two writes of one chunk reach its chain in the order they were made.</li>
 * <li>Failure: the first piece that fails (after the storage client's own retries until its
 *     deadline) is kept; every later {@link #checkFailure} throws it, so the file's next write,
 *     {@code fsync} or {@code close} reports it. A failed file stays failed.</li>
 * <li>Length hint: {@link #safeEnd} is never past the start of a piece still in flight, so the
 *     length a writer reports while writing never covers bytes not yet on every replica.</li>
 * <li>All state is guarded by this object's monitor; pieces run on virtual threads.</li>
 * </ul>
 */
final class WriteBehind {
    /** A chunk write: runs with the piece's own copy of its bytes. */
    interface PieceWrite {
        void run(byte[] bytes);
    }

    private final String path;
    private final int chunkBytes;
    private final long windowBytes;
    /** File offset of the piece in flight, by chunk index. */
    private final Map<Long, Long> byChunk = new HashMap<>();
    private final ArrayDeque<byte[]> pool = new ArrayDeque<>();
    private long inFlightBytes;
    private FsException failure;

    WriteBehind(String path, int chunkBytes, long windowBytes) {
        if (windowBytes < 0) {
            throw new IllegalArgumentException("write-behind window of " + windowBytes + " bytes");
        }
        this.path = path;
        this.chunkBytes = chunkBytes;
        this.windowBytes = windowBytes;
    }

    /** Starts writing {@code length} bytes of {@code src} at {@code offset} as chunk {@code index}'s piece at file offset {@code fileOffset}. */
    void start(long index, long fileOffset, byte[] src, int offset, int length, PieceWrite write) {
        byte[] bytes;
        synchronized (this) {
            while (byChunk.containsKey(index)) {
                await();
            }
            bytes = length == chunkBytes && !pool.isEmpty() ? pool.pop() : new byte[length];
            byChunk.put(index, fileOffset);
            inFlightBytes += length;
        }
        System.arraycopy(src, offset, bytes, 0, length);
        Thread.ofVirtual().name("flyer-write-behind").start(() -> {
            FsException failed = null;
            try {
                write.run(bytes);
            } catch (FsException e) {
                failed = e;
            } catch (RuntimeException | Error e) { // whatever it was, the piece ends: drain must not wait forever
                failed = new FsException(FsException.Code.IO_ERROR, "write of " + path + " at " + fileOffset + ": " + e);
            } finally {
                finished(index, bytes, failed);
            }
        });
    }

    private synchronized void finished(long index, byte[] bytes, FsException failed) {
        byChunk.remove(index);
        inFlightBytes -= bytes.length;
        if (failed != null && failure == null) {
            failure = failed;
        }
        if (bytes.length == chunkBytes && (long) (pool.size() + 1) * chunkBytes <= windowBytes) {
            pool.push(bytes);
        }
        notifyAll();
    }

    /** Waits until at most {@code windowBytes} are in flight. */
    synchronized void settle() {
        while (inFlightBytes > windowBytes) {
            await();
        }
    }

    /** Waits until nothing is in flight. */
    synchronized void drain() {
        while (inFlightBytes > 0) {
            await();
        }
    }

    /** Throws the first failure of a piece, if one failed. */
    synchronized void checkFailure() {
        FsException e = failure();
        if (e != null) {
            throw e;
        }
    }

    /** The first failure of a piece as an exception to throw here (its cause: the piece's own), or null. */
    synchronized FsException failure() {
        if (failure == null) {
            return null;
        }
        String message = failure.getMessage().substring(failure.code().errno.length() + 2);
        FsException e = new FsException(failure.code(), "a write of " + path + " failed: " + message);
        e.initCause(failure);
        return e;
    }

    /** {@code writtenEnd}, or the lowest file offset still in flight when that is lower. */
    synchronized long safeEnd(long writtenEnd) {
        long end = writtenEnd;
        for (long pieceOffset : byChunk.values()) {
            end = Math.min(end, pieceOffset);
        }
        return end;
    }

    private void await() {
        try {
            wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FsException(FsException.Code.IO_ERROR, "interrupted while writing " + path);
        }
    }
}
