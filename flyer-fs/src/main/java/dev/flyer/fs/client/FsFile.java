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
 * chains in parallel (large batched I/O spreads over the file's stripe). Writes report the highest
 * written offset to the metadata server as a length hint; {@link #close} ends the write session
 * and the server sets the exact length from storage.
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

    FsFile(FsClient client, String path, Inode inode, boolean write) {
        this.client = client;
        this.path = path;
        this.inode = inode;
        this.sequential = new SequentialReads(client, inode);
        this.knownLength = inode.length();
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

    /** Writes {@code length} bytes at {@code position}; every byte is on all replicas when it returns. */
    public void write(long position, byte[] src, int offset, int length) {
        check(session >= 0, "not open for writing");
        if (position < 0 || offset < 0 || length < 0 || offset + length > src.length) {
            throw new FsException(FsException.Code.INVALID_ARGUMENT, "write of " + path + ": position " + position
                    + ", offset " + offset + ", length " + length + ", buffer " + src.length);
        }
        Layout l = inode.layout();
        parallel(pieces(position, length), p -> {
            int from = offset + p.bufferOffset;
            byte[] part = from == 0 && p.length == src.length ? src // the caller's array is the piece: no copy
                    : java.util.Arrays.copyOfRange(src, from, from + p.length);
            client.storage().write(l.chainOf(p.index), new ChunkId(inode.id(), p.index), p.offsetInChunk, part);
        });
        writtenEnd = Math.max(writtenEnd, position + length);
        if (System.nanoTime() - renewedNs > RENEW_NS) { // the writer's heartbeat, with its length hint
            renewedNs = System.nanoTime();
            long end = writtenEnd;
            client.meta(m -> m.renewWrite(inode.id(), session, end));
        }
    }

    /** How often a writer renews its session (and reports its length hint) while it writes. */
    static final long RENEW_NS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);

    /** Makes the length exact now (the metadata server reads it from storage), as fsync does. */
    public long fsync() {
        check(session >= 0, "not open for writing");
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

    /** Ends the write session: the server sets the exact length. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        sequential.close();
        if (session >= 0) {
            Inode after = client.meta(m -> m.closeWrite(inode.id(), session));
            if (after != null) {
                knownLength = after.length();
            }
        }
    }
}
