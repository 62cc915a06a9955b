package dev.flyer.fs.storage;

import java.io.IOException;
import java.lang.ref.WeakReference;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Short-circuit reads of one storage node's committed chunks by a client on the same host, from
 * the node's pack files (HDFS's short-circuit local reads; see {@link VersionBoard} for why they
 * stay linearizable).
 *
 * <p>Per chunk the client takes a lease once ({@link LocalLease}: where the committed version
 * lies, its block CRC32Cs, a stamp on the node's board); the pack files stay open, shared by the
 * leases in them. A read checks the lease on the board, reads the blocks it touches (direct I/O
 * like the node), checks their CRC32Cs, copies the bytes out, and checks the lease again: a stamp
 * that moved means the chunk changed during the read, so the lease is dropped and the read tried
 * once more with a new one. The node frees a version's slot only after its metadata moved on,
 * which moves the stamp first, so bytes read while the lease held both before and after are that
 * version's, even if the slot was reused a moment later; a checksum mismatch with a moved stamp is
 * that race, not corruption. Anything else (no lease: a pending version, no such chunk, a node
 * that is not serving; a checksum mismatch; an I/O error) answers -1 and the caller asks the
 * storage service, which gives the usual answer (and notes a corrupt chunk). Leases of changed
 * chunks are dropped within a second (a sweeper); at most {@link #MAX_OPEN} leases are kept per node.
 */
final class LocalReads {
    /** Leases kept per storage node, at most. */
    static final int MAX_OPEN = 1024;
    private static final AtomicLong HITS = new AtomicLong();
    private static final AtomicLong AHEAD_USED = new AtomicLong();
    /** Why reads went to the service instead, by reason (a lease error's code, "changed", "corrupt or closed", ...). */
    private static final Map<String, AtomicLong> MISSES = new ConcurrentHashMap<>();
    /** Every instance, for the sweeper; weakly, so a dropped client's leases go with it. */
    private static final List<WeakReference<LocalReads>> ALL = new CopyOnWriteArrayList<>();

    static {
        Thread.ofPlatform().daemon().name("flyer-local-read-sweeper").start(LocalReads::sweepForever);
    }

    /** How a lease is obtained from the node (its RPC). */
    interface Leaser {
        LocalLease lease(long targetId, ChunkId chunk);
    }

    private record Key(long targetId, ChunkId chunk) {}

    private record Open(LocalLease lease, FileChannel channel, ChunkFiles files, VersionBoard board) {
        boolean holds() {
            return board.holds(lease.epoch(), lease.cellOffset(), lease.stamp());
        }
    }

    private final Leaser leaser;
    private final Map<Key, Open> open = new ConcurrentHashMap<>();
    /** The node's pack files, open for reading, by path. */
    private final Map<String, FileChannel> channels = new ConcurrentHashMap<>();
    private volatile VersionBoard board;
    private volatile boolean disabled;

    LocalReads(Leaser leaser) {
        this.leaser = leaser;
        ALL.add(new WeakReference<>(this));
    }

    /** Reads served from chunk files by this process, over every node. */
    static long hits() {
        return HITS.get();
    }

    /** Reads that went to the storage service instead, by reason, in this process. */
    static Map<String, Long> misses() {
        Map<String, Long> out = new java.util.TreeMap<>();
        MISSES.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    private static void miss(String reason) {
        MISSES.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
    }

    /** Stops local reads to this node (another host, or its files are not readable here). */
    void disable() {
        disabled = true;
        closeAll();
    }

    boolean enabled() {
        return !disabled;
    }

    /**
     * Reads committed [0, length) of a chunk now, into a pooled buffer, for use later while its
     * lease holds ({@link ReadAhead}); null when this cannot (the caller reads when it needs the bytes).
     */
    ReadAhead readAhead(long targetId, ChunkId chunk, int length) {
        if (disabled) {
            return null;
        }
        Key key = new Key(targetId, chunk);
        Open o = open.get(key);
        if (o == null && (o = lease(key)) == null) {
            return null;
        }
        ChunkFiles files = o.files();
        MemorySegment buffer = files.borrow(room(o, length));
        try {
            int n = readVerified(o, chunk, 0, length, buffer);
            if (n >= 0 && o.holds()) {
                ReadAhead ahead = new ReadAhead(buffer, n, o::holds, files::giveBack);
                buffer = null;
                return ahead;
            }
        } catch (StorageException | IOException e) { // a corrupt block or a reused slot, an I/O error
            if (o.holds()) {
                dropChannel(o); // as in read: reopened by path on the next lease
            } // the read when the bytes are needed goes the usual way
        } finally {
            if (buffer != null) {
                files.giveBack(buffer);
            }
        }
        close(key, o);
        return null;
    }

    static void readAheadUsed() {
        AHEAD_USED.incrementAndGet();
    }

    /** Read-ahead chunks whose bytes were used, in this process. */
    static long readAheadsUsed() {
        return AHEAD_USED.get();
    }

    /**
     * Reads committed [offset, offset + length) of a chunk into {@code dst}; returns the bytes read,
     * or -1 when the storage service must answer this read.
     */
    int read(long targetId, ChunkId chunk, int offset, int length, byte[] dst, int dstOffset) {
        if (disabled) {
            return -1;
        }
        Key key = new Key(targetId, chunk);
        for (int attempt = 0; attempt < 2; attempt++) {
            Open o = open.get(key);
            if (o == null && (o = lease(key)) == null) {
                return -1;
            }
            try {
                int n = read(o, chunk, offset, length, dst, dstOffset);
                if (n >= 0) {
                    HITS.incrementAndGet();
                    return n;
                }
            } catch (StorageException | IOException e) {
                close(key, o);
                if (e instanceof StorageException && !o.holds()) {
                    continue; // the version was replaced and its slot reused during the read: lease again
                }
                dropChannel(o); // reopened by path on the next lease, in case the file was replaced (a target rebuilt)
                miss(e instanceof StorageException s ? s.code().name() : "I/O error");
                return -1;
            }
            close(key, o);
        }
        miss("changed during the read");
        return -1;
    }

    /** The read through {@code o}, or -1 when its lease no longer holds (before or after). */
    private static int read(Open o, ChunkId chunk, int offset, int length, byte[] dst, int dstOffset) throws IOException {
        ChunkFiles files = o.files();
        MemorySegment buffer = files.borrow(room(o, length));
        try {
            int n = readVerified(o, chunk, offset, length, buffer);
            if (n < 0) {
                return -1;
            }
            MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, 0, dst, dstOffset, n);
            return o.holds() ? n : -1;
        } finally {
            files.giveBack(buffer);
        }
    }

    /** The buffer a read of {@code length} bytes through {@code o} needs: its aligned span and a block either side. */
    private static int room(Open o, int length) {
        return o.files().span(length) + 2 * Math.max(ChunkMeta.BLOCK_BYTES, o.lease().alignment());
    }

    /** Reads and verifies the blocks of [offset, offset + length) into {@code buffer}, the range first; -1 when the lease does not hold. */
    private static int readVerified(Open o, ChunkId chunk, int offset, int length, MemorySegment buffer) throws IOException {
        if (!o.holds()) {
            return -1;
        }
        LocalLease l = o.lease();
        return ChunkEngine.readVerified(o.files(), chunk, l.version(), l.length(), l.crcs(), offset, length,
                capacity -> buffer.asSlice(0, capacity).asByteBuffer(),
                (from, len, buf) -> o.files().read(o.channel(), l.offset() + from, len, buf));
    }

    private Open lease(Key key) {
        LocalLease l;
        try {
            l = leaser.lease(key.targetId(), key.chunk());
        } catch (StorageException e) {
            miss("lease: " + e.code()); // not committed, no such chunk, not serving: the service answers
            return null;
        }
        if (l == null) {
            miss("node cannot lease to this process");
            disable();
            return null;
        }
        VersionBoard b = board;
        if (b == null || !b.ref().equals(l.board())) {
            try {
                b = VersionBoard.map(l.board());
            } catch (RuntimeException e) { // another host's /dev/shm
                miss("board not mappable");
                disable();
                return null;
            }
            board = b;
        }
        ChunkFiles files = ChunkFiles.like(l.direct(), l.alignment());
        FileChannel ch = channels.get(l.path());
        if (ch == null) {
            try {
                ch = files.openForReading(Path.of(l.path()));
            } catch (AccessDeniedException e) {
                miss("file not readable");
                disable();
                return null;
            } catch (IOException e) { // a target dropped since the lease: the next read leases again
                miss("file gone");
                return null;
            }
            FileChannel raced = channels.putIfAbsent(l.path(), ch);
            if (raced != null) {
                closeQuietly(ch);
                ch = raced;
            }
        }
        if (open.size() >= MAX_OPEN) {
            open.clear();
        }
        Open o = new Open(l, ch, files, b);
        Open raced = open.putIfAbsent(key, o);
        return raced != null ? raced : o;
    }

    /** Drops a lease (its pack file stays open for the others). */
    private void close(Key key, Open o) {
        open.remove(key, o);
    }

    private void dropChannel(Open o) {
        if (channels.remove(o.lease().path(), o.channel())) {
            closeQuietly(o.channel());
        }
    }

    private void closeAll() {
        open.clear();
        for (Iterator<Map.Entry<String, FileChannel>> it = channels.entrySet().iterator(); it.hasNext(); ) {
            closeQuietly(it.next().getValue());
            it.remove();
        }
    }

    /** Drops the leases that no longer hold (their slots may hold other chunks by now). */
    void sweep() {
        open.forEach((k, o) -> {
            if (!o.holds()) {
                close(k, o);
            }
        });
    }

    private static void sweepForever() {
        while (true) {
            try {
                Thread.sleep(1000);
                for (WeakReference<LocalReads> ref : ALL) {
                    LocalReads reads = ref.get();
                    if (reads == null) {
                        ALL.remove(ref);
                    } else {
                        reads.sweep();
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // a sweep that failed is tried again a second later
            }
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // a read-only channel has nothing to flush
        }
    }
}
