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
 * window = [mailboxes][staging half 0][staging half 1][zero-copy 0][zero-copy 1]
 * mailbox to rank r, slot i (of 4) = [sequence i64][length i64][payload ≤ 16 KiB]
 * </pre>
 * Small messages between such ranks (counts, offsets) skip the transport's threads: the sender
 * writes the payload into its mailbox for the receiver and publishes the message's sequence
 * number with release; the receiver's communication thread polls it with acquire. Four slots per
 * pair, used in turn, give the sender room to run ahead of a slow reader.
 * Staging halves alternate by call: a sender reuses a half two calls later, when every reader
 * of its node has finished the call that read it (each call exchanges at least one message per
 * pair in each direction, and a rank's calls run one after another). The zero-copy regions
 * belong to low-latency combines of even and odd dispatches. Files are sparse: only written
 * pages take memory. Names are removed once every rank has mapped them.
 */
final class Windows implements AutoCloseable {
    private static final java.lang.invoke.VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final int SLOTS = 4;
    private static final long SLOT_BYTES = 16 + (16 << 10);
    private static final int SPINS = 2000;
    private static final int YIELDS = 2000;
    /** Polls before yielding: {@link #SPINS}, or none when this host's ranks outnumber its cores. */
    private final int spins;

    private final Wire w;
    private final long mailboxBytes;
    private final long[] sent;
    private final long[] received;
    private final long timeoutNs;
    private final long halfBytes;
    private final long zeroCopyBytes;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment own;
    private final MemorySegment[] peers;
    private long cursor;
    private int half;

    Windows(Wire w, long halfBytes, long zeroCopyBytes, long timeoutNs) {
        this.w = w;
        this.mailboxBytes = (long) w.ranks * SLOTS * SLOT_BYTES;
        this.sent = new long[w.ranks];
        this.received = new long[w.ranks];
        this.timeoutNs = timeoutNs;
        this.halfBytes = halfBytes;
        this.zeroCopyBytes = zeroCopyBytes;
        this.peers = new MemorySegment[w.ranks];
        String id = new String(w.group.broadcast(HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(8)
                .putLong(new java.security.SecureRandom().nextLong()).array()).getBytes(), 0));
        Path file = Path.of("/dev/shm", "flyer-ep-" + id + "-" + w.rank);
        try {
            long size = mailboxBytes + 2 * halfBytes + 2 * zeroCopyBytes;
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
            int onHost = 0;
            for (int r = 0; r < w.ranks; r++) {
                onHost += r == w.rank || w.group.transportTo(r).equals("shm") ? 1 : 0;
            }
            // a rank that spins while the rank it waits for has no core only delays it
            spins = onHost > Runtime.getRuntime().availableProcessors() ? 0 : SPINS;
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
        return mailboxBytes + (long) half * halfBytes + at;
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
        return own.asSlice(mailboxBytes + 2 * halfBytes + (generation & 1) * zeroCopyBytes, bytes);
    }

    /** Sends {@code length} bytes of {@code src} from {@code offset} to {@code peer}'s mailbox reader. */
    void post(int peer, MemorySegment src, long offset, long length) {
        if (length > SLOT_BYTES - 16) {
            throw new IllegalArgumentException("a mailbox message holds " + (SLOT_BYTES - 16) + " bytes, not " + length);
        }
        long seq = ++sent[peer];
        long slot = ((long) peer * SLOTS + seq % SLOTS) * SLOT_BYTES;
        own.set(ValueLayout.JAVA_LONG_UNALIGNED, slot + 8, length);
        MemorySegment.copy(src, offset, own, slot + 16, length);
        LONG.setRelease(own, slot, seq);
    }

    /** Waits for {@code peer}'s next message to this rank and copies it to {@code dst} at {@code offset}. */
    void receive(int peer, MemorySegment dst, long offset, long length) {
        long seq = ++received[peer];
        MemorySegment box = peers[peer];
        long slot = ((long) w.rank * SLOTS + seq % SLOTS) * SLOT_BYTES;
        long deadline = System.nanoTime() + timeoutNs;
        for (int idle = 0; (long) LONG.getAcquire(box, slot) != seq; idle++) {
            if (idle < spins) {
                Thread.onSpinWait();
            } else if (idle < spins + YIELDS) {
                Thread.yield();
            } else {
                if (System.nanoTime() > deadline) {
                    throw new dev.flyer.dist.DistException("rank " + w.rank + ": rank " + peer
                            + " did not signal through shared memory within " + timeoutNs / 1_000_000
                            + " ms (is it alive and making the same call?)");
                }
                java.util.concurrent.locks.LockSupport.parkNanos(50_000);
            }
        }
        long got = box.get(ValueLayout.JAVA_LONG_UNALIGNED, slot + 8);
        if (got != length) {
            throw new IllegalStateException("rank " + peer + " sent a " + got + "-byte message, rank " + w.rank
                    + " expected " + length + " (the ranks are not making the same call)");
        }
        MemorySegment.copy(box, slot + 16, dst, offset, length);
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
