package dev.flyer.fs.storage;

import dev.flyer.fs.rpc.SharedBuffers;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * A storage node's board of chunk change stamps in shared memory: what lets a client on the same
 * host read committed chunk files itself ({@link LocalReads}) and still know, after each read,
 * that the version it read was the newest committed one. HDFS calls this short-circuit local
 * reads (it passes the block's file descriptor and a shared-memory slot that the DataNode clears
 * when the replica changes); 3FS has no equivalent (its local path, USRBIO, still asks the
 * storage service per I/O).
 *
 * <pre>
 *   one SharedBuffers region (flyer-shm-PID-RANDOM, token checked), its slot 0:
 *   0      u64 deadlineNs   local reads are valid while System.nanoTime() < this (CLOCK_MONOTONIC)
 *   8      u64 epoch        bumped when every lease must go (routing change, fence, close)
 *   64     u64 cell[CELLS]  bumped after every change of a chunk hashing there (target, chunk)
 * </pre>
 *
 * <p>Invariants: the owner changes a chunk's metadata first and bumps its cell after (release);
 * a lease reads the cell first and the metadata after (acquire), so a stamp never outlives the
 * version it was taken with. A pending version is marked, and its cell bumped, before the update
 * is forwarded, so while a cell still shows a lease's stamp no newer version can be committed
 * anywhere in the chain. Cells are shared by hash: a collision only costs a spurious re-lease.
 * The deadline is renewed after each successful heartbeat to half the failure timeout ahead, when
 * the node would fence itself anyway, so a dead or cut-off node's leases lapse before the cluster
 * manager can give its chains to others.
 */
final class VersionBoard {
    static final int CELLS = 1 << 16;
    static final int BYTES = 64 + CELLS * 8;
    private static final long DEADLINE = 0;
    private static final long EPOCH = 8;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment board;
    private final SharedBuffers.Ref ref;
    private final SharedBuffers region;

    private VersionBoard(MemorySegment board, SharedBuffers.Ref ref, SharedBuffers region) {
        this.board = board;
        this.ref = ref;
        this.region = region;
    }

    /** A new board owned by this process, invalid until {@link #renew}; null where shared memory is unavailable. */
    static VersionBoard create() {
        try {
            SharedBuffers region = SharedBuffers.create(SharedBuffers.dir(), 1, BYTES);
            SharedBuffers.Slot slot = region.acquire(BYTES);
            return new VersionBoard(slot.segment(), slot.ref(), region);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** A peer's board named by {@code ref}, mapped here (throws {@code rpc/SHM_UNAVAILABLE} on another host). */
    static VersionBoard map(SharedBuffers.Ref ref) {
        return new VersionBoard(SharedBuffers.peer(ref, BYTES), ref, null);
    }

    SharedBuffers.Ref ref() {
        return ref;
    }

    /** The byte offset of the cell of {@code chunk} on {@code targetId}. */
    static long cellOffset(long targetId, ChunkId chunk) {
        long h = (targetId * 0x9E3779B97F4A7C15L) ^ (chunk.inode() * 0xBF58476D1CE4E5B9L) ^ (chunk.index() * 0x94D049BB133111EBL);
        h ^= h >>> 31;
        return 64 + (h & (CELLS - 1)) * 8;
    }

    /** Owner: the chunk changed (call after its metadata changed). */
    void bump(long targetId, ChunkId chunk) {
        LONG.getAndAddRelease(board, cellOffset(targetId, chunk), 1L);
    }

    /** Owner: every lease goes (and no local read is valid until the next {@link #renew}, when {@code lapse}). */
    void invalidate(boolean lapse) {
        if (lapse) {
            LONG.setRelease(board, DEADLINE, 0L);
        }
        LONG.getAndAddRelease(board, EPOCH, 1L);
    }

    /** Owner: local reads stay valid until {@code deadlineNs} (a System.nanoTime value). */
    void renew(long deadlineNs) {
        LONG.setRelease(board, DEADLINE, deadlineNs);
    }

    long stamp(long cellOffset) {
        return (long) LONG.getAcquire(board, cellOffset);
    }

    long epoch() {
        return (long) LONG.getAcquire(board, EPOCH);
    }

    /** Whether a lease taken at {@code epoch} with {@code stamp} in its cell still holds now. */
    boolean holds(long epoch, long cellOffset, long stamp) {
        long deadlineNs = (long) LONG.getAcquire(board, DEADLINE);
        return deadlineNs != 0 && deadlineNs - System.nanoTime() > 0
                && (long) LONG.getAcquire(board, EPOCH) == epoch
                && (long) LONG.getAcquire(board, cellOffset) == stamp;
    }

    /** Owner: invalidates the board for good and removes its file (mappings elsewhere stay readable, and invalid). */
    void close() {
        invalidate(true);
        if (region != null) {
            region.delete();
        }
    }
}
