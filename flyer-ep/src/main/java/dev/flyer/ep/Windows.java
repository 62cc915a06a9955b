package dev.flyer.ep;

import dev.flyer.dist.IoVector;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;

/**
 * Shared-memory windows: every rank maps one file under {@code /dev/shm} of its own and reads the
 * windows of the ranks of its node that share its host (DeepEP's IPC buffers). A sender puts
 * rows into its window and sends the receiver only {@code (offset, length)}; the receiver then
 * reads them where they are: a combine reduces straight from its peers' windows and a
 * low-latency dispatch gathers rows from the sender's FP8 cast, so each byte is copied once
 * instead of twice through a ring.
 *
 * <pre>
 * window = [staging half 0][staging half 1][zero-copy 0][zero-copy 1]
 * </pre>
 * Staging halves alternate by call: a sender reuses a half two calls later, when every reader
 * of its node has finished the call that read it (each call exchanges at least one message per
 * pair in each direction, and a rank's calls run one after another). The zero-copy regions
 * belong to low-latency combines of even and odd dispatches. Files are sparse: only written
 * pages take memory. Names are removed once every rank has mapped them.
 */
final class Windows implements AutoCloseable {
    private final Wire w;
    private final long halfBytes;
    private final long zeroCopyBytes;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment own;
    private final MemorySegment[] peers;
    private long cursor;
    private int half;

    Windows(Wire w, long halfBytes, long zeroCopyBytes) {
        this.w = w;
        this.halfBytes = halfBytes;
        this.zeroCopyBytes = zeroCopyBytes;
        this.peers = new MemorySegment[w.ranks];
        String id = new String(w.group.broadcast(HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(8)
                .putLong(new java.security.SecureRandom().nextLong()).array()).getBytes(), 0));
        Path file = Path.of("/dev/shm", "flyer-ep-" + id + "-" + w.rank);
        try {
            long size = 2 * halfBytes + 2 * zeroCopyBytes;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                ch.truncate(size);
                ch.write(java.nio.ByteBuffer.wrap(new byte[1]), size - 1);
                own = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            }
            w.group.store().set("ep/" + id + "/window/" + w.rank, file.toString());
            for (int r = 0; r < w.ranks; r++) {
                if (r != w.rank && usable(r)) {
                    Path peer = Path.of(w.group.store().getString("ep/" + id + "/window/" + r,
                            java.time.Duration.ofSeconds(60)));
                    try (FileChannel ch = FileChannel.open(peer, StandardOpenOption.READ)) {
                        peers[r] = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                    }
                }
            }
            peers[w.rank] = own;
            w.group.barrier();
        } catch (IOException e) {
            arena.close();
            throw new UncheckedIOException("cannot set up shared-memory windows under /dev/shm: " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // the name goes with the next reboot
            }
        }
    }

    /** Whether this rank reads {@code r}'s window (same node, same host); always true for itself. */
    boolean usable(int r) {
        return r == w.rank || (w.node(r) == w.myNode && w.group.transportTo(r).equals("shm"));
    }

    /** Starts a call: the next staging half, empty. */
    void begin() {
        half ^= 1;
        cursor = 0;
    }

    /** Copies {@code v}'s pieces into this rank's staging half; returns their offset in the window. */
    long put(IoVector v) {
        long at = reserve(v.byteSize());
        long o = at;
        for (int i = 0; i < v.count(); i++) {
            MemorySegment.copy(v.segment(i), v.offset(i), own, o, v.length(i));
            o += v.length(i);
        }
        return at;
    }

    /** Reserves {@code bytes} (64-byte aligned) of the staging half; returns the window offset. */
    long reserve(long bytes) {
        long at = (cursor + 63) & ~63L;
        if (at + bytes > halfBytes) {
            throw new IllegalArgumentException("rank " + w.rank + " needs " + (at + bytes)
                    + " bytes of shared-memory window for this call but a half has " + halfBytes
                    + " (EpConfig.normalBytes + lowLatencyBytes / 2)");
        }
        cursor = at + bytes;
        return (long) half * halfBytes + at;
    }

    MemorySegment own() {
        return own;
    }

    MemorySegment peer(int r) {
        return peers[r];
    }

    /** The zero-copy combine region of dispatch generation {@code generation}. */
    MemorySegment zeroCopy(int generation, long bytes) {
        if (bytes > zeroCopyBytes) {
            throw new IllegalArgumentException("the zero-copy combine buffer needs " + bytes + " bytes, the window has "
                    + zeroCopyBytes + " (EpConfig.lowLatencyBytes / 2)");
        }
        return own.asSlice(2 * halfBytes + (generation & 1) * zeroCopyBytes, bytes);
    }

    /** The window offset of a segment inside this rank's window. */
    long offsetOf(MemorySegment inside) {
        return inside.address() - own.address();
    }

    static void writeLong(MemorySegment s, long at, long v) {
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, at, v);
    }

    static long readLong(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_LONG_UNALIGNED, at);
    }

    @Override
    public void close() {
        arena.close();
    }
}
