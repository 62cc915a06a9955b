package dev.flyer.fs.storage;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The data files of one chunk engine, read and written with direct I/O (O_DIRECT) where the file
 * system allows it, as 3FS's storage does (src/storage/store/GlobalFileStore.cc opens chunk files
 * {@code O_RDWR | O_DIRECT}; the Rust chunk engine's src/file/cluster.rs likewise): the chunk
 * store's bytes go between the disk and the I/O buffers without a second copy in the page cache,
 * and what a benchmark measures is the disk, not memory.
 *
 * <p>Direct I/O moves whole aligned blocks ({@link #alignment()}, the file store's block size) at
 * aligned offsets from aligned memory. Content whose length is not a multiple is written padded
 * with zeros (a chunk's slot, {@link ChunkSlots}, has room for the padding); a read asks for the
 * aligned span and a short read at the end of the file is its end. A caller's buffer that is not
 * aligned direct memory gets the bytes through an aligned bounce buffer. Where the file system
 * refuses O_DIRECT (tmpfs) or {@code -Dflyer.fs.directIo=false}, plain buffered I/O does the same
 * with alignment 1.
 *
 * <p>Measured cost of a file per chunk version (this store's layout until slots in pack files
 * replaced it): on this project's VM disk, 4 threads reading 1 MiB with O_DIRECT from 256 chunk
 * files ran at 4.4-5.0 GB/s where the same loop over four 64 MiB files ran at 5.4-7.5 (0.6-0.8),
 * even for 256 files just written in order by one thread (ext4 leaves ~20 MiB between them);
 * random offsets inside the big files ran as fast as sequential ones (probe {@code ChunkQd}, not
 * committed). So what the disk rewards is chunks lying together, not the read order.
 */
final class ChunkFiles {
    /** {@code com.sun.nio.file.ExtendedOpenOption.DIRECT} (jdk.unsupported), looked up so the build keeps -Werror. */
    static final OpenOption DIRECT = directOption();
    private final boolean direct;
    private final int alignment;

    private ChunkFiles(boolean direct, int alignment) {
        this.direct = direct;
        this.alignment = alignment;
    }

    /** One instance per (direct, alignment), so local reads share its buffer pool across leases. */
    private static final java.util.Map<Long, ChunkFiles> LIKE = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Files another process's store wrote, read with its direct-I/O choice and alignment (local
     * reads); the same instance for the same pair, so its pooled buffers are reused.
     */
    static ChunkFiles like(boolean direct, int alignment) {
        boolean d = direct && DIRECT != null;
        int a = d ? alignment : 1;
        return LIKE.computeIfAbsent((d ? 1L << 32 : 0L) | a, k -> new ChunkFiles(d, a));
    }

    /** Probes {@code dataDir}'s file system for direct I/O, when {@code tryDirect}. */
    static ChunkFiles in(Path dataDir, boolean tryDirect) {
        if (DIRECT == null || !tryDirect) {
            return new ChunkFiles(false, 1);
        }
        Path probe = dataDir.resolve(".direct-io-probe");
        try {
            int block = (int) Math.max(512, Files.getFileStore(dataDir).getBlockSize());
            ChunkFiles files = new ChunkFiles(true, block);
            files.write(probe, new byte[1]);
            return files;
        } catch (IOException | UnsupportedOperationException e) {
            return new ChunkFiles(false, 1);
        } finally {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // an orphan probe file is swept with the other orphans
            }
        }
    }

    boolean direct() {
        return direct;
    }

    int alignment() {
        return alignment;
    }

    /** {@code bytes} rounded up to the alignment: the capacity a read of that span needs. */
    int span(int bytes) {
        return (bytes + alignment - 1) / alignment * alignment;
    }

    /**
     * Writes {@code content} at byte {@code position} (aligned) of a channel {@link #openForWriting}
     * opened; with direct I/O the last block is padded with zeros.
     */
    void write(FileChannel ch, long position, byte[] content) throws IOException {
        if (!direct) {
            writeFully(ch, ByteBuffer.wrap(content), position);
            return;
        }
        MemorySegment buffer = borrow(span(content.length));
        try {
            MemorySegment aligned = buffer.asSlice(0, span(content.length));
            MemorySegment.copy(content, 0, aligned, ValueLayout.JAVA_BYTE, 0, content.length);
            aligned.asSlice(content.length).fill((byte) 0); // the padding past the end
            writeFully(ch, aligned.asByteBuffer(), position);
        } finally {
            giveBack(buffer);
        }
    }

    /** Writes {@code content} at the start of {@code file} (created if needed), to probe for direct I/O. */
    void write(Path file, byte[] content) throws IOException {
        try (FileChannel ch = openForWriting(file)) {
            write(ch, 0, content);
        }
    }

    /**
     * Reads [from, from + length) of {@code file} into {@code buf} from position 0 ({@code buf}
     * has at least {@link #span}(length) bytes of room; {@code from} is aligned); returns how many
     * bytes the file had (less than {@code length} when it ends sooner).
     */
    int read(Path file, long from, int length, ByteBuffer buf) throws IOException {
        try (FileChannel ch = openForReading(file)) {
            return read(ch, from, length, buf);
        }
    }

    /** As {@link #read(Path, long, int, ByteBuffer)} from a channel {@link #openForReading} opened. */
    int read(FileChannel ch, long from, int length, ByteBuffer buf) throws IOException {
        if (!direct) {
            buf.clear().limit(length);
            while (buf.hasRemaining() && ch.read(buf, from + buf.position()) > 0) {
                // keep reading
            }
            return buf.position();
        }
        if (buf.isDirect() && MemorySegment.ofBuffer(buf).address() % alignment == 0) {
            return readAligned(ch, from, length, buf);
        }
        MemorySegment bounce = borrow(span(length));
        try {
            int n = readAligned(ch, from, length, bounce.asSlice(0, span(length)).asByteBuffer());
            buf.clear().put(0, bounce.asByteBuffer(), 0, n);
            return n;
        } finally {
            giveBack(bounce);
        }
    }

    /** A data file opened for reads the way this store reads (direct or not). */
    FileChannel openForReading(Path file) throws IOException {
        return FileChannel.open(file, options(StandardOpenOption.READ));
    }

    /** A data file opened (created if needed) for reads and writes the way this store does them. */
    FileChannel openForWriting(Path file) throws IOException {
        return FileChannel.open(file, options(StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE));
    }

    /**
     * An aligned buffer of at least {@code bytes}: one of the process's pooled buffers
     * ({@link BufferPool}) when it fits, so the steady data path allocates no native memory. Give
     * it back with {@link #giveBack}.
     */
    MemorySegment borrow(int bytes) {
        if (bytes <= BufferPool.BUFFER_BYTES && BufferPool.MAX_ALIGNMENT % alignment == 0) {
            return BufferPool.SHARED.take();
        }
        return Arena.ofAuto().allocate(bytes, alignment);
    }

    void giveBack(MemorySegment segment) {
        BufferPool.SHARED.giveBack(segment);
    }

    private int readAligned(FileChannel ch, long from, int length, ByteBuffer buf) throws IOException {
        int got = 0;
        while (got < length) {
            buf.limit(span(length)).position(got);
            int r = ch.read(buf, from + got);
            if (r <= 0) {
                break;
            }
            got += r;
            if (got % alignment != 0) {
                break; // a short block: the end of the file
            }
        }
        return Math.min(got, length);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b, position + b.position());
        }
    }

    private OpenOption[] options(OpenOption... base) {
        if (!direct) {
            return base;
        }
        OpenOption[] out = java.util.Arrays.copyOf(base, base.length + 1);
        out[base.length] = DIRECT;
        return out;
    }

    private static OpenOption directOption() {
        try {
            Class<?> c = Class.forName("com.sun.nio.file.ExtendedOpenOption");
            for (Object o : c.getEnumConstants()) {
                if (((Enum<?>) o).name().equals("DIRECT")) {
                    return (OpenOption) o;
                }
            }
        } catch (ClassNotFoundException e) {
            // no jdk.unsupported: buffered I/O
        }
        return null;
    }
}
