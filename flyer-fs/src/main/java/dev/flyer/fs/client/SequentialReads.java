package dev.flyer.fs.client;

import dev.flyer.fs.meta.Inode;
import dev.flyer.fs.meta.Layout;
import dev.flyer.fs.storage.ChunkId;
import dev.flyer.fs.storage.ReadAhead;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;

/**
 * One open file's read-ahead: after a read that starts where the previous read ended and ends on
 * a chunk boundary, the next {@link #WINDOW} chunks are being read from their files (same-host
 * local reads), so a sequential reader keeps {@link #WINDOW} chunk reads in flight instead of one.
 * The next read takes those bytes if its lease still holds ({@link ReadAhead}), so reads stay
 * linearizable; otherwise, and for every other read, it reads as usual.
 *
 * <p>Why: sequential 1 MiB reads in {@code bench fs} waited on the device at 59 % idle CPU, at
 * 0.47-0.72 of the raw disk's rate with the same 4 readers; 8 readers per side reached raw's
 * rate (the bench's read row in turns, with 8 threads). With two chunks ahead each flyer turn of that row read
 * 2.98-3.08 GB/s, against 2.03-2.36 without (raw: 4.0-4.9); one chunk ahead did not help (the
 * reader waited for it at once); four read no faster than two. Keeping the bytes in the pooled
 * huge-page buffer they were read into, instead of copying them to an array to wait, took 8
 * readers from 0.81-0.92 of raw (three 8 s runs in turns, 3.4-3.7 GB/s) to 0.93-0.94 (4.1-4.3
 * GB/s): perf had put a third of the machine in copy and CRC32C stubs. With the bench's 4 readers
 * the row was 0.78-0.92 while each chunk version was a file of its own (a plain O_DIRECT loop over
 * such files is itself only 0.6-0.8 of raw, see {@code ChunkFiles}); with chunks in slots of pack
 * files it is 0.89-0.95 (r=1) and 1.01-1.20 (r=3) in two full runs. A reader whose read-ahead came
 * back empty (another host, no replica it can read locally) stops reading ahead.
 *
 * <p>Implementation notes: a window of at most {@link #WINDOW} chunks ahead, in index order; a
 * read claims its chunk's entry (so two threads reading one handle at once never share one) and
 * releases it when done ({@link #done}); entries skipped or left at close are released when their
 * read finishes. The bytes wait in pooled direct-I/O buffers (no copy until the reader's), so a
 * steady sequential reader allocates no buffers. Each read-ahead is a virtual thread.
 * {@code -Dflyer.fs.readAheadChunks=N} sets the window (default 2).
 */
final class SequentialReads {
    private static final ExecutorService READERS = Executors.newVirtualThreadPerTaskExecutor();

    /** The chunk being read ahead, and its bytes when done (null: it could not be read ahead). */
    record Ahead(long index, CompletableFuture<ReadAhead> bytes) {
        /** The bytes, waiting for the read if it still runs; null when there are none. */
        ReadAhead join() {
            try {
                return bytes.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            } catch (java.util.concurrent.ExecutionException e) {
                return null;
            }
        }

        /** Gives the bytes' buffer back once the read is done (now, when it is). */
        void release() {
            bytes.thenAccept(r -> {
                if (r != null) {
                    r.release();
                }
            });
        }
    }

    /** Chunks read ahead of a sequential reader: with 2, the device has two of its reads at a time. */
    static final int WINDOW = Integer.getInteger("flyer.fs.readAheadChunks", 2);

    private final FsClient client;
    private final Inode inode;
    /** The chunks being read ahead, in index order (guarded by this). */
    private final java.util.ArrayDeque<Ahead> window = new java.util.ArrayDeque<>();
    private volatile long lastEnd = -1;
    private volatile boolean off = !Boolean.parseBoolean(System.getProperty("flyer.fs.readAhead", "true"));

    SequentialReads(FsClient client, Inode inode) {
        this.client = client;
        this.inode = inode;
    }

    /** Takes the read-ahead of the chunk that holds {@code position} out of the window, dropping any before it. */
    synchronized Ahead claim(long position) {
        long index = position / inode.layout().chunkSize();
        while (!window.isEmpty() && window.peekFirst().index() < index) {
            window.pollFirst().release();
        }
        return !window.isEmpty() && window.peekFirst().index() == index ? window.pollFirst() : null;
    }

    /**
     * Copies [offsetInChunk, + length) of chunk {@code index} from {@code a}; returns the bytes
     * copied, or -1 when {@code a} is another chunk, empty or stale (read as usual then).
     */
    int copy(Ahead a, long index, int offsetInChunk, int length, byte[] dst, int dstOffset) {
        if (a == null || a.index() != index) {
            return -1;
        }
        ReadAhead bytes = a.join();
        if (bytes == null) {
            off = true;
            return -1;
        }
        return bytes.copy(offsetInChunk, length, dst, dstOffset);
    }

    /**
     * After a read of [position, position + n): when it continued the last one up to a chunk's
     * end, keeps the next {@link #WINDOW} chunks being read ahead.
     */
    void after(long position, int n, LongSupplier fileLength) {
        long end = position + n;
        boolean sequential = position == lastEnd;
        lastEnd = end;
        Layout l = inode.layout();
        long length = fileLength.getAsLong();
        if (off || !sequential || n == 0 || end % l.chunkSize() != 0) {
            return;
        }
        synchronized (this) {
            if (off) { // closed meanwhile
                return;
            }
            long next = window.isEmpty() ? end / l.chunkSize() : window.peekLast().index() + 1;
            for (; window.size() < WINDOW && next * l.chunkSize() < length; next++) {
                int bytes = (int) Math.min(l.chunkSize(), length - next * l.chunkSize());
                ChunkId id = new ChunkId(inode.id(), next);
                int chain = l.chainOf(next);
                window.addLast(new Ahead(next, CompletableFuture.supplyAsync(() -> client.storage().readAhead(chain, id, bytes), READERS)));
            }
        }
    }

    /** Ends a read's use of the read-ahead it claimed (null: none). */
    void done(Ahead used) {
        if (used != null) {
            used.release();
        }
    }

    /** Stops reading ahead and releases what was read ahead (the file is closed). */
    synchronized void close() {
        off = true;
        while (!window.isEmpty()) {
            window.pollFirst().release();
        }
    }
}
