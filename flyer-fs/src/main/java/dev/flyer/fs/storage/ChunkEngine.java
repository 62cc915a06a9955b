package dev.flyer.fs.storage;

import dev.flyer.fs.storage.StorageException.Code;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteOptions;

/**
 * One storage target's chunk store (3FS's chunk engine, docs/design_notes.md "Chunks and the
 * metadata"): copy-on-write chunk versions in slots of large pack files, metadata in RocksDB, an
 * in-memory cache.
 *
 * <pre>
 *   DIR/meta/                  RocksDB: ChunkId(16 B) -> ChunkMeta (versions, lengths, block CRC32Cs)
 *                                                        + committed slot (8 B) + pending slot (8 B)
 *   DIR/data/SLOTBYTES/N.pack  the versions' bytes, a slot each ({@link ChunkSlots})
 * </pre>
 *
 * <p>Invariants: a version is written into a free slot before the metadata naming it is committed
 * (data first, then one RocksDB write), and a slot is freed only after the metadata stops naming
 * it. So a kill -9 between the two leaves the old version readable, and the new slot, named by no
 * metadata, is free again when {@link #open} rebuilds the slot maps. A version is never written in
 * place: a reader that resolved the old version reads its slot, and if the slot was reused under
 * it, the block checksums fail and the read starts again from the new metadata (never a mix).
 * Per-chunk operations are serialized by striped locks.
 */
public final class ChunkEngine implements AutoCloseable {
    static {
        RocksDB.loadLibrary();
    }

    private final Path dir;
    private final Options options;
    private final RocksDB metaDb;
    private final WriteOptions writeOptions;
    private final boolean fsync;
    private final ChunkFiles files;
    private final ChunkSlots slots;
    private final ConcurrentSkipListMap<ChunkId, StoredChunk> cache = new ConcurrentSkipListMap<>();
    private volatile java.util.function.Consumer<ChunkId> changes = id -> { };
    private final ReentrantLock[] stripes = new ReentrantLock[256];
    /**
     * Gives the free tails of pack files back to the file system every {@link #TRIM_PERIOD_MS}, for
     * slot sizes that allocated nothing for {@link #TRIM_IDLE_MS} ({@link ChunkSlots#trim}).
     */
    private final java.util.concurrent.ScheduledExecutorService trimmer =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("chunk-trim").factory());
    static final long TRIM_PERIOD_MS = 5000;
    static final long TRIM_IDLE_MS = 10_000;

    /** Where a version's bytes start: a pack file and a byte offset in it. */
    public record Location(Path file, long offset) {}

    private ChunkEngine(Path dir, boolean fsync, boolean directIo, long slotReuseDelayNs) throws IOException, RocksDBException {
        this.dir = dir;
        this.fsync = fsync;
        Files.createDirectories(dir.resolve("data"));
        this.files = ChunkFiles.in(dir.resolve("data"), directIo);
        this.slots = new ChunkSlots(dir.resolve("data"), files, slotReuseDelayNs);
        options = new Options().setCreateIfMissing(true);
        metaDb = RocksDB.open(options, dir.resolve("meta").toString());
        writeOptions = new WriteOptions().setSync(fsync);
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new ReentrantLock();
        }
        try (RocksIterator it = metaDb.newIterator()) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                ChunkId id = ChunkId.decode(it.key());
                StoredChunk s = StoredChunk.decode(id, it.value(), dir);
                cache.put(id, s);
                slots.markUsed(s.committedSlot());
                slots.markUsed(s.pendingSlot());
            }
            slots.removeStrays();
        } catch (IOException | RuntimeException e) {
            metaDb.close();
            options.close();
            writeOptions.close();
            throw e;
        }
        trimmer.scheduleWithFixedDelay(() -> {
            try {
                slots.trim(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(TRIM_IDLE_MS));
            } catch (IOException | RuntimeException e) { // tried again next period; the space is only late
                System.err.println("chunk engine " + dir + ": trimming pack files failed: " + e);
            }
        }, TRIM_PERIOD_MS, TRIM_PERIOD_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /**
     * Opens (creating if needed) the target in {@code dir}; {@code fsync} forces data and metadata
     * per update. Data files use direct I/O where the file system allows it, unless
     * {@code -Dflyer.fs.directIo=false}.
     */
    public static ChunkEngine open(Path dir, boolean fsync) {
        return open(dir, fsync, Boolean.parseBoolean(System.getProperty("flyer.fs.directIo", "true")));
    }

    /** As {@link #open(Path, boolean)}, with direct I/O tried or not. */
    public static ChunkEngine open(Path dir, boolean fsync, boolean directIo) {
        return open(dir, fsync, directIo, ChunkSlots.REUSE_DELAY_NS);
    }

    /** As {@link #open(Path, boolean, boolean)}, with freed slots reused after {@code slotReuseDelayNs} (tests race reuse). */
    static ChunkEngine open(Path dir, boolean fsync, boolean directIo, long slotReuseDelayNs) {
        try {
            return new ChunkEngine(dir, fsync, directIo, slotReuseDelayNs);
        } catch (IOException | RocksDBException e) {
            throw new StorageException(Code.IO_ERROR, "cannot open chunk engine at " + dir + ": " + e.getMessage());
        }
    }

    public Path dir() {
        return dir;
    }

    /**
     * Calls {@code listener} after every change of a chunk's metadata (pending, committed, removed),
     * on the changing thread and under the chunk's lock where the change holds it.
     */
    public void onChange(java.util.function.Consumer<ChunkId> listener) {
        this.changes = listener;
    }

    /** How this target's files are read: direct I/O or not, and the alignment (a client's local reads do the same). */
    ChunkFiles files() {
        return files;
    }

    /** The replica's metadata, or null when it holds no such chunk. */
    public ChunkMeta meta(ChunkId id) {
        StoredChunk s = cache.get(id);
        return s == null ? null : s.meta();
    }

    /** All chunk metadata, ascending by id (the dump-chunkmeta of a re-sync). */
    public List<ChunkMeta> metas() {
        return cache.values().stream().map(StoredChunk::meta).toList();
    }

    /** The chunks of one file, ascending by index. */
    public List<ChunkMeta> metasOf(long inode) {
        return cache.subMap(new ChunkId(inode, 0), true, new ChunkId(inode, -1L), true).values().stream()
                .map(StoredChunk::meta).toList();
    }

    /** Bytes of committed data stored. */
    public long usedBytes() {
        return cache.values().stream().mapToLong(s -> s.meta().committedLength()).sum();
    }

    /**
     * Where committed {@code version} of a chunk lies (a client's local reads, and tests that corrupt
     * it); {@code NO_SUCH_CHUNK} when that is not the committed version now.
     */
    public Location location(ChunkId id, long version) {
        StoredChunk s = cache.get(id);
        if (s == null || s.meta().committedVersion() != version || s.committedSlot() == 0) {
            throw new StorageException(Code.NO_SUCH_CHUNK, "chunk " + id + " has no committed v" + version);
        }
        return slots.location(s.committedSlot());
    }

    /** Slots holding a version (tests: what was replaced or removed is freed). */
    long slotsInUse() {
        return slots.inUse();
    }

    /** Trims the pack files now, idle or not (see {@link ChunkSlots#trim}); returns the bytes given back. */
    long trim() {
        try {
            return slots.trim(0);
        } catch (IOException e) {
            throw new StorageException(Code.IO_ERROR, "trimming " + dir + ": " + e.getMessage());
        }
    }

    /**
     * Reads [offset, offset + length) of the committed version, or of the pending one when
     * {@code relaxed}; shorter at the chunk's end. Verifies the CRC32C of every block it touches.
     */
    public byte[] read(ChunkId id, int offset, int length, boolean relaxed) {
        byte[][] out = new byte[1][];
        int n = readInto(id, offset, length, relaxed, capacity -> {
            out[0] = new byte[capacity];
            return ByteBuffer.wrap(out[0]);
        });
        return n == out[0].length ? out[0] : Arrays.copyOf(out[0], n);
    }

    /**
     * As {@link #read}, into a buffer the caller supplies for the capacity this read needs (the
     * checksum blocks it covers): on return the buffer holds exactly the requested bytes from
     * position 0, and its limit is their count. The data path's only copy is file to buffer.
     */
    public int readInto(ChunkId id, int offset, int length, boolean relaxed, java.util.function.IntFunction<ByteBuffer> buffer) {
        for (int attempt = 0; ; attempt++) {
            StoredChunk s = cache.get(id);
            if (s == null) {
                throw new StorageException(Code.NO_SUCH_CHUNK, "chunk " + id + " does not exist");
            }
            ChunkMeta m = s.meta();
            if (m.hasPending() && !relaxed) {
                throw new StorageException(Code.NOT_COMMITTED, "chunk " + id + " has pending version " + m.pendingVersion());
            }
            boolean pending = m.hasPending() && relaxed;
            if (pending && !s.pendingStored()) {
                throw new StorageException(Code.NOT_COMMITTED, "chunk " + id + "'s pending version " + m.pendingVersion()
                        + " is being written");
            }
            long version = pending ? m.pendingVersion() : m.committedVersion();
            int chunkLength = pending ? m.pendingLength() : m.committedLength();
            int[] crcs = pending ? m.pendingCrcs() : m.committedCrcs();
            long slot = pending ? s.pendingSlot() : s.committedSlot();
            try {
                return readVerified(files, id, version, chunkLength, crcs, offset, length, buffer,
                        (from, n, buf) -> slots.read(slot, from, n, buf));
            } catch (StorageException e) { // a slot freed and reused under the read fails its checksums
                if (e.code() != Code.CHECKSUM_MISMATCH || cache.get(id) == s || attempt >= 3) {
                    throw e;
                }
            } catch (IOException e) {
                throw new StorageException(Code.IO_ERROR, "reading chunk " + id + ": " + e.getMessage());
            }
        }
    }

    /** Reads [from, from + length) of one version's file into a buffer from position 0; returns the bytes the file had. */
    interface SpanReader {
        int read(long from, int length, ByteBuffer buf) throws IOException;
    }

    /**
     * Reads [offset, offset + length) of version {@code version} (of {@code chunkLength} bytes, block
     * checksums {@code crcs}) through {@code reader}: the blocks it touches, checked, with the
     * requested bytes moved to the front of the buffer {@code buffer} gave. Shared by the storage
     * node and a client's {@link LocalReads}.
     */
    static int readVerified(ChunkFiles files, ChunkId id, long version, int chunkLength, int[] crcs, int offset, int length,
            java.util.function.IntFunction<ByteBuffer> buffer, SpanReader reader) throws IOException {
        if (offset < 0 || length < 0) {
            throw new StorageException(Code.INVALID_ARGUMENT, "read of chunk " + id + ": offset " + offset + ", length " + length);
        }
        int end = (int) Math.min(chunkLength, (long) offset + length);
        if (end <= offset) {
            ByteBuffer empty = buffer.apply(0);
            empty.limit(0);
            return 0;
        }
        int first = offset / ChunkMeta.BLOCK_BYTES;
        int last = (end - 1) / ChunkMeta.BLOCK_BYTES;
        int from = first * ChunkMeta.BLOCK_BYTES;
        int to = Math.min(chunkLength, (last + 1) * ChunkMeta.BLOCK_BYTES);
        ByteBuffer buf = buffer.apply(files.span(to - from));
        if (reader.read(from, to - from, buf) < to - from) {
            throw new StorageException(Code.CHECKSUM_MISMATCH, "chunk " + id + " v" + version + " is truncated on disk");
        }
        CRC32C crc = new CRC32C();
        for (int b = first; b <= last; b++) {
            int at = b * ChunkMeta.BLOCK_BYTES - from;
            int n = Math.min(ChunkMeta.BLOCK_BYTES, to - from - at);
            crc.reset();
            crc.update(buf.duplicate().limit(at + n).position(at));
            if ((int) crc.getValue() != crcs[b]) {
                throw new StorageException(Code.CHECKSUM_MISMATCH, "chunk " + id + " v" + version + " block " + b
                        + " does not match its CRC32C");
            }
        }
        int n = end - offset;
        if (offset != from) { // move the requested range to the front
            buf.put(0, buf, offset - from, n);
        }
        buf.position(0).limit(n);
        return n;
    }

    /** The whole committed content, ignoring a pending version (re-sync sends it), or null when nothing is committed. */
    public byte[] committedContent(ChunkId id) {
        StoredChunk s = cache.get(id);
        if (s == null || s.meta().committedVersion() == 0) {
            return null;
        }
        ChunkMeta m = s.meta();
        try {
            byte[][] out = new byte[1][];
            int n = readVerified(files, id, m.committedVersion(), m.committedLength(), m.committedCrcs(), 0, m.committedLength(),
                    capacity -> {
                        out[0] = new byte[capacity];
                        return ByteBuffer.wrap(out[0]);
                    }, (from, len, buf) -> slots.read(s.committedSlot(), from, len, buf));
            return n == out[0].length ? out[0] : Arrays.copyOf(out[0], n);
        } catch (IOException e) {
            throw new StorageException(Code.IO_ERROR, "reading chunk " + id + ": " + e.getMessage());
        }
    }

    /**
     * An update's new content and block CRCs, computed before any I/O: what {@link #stage(Update)}
     * writes as pending {@code version}.
     */
    public record Update(ChunkId id, long version, long chainVersion, byte[] content, int[] crcs) {
        /** The signature the chunk will have once staged (see {@link ChunkMeta#pendingSignature}). */
        public long signature() {
            return ChunkMeta.signature(content.length, crcs);
        }
    }

    /**
     * The update that makes {@code updateVersion} the committed content with [offset, offset +
     * data.length) replaced, or exactly {@code data} when {@code fullReplace}. Call it under the
     * chunk's {@link #lock} and keep holding that until the update is staged.
     */
    public Update prepare(ChunkId id, long updateVersion, long chainVersion, int offset, byte[] data, boolean fullReplace) {
        ChunkMeta m = meta(id);
        int committedLength = m == null ? 0 : m.committedLength();
        byte[] content;
        if (fullReplace || (offset == 0 && data.length >= committedLength)) { // nothing of the old content stays
            content = data;
        } else {
            byte[] base = committedLength == 0 ? new byte[0] : read(id, 0, committedLength, false);
            content = Arrays.copyOf(base, Math.max(base.length, offset + data.length));
            System.arraycopy(data, 0, content, offset, data.length);
        }
        return new Update(id, updateVersion, chainVersion, content, crcs(content));
    }

    /**
     * Marks {@code u} pending in memory before its bytes are written, so readers get
     * {@code NOT_COMMITTED} from now on (the replication layer calls it before forwarding, so no
     * replica below can commit while this one still serves the old version). Returns the metadata
     * before, which {@link #stage(Update, ChunkMeta)} needs: it completes the mark, or restores that
     * metadata when it fails.
     */
    public ChunkMeta markPending(Update u) {
        StoredChunk s = cache.get(u.id());
        ChunkMeta m = s == null ? null : s.meta();
        cache.put(u.id(), new StoredChunk(pendingMeta(m, u), s == null ? 0 : s.committedSlot(), s == null ? 0 : s.pendingSlot(), false));
        changes.accept(u.id());
        return m;
    }

    private static ChunkMeta pendingMeta(ChunkMeta m, Update u) {
        return m == null
                ? new ChunkMeta(u.id(), 0, u.version(), u.chainVersion(), 0, new int[0], u.content().length, u.crcs())
                : new ChunkMeta(u.id(), m.committedVersion(), u.version(), m.chainVersion(), m.committedLength(),
                        m.committedCrcs(), u.content().length, u.crcs());
    }

    /** Writes {@code u} into a free slot and commits its metadata as the pending version (an earlier pending attempt is replaced). */
    public ChunkMeta stage(Update u) {
        return stage(u, meta(u.id()));
    }

    /** As {@link #stage(Update)} after {@link ChunkEngine#markPending}, which returned {@code before}. */
    public ChunkMeta stage(Update u, ChunkMeta before) {
        ReentrantLock lock = lock(u.id());
        lock.lock();
        try {
            StoredChunk now = cache.get(u.id()); // before itself, or the mark made from it
            long committedSlot = now == null ? 0 : now.committedSlot();
            long replaced = now == null ? 0 : now.pendingSlot();
            long slot = slots.allocate(u.content().length);
            StoredChunk next = new StoredChunk(pendingMeta(before, u), committedSlot, slot, true);
            try {
                writeSlot(u.id(), slot, u.content());
                persist(next);
            } catch (RuntimeException e) {
                slots.free(slot);
                if (before == null) {
                    cache.remove(u.id());
                } else {
                    cache.put(u.id(), new StoredChunk(before, committedSlot, replaced, true));
                }
                changes.accept(u.id());
                throw e;
            }
            slots.free(replaced);
            return next.meta();
        } finally {
            lock.unlock();
        }
    }

    /** {@link #prepare} then {@link #stage(Update)}, under the chunk's lock. */
    public ChunkMeta stage(ChunkId id, long updateVersion, long chainVersion, int offset, byte[] data, boolean fullReplace) {
        ReentrantLock lock = lock(id);
        lock.lock();
        try {
            return stage(prepare(id, updateVersion, chainVersion, offset, data, fullReplace));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stages {@code content} as pending {@code version} whatever the replica held, including a
     * committed version {@code >= version} (a stale replica from another history): the new bytes go
     * to a slot of their own and the metadata switches to it in one write, so a concurrent reader of
     * the old version gets the old bytes or reads again, never a missing chunk.
     */
    public ChunkMeta restage(ChunkId id, long version, long chainVersion, byte[] content) {
        ReentrantLock lock = lock(id);
        lock.lock();
        try {
            StoredChunk old = cache.get(id);
            long slot = slots.allocate(content.length);
            ChunkMeta next = new ChunkMeta(id, 0, version, chainVersion, 0, new int[0], content.length, crcs(content));
            try {
                writeSlot(id, slot, content);
                persist(new StoredChunk(next, 0, slot, true));
            } catch (RuntimeException e) {
                slots.free(slot);
                throw e;
            }
            if (old != null) {
                slots.free(old.committedSlot());
                slots.free(old.pendingSlot());
            }
            return next;
        } finally {
            lock.unlock();
        }
    }

    /** Makes pending {@code version} the committed one (a no-op when it already is). */
    public ChunkMeta commit(ChunkId id, long version, long chainVersion) {
        ReentrantLock lock = lock(id);
        lock.lock();
        try {
            StoredChunk s = cache.get(id);
            ChunkMeta m = s == null ? null : s.meta();
            if (m != null && m.committedVersion() == version && !m.hasPending()) {
                return m;
            }
            if (m == null || m.pendingVersion() != version || !s.pendingStored()) {
                throw new StorageException(Code.INVALID_ARGUMENT, "commit of chunk " + id + " v" + version
                        + ": pending version is " + (m == null ? "none" : m.pendingVersion() + (s.pendingStored() ? "" : ", not yet written")));
            }
            ChunkMeta next = new ChunkMeta(id, version, 0, chainVersion, m.pendingLength(), m.pendingCrcs(), 0, new int[0]);
            persist(new StoredChunk(next, s.pendingSlot(), 0, true));
            slots.free(s.committedSlot());
            return next;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Replaces the replica with committed {@code version} = {@code content}, dropping whatever it held
     * (re-sync, repair): {@link #restage} then {@link #commit}, so the new bytes are swapped in
     * atomically even when the old committed version has the same number.
     */
    public ChunkMeta replace(ChunkId id, long version, long chainVersion, byte[] content) {
        ReentrantLock lock = lock(id);
        lock.lock();
        try {
            restage(id, version, chainVersion, content);
            return commit(id, version, chainVersion);
        } finally {
            lock.unlock();
        }
    }

    /** Removes every version of the chunk (no-op when absent). */
    public void remove(ChunkId id) {
        ReentrantLock lock = lock(id);
        lock.lock();
        try {
            StoredChunk s = cache.remove(id);
            if (s == null) {
                return;
            }
            changes.accept(id);
            metaDb.delete(writeOptions, id.encode());
            slots.free(s.committedSlot());
            slots.free(s.pendingSlot());
        } catch (RocksDBException e) {
            throw new StorageException(Code.IO_ERROR, "removing chunk " + id + ": " + e.getMessage());
        } finally {
            lock.unlock();
        }
    }

    /** The lock that serializes updates of one chunk (the replication layer holds it across a chain round). */
    public ReentrantLock lock(ChunkId id) {
        return stripes[(Long.hashCode(id.inode() * 31 + id.index()) & 0x7fffffff) % stripes.length];
    }

    @Override
    public void close() {
        trimmer.shutdownNow();
        try {
            trimmer.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        metaDb.close();
        writeOptions.close();
        options.close();
        slots.close();
    }

    private void persist(StoredChunk s) {
        ChunkId id = s.meta().id();
        try {
            metaDb.put(writeOptions, id.encode(), s.encode());
        } catch (RocksDBException e) {
            throw new StorageException(Code.IO_ERROR, "metadata commit of chunk " + id + ": " + e.getMessage());
        }
        cache.put(id, s);
        changes.accept(id);
    }

    private void writeSlot(ChunkId id, long slot, byte[] content) {
        try {
            slots.write(slot, content, fsync);
        } catch (IOException e) {
            boolean full = e.getMessage() != null && e.getMessage().contains("No space");
            throw new StorageException(full ? Code.NO_SPACE : Code.IO_ERROR, "writing chunk " + id + " to "
                    + slots.location(slot) + ": " + e.getMessage());
        }
    }

    /** The open option for direct I/O (O_DIRECT), when this JDK has it (benchmarks use it for the raw disk). */
    public static java.util.Optional<java.nio.file.OpenOption> directIoOption() {
        return java.util.Optional.ofNullable(ChunkFiles.DIRECT);
    }

    /** Whether the data files use direct I/O (false where the file system refuses it). */
    public boolean directIo() {
        return files.direct();
    }

    static int[] crcs(byte[] content) {
        int[] out = new int[(content.length + ChunkMeta.BLOCK_BYTES - 1) / ChunkMeta.BLOCK_BYTES];
        for (int b = 0; b < out.length; b++) {
            int at = b * ChunkMeta.BLOCK_BYTES;
            out[b] = crc(content, at, Math.min(ChunkMeta.BLOCK_BYTES, content.length - at));
        }
        return out;
    }

    /** CRC32C of a byte range. */
    public static int crc(byte[] data, int offset, int length) {
        CRC32C c = new CRC32C();
        c.update(data, offset, length);
        return (int) c.getValue();
    }
}
