package dev.flyer.fs.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Where a target's chunk versions lie: fixed-size slots inside large pack files, one set of files
 * per slot size, as 3FS's storage keeps chunks (docs/design_notes.md "Chunks and the metadata";
 * src/storage/store/ChunkFileStore and the Rust chunk engine under src/storage/chunk_engine/
 * allocate chunks at positions inside a few physical files per chunk size rather than a file
 * each). On this project's disk the same 1 MiB reads ran at 0.6-0.8 of the speed from a file per
 * chunk that they ran inside large files (see {@link ChunkFiles}), and a file's creation, extension
 * and deletion per write cost more than the write.
 *
 * <pre>
 *   DATA/SLOTBYTES/N.pack    slot i of class SLOTBYTES at byte (i mod perFile) * SLOTBYTES of file i / perFile
 *   slot id (a long)         log2(SLOTBYTES) << 40 | i      (0: no slot)
 * </pre>
 *
 * <p>Implementation notes. A version of {@code n} bytes takes a slot of the smallest power of two
 * at least {@code max(4 KiB, alignment, n)}; a file holds {@link #FILE_BYTES} of slots (at least one).
 * Allocation takes the lowest free slot of one of {@link #STRIPES} file stripes in turn, so
 * concurrent writers extend different files (ext4 serializes direct writes that extend one file)
 * and freed space is reused first. Which slots are used is not stored: the chunk metadata names
 * every slot it uses, and {@link #markUsed} rebuilds the maps from it on open, so a version
 * written but never committed (a crash in between) is free again. A freed slot waits
 * a while ({@link #REUSE_DELAY_NS} by default) before reuse, so a reader that resolved the version just before it was
 * replaced usually still reads its bytes; one that does not sees a checksum mismatch and reads
 * again with the new metadata ({@link ChunkEngine}), and a client's local read sees its lease
 * moved ({@link LocalReads}). Pack files stay open for the engine's life; reads and writes are
 * positional, so threads share a channel.
 *
 * <p>Space: freed slots are reused before a file grows (lowest free slot first), and
 * {@link #trim} gives the disk back the free tail of each file (all of it once a target's chunks
 * are gone) once that slot size has been idle a while and has freed slots since the last trim.
 * Free slots between used ones stay allocated on disk until reused; 3FS's store too keeps its
 * files' space for reuse.
 */
final class ChunkSlots implements AutoCloseable {
    /** Bytes of slots per pack file (one slot when the slot is larger). */
    static final long FILE_BYTES = 256L << 20;
    /** Files of one slot size written concurrently. */
    static final int STRIPES = 4;
    static final int MIN_LOG2 = 12;
    static final int MAX_LOG2 = 26;
    static final long REUSE_DELAY_NS = 200_000_000L;
    private final long reuseDelayNs;

    private final Path dir;
    private final ChunkFiles files;
    private final int minLog2;
    private final SizeClass[] classes = new SizeClass[MAX_LOG2 + 1];
    private final Map<Path, FileChannel> channels = new ConcurrentHashMap<>();

    /** One slot size's allocation map; guarded by itself. */
    private static final class SizeClass {
        final int log2;
        final long perFile;
        final BitSet used = new BitSet();
        final ArrayDeque<long[]> freed = new ArrayDeque<>(); // {index, freed-at ns}
        int next; // the stripe the next allocation takes
        long inUse;
        long lastAllocationNs = System.nanoTime();
        /** Whether a trim may find something: slots freed since the last one (and after open, a crash's). */
        boolean trimmable = true;

        SizeClass(int log2) {
            this.log2 = log2;
            this.perFile = Math.max(1, FILE_BYTES >> log2);
        }
    }

    ChunkSlots(Path dir, ChunkFiles files, long reuseDelayNs) {
        this.dir = dir;
        this.reuseDelayNs = reuseDelayNs;
        this.files = files;
        this.minLog2 = Math.max(MIN_LOG2, 32 - Integer.numberOfLeadingZeros(files.alignment() - 1));
        for (int log2 = MIN_LOG2; log2 <= MAX_LOG2; log2++) {
            classes[log2] = new SizeClass(log2);
        }
    }

    /** The slot size a version of {@code lengthBytes} takes (a multiple of the direct-I/O alignment). */
    int log2For(int lengthBytes) {
        int log2 = Math.max(minLog2, 32 - Integer.numberOfLeadingZeros(Math.max(1, lengthBytes) - 1));
        if (log2 > MAX_LOG2) {
            throw new StorageException(StorageException.Code.INVALID_ARGUMENT, "a chunk of " + lengthBytes
                    + " bytes is over the largest chunk size, " + (1 << MAX_LOG2));
        }
        return log2;
    }

    static int log2Of(long slot) {
        return (int) (slot >>> 40);
    }

    static long indexOf(long slot) {
        return slot & ((1L << 40) - 1);
    }

    /** Records a slot the stored metadata names (on open). */
    void markUsed(long slot) {
        if (slot == 0) {
            return;
        }
        SizeClass c = sizeClass(log2Of(slot));
        synchronized (c) {
            if (!c.used.get((int) indexOf(slot))) {
                c.used.set((int) indexOf(slot));
                c.inUse++;
            }
        }
    }

    /** A free slot for a version of {@code lengthBytes}. */
    long allocate(int lengthBytes) {
        SizeClass c = sizeClass(log2For(lengthBytes));
        synchronized (c) {
            reclaim(c, System.nanoTime() - reuseDelayNs);
            int stripe = c.next;
            c.next = (stripe + 1) % STRIPES; // a counter taken modulo would turn negative after 2^31 allocations
            int index = -1;
            for (long file = stripe; index < 0; file += STRIPES) {
                int free = c.used.nextClearBit((int) (file * c.perFile));
                if (free < (file + 1) * c.perFile) {
                    index = free;
                }
            }
            c.used.set(index);
            c.inUse++;
            c.lastAllocationNs = System.nanoTime();
            return (long) c.log2 << 40 | index;
        }
    }

    /** Frees a slot no metadata names any more; it is reused after the reuse delay. */
    void free(long slot) {
        if (slot == 0) {
            return;
        }
        SizeClass c = sizeClass(log2Of(slot));
        synchronized (c) {
            c.freed.add(new long[] {indexOf(slot), System.nanoTime()});
            c.inUse--;
            c.trimmable = true;
        }
    }

    /** Makes the slots freed before {@code freedBeforeNs} allocatable. */
    private static void reclaim(SizeClass c, long freedBeforeNs) {
        while (!c.freed.isEmpty() && c.freed.peek()[1] - freedBeforeNs <= 0) {
            c.used.clear((int) c.freed.poll()[0]);
        }
    }

    /** Slots holding a version now (freed ones waiting for reuse not counted). */
    long inUse() {
        long n = 0;
        for (SizeClass c : classes) {
            if (c != null) {
                synchronized (c) {
                    n += c.inUse;
                }
            }
        }
        return n;
    }

    ChunkEngine.Location location(long slot) {
        SizeClass c = sizeClass(log2Of(slot));
        long index = indexOf(slot);
        return new ChunkEngine.Location(dir.resolve(Integer.toString(1 << c.log2)).resolve(index / c.perFile + ".pack"),
                (index % c.perFile) << c.log2);
    }

    /** Writes {@code content} into the slot, forced to disk when {@code fsync}. */
    void write(long slot, byte[] content, boolean fsync) throws IOException {
        ChunkEngine.Location at = location(slot);
        FileChannel ch = channel(at.file());
        files.write(ch, at.offset(), content);
        if (fsync) {
            ch.force(false);
        }
    }

    /** Reads [from, from + length) of the slot's content into {@code buf} from position 0 (see {@link ChunkFiles#read}). */
    int read(long slot, long from, int length, ByteBuffer buf) throws IOException {
        ChunkEngine.Location at = location(slot);
        return files.read(channel(at.file()), at.offset() + from, length, buf);
    }

    private FileChannel channel(Path file) throws IOException {
        FileChannel ch = channels.get(file);
        if (ch != null) {
            return ch;
        }
        synchronized (channels) {
            ch = channels.get(file);
            if (ch == null) {
                Files.createDirectories(file.getParent());
                ch = files.openForWriting(file);
                channels.put(file, ch);
            }
            return ch;
        }
    }

    /**
     * Truncates each pack file after its last slot in use (or waiting for reuse), so space freed
     * at the end of a file goes back to the file system; returns the bytes given back. Only slot
     * sizes that allocated nothing for {@code idleNs}: while one is being written, its freed slots
     * are about to be reused, and overwriting allocated blocks is cheaper than extending a file.
     * Runs under the slot class's lock, so no slot is allocated meanwhile; allocated slots are
     * never cut.
     */
    long trim(long idleNs) throws IOException {
        long released = 0;
        for (SizeClass c : classes) {
            if (c == null) {
                continue;
            }
            synchronized (c) {
                if (!c.trimmable || System.nanoTime() - c.lastAllocationNs < idleNs) {
                    continue;
                }
            }
            Path classDir = dir.resolve(Integer.toString(1 << c.log2));
            if (!Files.isDirectory(classDir)) {
                synchronized (c) {
                    c.trimmable = !c.freed.isEmpty();
                }
                continue;
            }
            List<Path> packs;
            try (Stream<Path> list = Files.list(classDir)) {
                packs = list.filter(p -> p.getFileName().toString().matches("[0-9]+\\.pack")).toList();
            }
            synchronized (c) {
                reclaim(c, System.nanoTime() - reuseDelayNs);
                for (Path path : packs) {
                    String name = path.getFileName().toString();
                    long file = Long.parseLong(name.substring(0, name.length() - ".pack".length()));
                    FileChannel ch = channel(path);
                    int from = (int) (file * c.perFile);
                    int last = c.used.previousSetBit((int) ((file + 1) * c.perFile) - 1);
                    long keepBytes = last < from ? 0 : (long) (last - from + 1) << c.log2;
                    long size = ch.size();
                    if (size > keepBytes) {
                        ch.truncate(keepBytes);
                        released += size - keepBytes;
                    }
                }
                c.trimmable = !c.freed.isEmpty(); // slots still waiting for reuse are cut by a later trim
            }
        }
        return released;
    }

    private SizeClass sizeClass(int log2) {
        if (log2 < MIN_LOG2 || log2 > MAX_LOG2) {
            throw new StorageException(StorageException.Code.IO_ERROR, "slot class 2^" + log2 + " in stored chunk metadata");
        }
        return classes[log2];
    }

    /** Deletes what is not a pack file under the data directory (the direct-I/O probe, stray files). */
    void removeStrays() throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path f : all.filter(Files::isRegularFile).toList()) {
                if (!f.getFileName().toString().endsWith(".pack")) {
                    Files.delete(f);
                }
            }
        }
    }

    @Override
    public void close() {
        for (FileChannel ch : channels.values()) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // data went with each write; nothing is buffered here
            }
        }
        channels.clear();
    }
}
