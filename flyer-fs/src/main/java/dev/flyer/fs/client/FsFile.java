package dev.flyer.fs.client;

import dev.flyer.fs.meta.FsException;
import dev.flyer.fs.meta.Inode;
import dev.flyer.fs.meta.Layout;
import dev.flyer.fs.storage.ChunkId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * An open file: positional reads and writes split at chunk boundaries and issued to the chunks'
 * chains in parallel (large batched I/O spreads over the file's stripe). A write returns once its
 * bytes are copied and at most {@link #WRITE_BEHIND_BYTES} of the file's writes are still on their
 * way ({@link WriteBehind}); {@link #fsync} and {@link #close} return when every byte written is
 * on all replicas, and throw if a write failed (so does the next write). Reads through this handle
 * see its writes. Writers report the highest offset written (and acknowledged) to the metadata
 * server as a length hint; {@link #close} ends the write session and the server sets the exact
 * length from storage.
 */
public final class FsFile implements AutoCloseable {
    private final FsClient client;
    private final String path;
    private final Inode inode;
    private final long session;
    private volatile long knownLength;
    private volatile long writtenEnd;
    private volatile long renewedNs = System.nanoTime();
    private boolean closed;
    private final SequentialReads sequential;
    private final WriteBehind behind;

    FsFile(FsClient client, String path, Inode inode, boolean write) {
        this.client = client;
        this.path = path;
        this.inode = inode;
        this.sequential = new SequentialReads(client, inode);
        this.knownLength = inode.length();
        this.behind = new WriteBehind(path, inode.layout().chunkSize(), WRITE_BEHIND_BYTES);
        this.session = write ? client.meta(m -> m.openWrite(inode.id(), client.clientId())) : -1;
    }

    public Inode inode() {
        return inode;
    }

    public String path() {
        return path;
    }

    /** The length as far as this handle knows: the metadata length at open, or what it wrote past that. */
    public long length() {
        return Math.max(knownLength, writtenEnd);
    }

    private record Piece(long index, int offsetInChunk, int length, int bufferOffset) {}

    private List<Piece> pieces(long position, int length) {
        Layout l = inode.layout();
        List<Piece> out = new ArrayList<>();
        long pos = position;
        int done = 0;
        while (done < length) {
            long idx = pos / l.chunkSize();
            int in = (int) (pos % l.chunkSize());
            int n = Math.min(length - done, l.chunkSize() - in);
            out.add(new Piece(idx, in, n, done));
            pos += n;
            done += n;
        }
        return out;
    }

    /**
     * Writes {@code length} bytes at {@code position}: returns once they are copied and at most
     * {@link #WRITE_BEHIND_BYTES} of this file's writes are still in flight (with
     * {@code -Dflyer.fs.writeBehindBytes=0}, once every byte is on all replicas). Throws the error of
     * an earlier write that failed.
     */
    public void write(long position, byte[] src, int offset, int length) {
        check(session >= 0, "not open for writing");
        if (position < 0 || offset < 0 || length < 0 || offset + length > src.length) {
            throw new FsException(FsException.Code.INVALID_ARGUMENT, "write of " + path + ": position " + position
                    + ", offset " + offset + ", length " + length + ", buffer " + src.length);
        }
        behind.checkFailure();
        Layout l = inode.layout();
        for (Piece p : pieces(position, length)) {
            behind.start(p.index, position + p.bufferOffset, src, offset + p.bufferOffset, p.length, bytes ->
                    client.storage().write(l.chainOf(p.index), new ChunkId(inode.id(), p.index), p.offsetInChunk, bytes));
        }
        writtenEnd = Math.max(writtenEnd, position + length);
        behind.settle();
        behind.checkFailure();
        if (System.nanoTime() - renewedNs > RENEW_NS) { // the writer's heartbeat, with its length hint
            renewedNs = System.nanoTime();
            long end = behind.safeEnd(writtenEnd);
            client.meta(m -> m.renewWrite(inode.id(), session, end));
        }
    }

    /** How often a writer renews its session (and reports its length hint) while it writes. */
    static final long RENEW_NS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);

    /**
     * Bytes of one file's writes that may still be in flight when {@link #write} returns
     * ({@code -Dflyer.fs.writeBehindBytes}, default 4 MiB: up to four 1 MiB chunk writes, the
     * newest among them; 0 makes every write wait for all replicas). On this project's one-disk machine, four
     * writers went from 676-738 to 875-928 MB/s at replication 1 and from 260-280 to 297-316 at 3
     * (2 MiB: in between): a synchronous writer leaves the disk idle while its write crosses the chain.
     * A negative value counts as 0.
     */
    static final long WRITE_BEHIND_BYTES = Math.max(0, Long.getLong("flyer.fs.writeBehindBytes", 4L << 20));

    /**
     * Waits until every byte written through this handle is on all replicas, so that every
     * reader sees it (what {@link #fsync} does without making the length exact); throws if a write
     * failed.
     */
    public void flush() {
        check(session >= 0, "not open for writing");
        behind.drain();
        behind.checkFailure();
    }

    /**
     * Waits until every byte written is on all replicas and makes the length exact now (the
     * metadata server reads it from storage); throws if a write failed.
     */
    public long fsync() {
        flush();
        Inode after = client.meta(m -> m.sync(inode.id()));
        knownLength = after.length();
        return knownLength;
    }

    /**
     * Reads up to {@code length} bytes at {@code position}; returns how many (fewer at the end of
     * the file). A read that continues the previous one to a chunk's end reads the next chunks ahead
     * ({@link SequentialReads}; {@code -Dflyer.fs.readAhead=false} turns it off).
     */
    public int read(long position, byte[] dst, int offset, int length) {
        check(position >= 0 && length >= 0 && offset >= 0 && offset + length <= dst.length, "bad read arguments");
        behind.drain(); // this handle's writes first
        int n = (int) Math.max(0, Math.min(length, length() - position));
        Layout l = inode.layout();
        SequentialReads.Ahead ahead = sequential.claim(position);
        try {
            parallel(pieces(position, n), p -> {
                int got = sequential.copy(ahead, p.index, p.offsetInChunk, p.length, dst, offset + p.bufferOffset);
                if (got < 0) {
                    got = client.storage().readInto(l.chainOf(p.index), new ChunkId(inode.id(), p.index), p.offsetInChunk,
                            p.length, dst, offset + p.bufferOffset);
                }
                java.util.Arrays.fill(dst, offset + p.bufferOffset + got, offset + p.bufferOffset + p.length, (byte) 0);
            });
        } finally {
            sequential.done(ahead);
        }
        sequential.after(position, n, this::length);
        return n;
    }

    /** Sets the file's length (chunks past it are removed or cut); this handle's view follows. */
    public void truncate(long newLength) {
        behind.drain();
        Inode after = client.truncate(path, newLength);
        knownLength = after.length();
        writtenEnd = Math.min(writtenEnd, newLength);
    }

    /** Re-reads the length from the metadata server. */
    public long refreshLength() {
        knownLength = client.meta(m -> m.statInode(inode.id())).length();
        return length();
    }

    private interface PieceIo {
        void run(Piece p);
    }

    private static void parallel(List<Piece> pieces, PieceIo io) {
        if (pieces.size() == 1) {
            io.run(pieces.getFirst());
            return;
        }
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> fs = new ArrayList<>();
            for (Piece p : pieces) {
                fs.add(ex.submit(() -> io.run(p)));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new FsException(FsException.Code.IO_ERROR, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FsException(FsException.Code.IO_ERROR, "interrupted");
        }
    }

    private void check(boolean ok, String what) {
        if (closed || !ok) {
            throw new FsException(FsException.Code.INVALID_ARGUMENT, path + ": " + (closed ? "file is closed" : what));
        }
    }

    /**
     * Waits for this handle's writes and ends the write session (the server sets the exact
     * length); throws if a write failed, after ending the session.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        sequential.close();
        if (session >= 0) {
            behind.drain();
            FsException failed = behind.failure();
            try {
                Inode after = client.meta(m -> m.closeWrite(inode.id(), session));
                if (after != null) {
                    knownLength = after.length();
                }
            } catch (RuntimeException e) {
                if (failed == null) {
                    throw e;
                }
                failed.addSuppressed(e); // the write's failure is the cause; ending the session failed after it
            }
            if (failed != null) {
                throw failed;
            }
        }
    }
}
