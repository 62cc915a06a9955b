package dev.flyer.dist.internal;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * A single-producer single-consumer byte ring in shared memory, the data path of
 * {@link ShmLinks}.
 *
 * <pre>
 * offset 0    head    (i64, bytes consumed; written by the consumer with release)
 * offset 64   tail    (i64, bytes produced; written by the producer with release)
 * offset 128  closed  (i64, non-zero once either side closed)
 * offset 192  data    (capacity bytes, a power of two)
 * </pre>
 * Head and tail only grow, published after each quarter of the ring so both sides copy at once; {@code tail - head} bytes are readable and {@code capacity - (tail -
 * head)} writable. Each side reads the other's counter with acquire, so the bytes it guards are
 * visible. Waiting spins a bounded number of times, then yields the core a bounded number of
 * times (a Linux park sleeps at least the 50 µs timer slack), then parks for growing intervals up to 200
 * µs: it never spins unbounded and never starves compute, and gives up with an error naming the
 * peer after the timeout.
 */
public final class ShmRing {
    public static final long HEADER_BYTES = 192;
    private static final long HEAD = 0;
    private static final long TAIL = 64;
    private static final long CLOSED = 128;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final int SPINS = 2000;
    /** Yields after spinning: on a 2-core box the peer often needs this core; a park costs 50+ us of timer slack. */
    private static final int YIELDS = 20_000;

    private final MemorySegment ring;
    private final long capacity;
    private final long timeoutNs;
    private final String peerName;
    private long position;

    /** {@code ring} is the whole mapping; {@code producer} says which counter this side owns. */
    public ShmRing(MemorySegment ring, boolean producer, long timeoutNs, String peerName) {
        this.ring = ring;
        this.capacity = ring.byteSize() - HEADER_BYTES;
        if (Long.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("ring capacity must be a power of two, got " + capacity);
        }
        this.timeoutNs = timeoutNs;
        this.peerName = peerName;
        this.position = (long) LONG.getAcquire(ring, producer ? TAIL : HEAD);
    }

    /** Producer: appends {@code length} bytes of {@code src} from {@code offset}. */
    public void write(MemorySegment src, long offset, long length) throws IOException {
        transfer(src, offset, length, true);
    }

    /** Consumer: fills {@code length} bytes of {@code dst} from {@code offset}. */
    public void read(MemorySegment dst, long offset, long length) throws IOException {
        transfer(dst, offset, length, false);
    }

    /** Moves bytes into the ring (producer) or out of it (consumer), a quarter of the ring at most per publish. */
    private void transfer(MemorySegment user, long offset, long length, boolean produce) throws IOException {
        long done = 0;
        long deadline = System.nanoTime() + timeoutNs;
        int idle = 0;
        while (done < length) {
            long ready = produce ? capacity - (position - (long) LONG.getAcquire(ring, HEAD))
                    : (long) LONG.getAcquire(ring, TAIL) - position;
            if (ready == 0) {
                idle = await(idle, deadline, produce ? "read what this rank sent" : "send");
                continue;
            }
            idle = 0;
            long n = Math.min(Math.min(ready, capacity / 4), length - done);
            copy(user, offset + done, produce, n);
            position += n;
            done += n;
            LONG.setRelease(ring, produce ? TAIL : HEAD, position);
            deadline = System.nanoTime() + timeoutNs;
        }
    }

    private void copy(MemorySegment user, long userOffset, boolean intoRing, long n) {
        long at = position & (capacity - 1);
        long first = Math.min(n, capacity - at);
        if (intoRing) {
            MemorySegment.copy(user, userOffset, ring, HEADER_BYTES + at, first);
            MemorySegment.copy(user, userOffset + first, ring, HEADER_BYTES, n - first);
        } else {
            MemorySegment.copy(ring, HEADER_BYTES + at, user, userOffset, first);
            MemorySegment.copy(ring, HEADER_BYTES, user, userOffset + first, n - first);
        }
    }

    private int await(int idle, long deadline, String what) throws IOException {
        if ((long) LONG.getAcquire(ring, CLOSED) != 0) {
            throw new IOException(peerName + " closed its shared-memory link (did it exit or crash?)");
        }
        if (System.nanoTime() > deadline) {
            throw new IOException(peerName + " did not " + what + " within " + timeoutNs / 1_000_000
                    + " ms over shared memory (is it alive?)");
        }
        if (idle < SPINS) {
            Thread.onSpinWait();
        } else if (idle < SPINS + YIELDS) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(Math.min(200_000, 1_000L << Math.min(8, (idle - SPINS - YIELDS) / 64)));
        }
        return idle + 1;
    }

    /** Tells the other side this link is closed. */
    public void markClosed() {
        LONG.setRelease(ring, CLOSED, 1L);
    }
}
