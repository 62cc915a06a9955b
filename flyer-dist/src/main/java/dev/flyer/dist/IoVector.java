package dev.flyer.dist;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A reusable gather (send) or scatter (receive) list: the pieces of one message, in order, each a
 * byte range of some off-heap segment. A message sent from an {@code IoVector} is its pieces
 * concatenated; a receive into one fills its pieces in order. The receiver's total length must
 * equal the message's.
 *
 * <p>Contract: {@link #add} appends a range and merges it with the previous piece when it
 * continues it in the same segment, so rows that happen to be adjacent travel as one piece.
 * {@link #clear} empties the list and keeps its capacity: a hot path that reuses one vector does
 * not allocate. Not thread-safe; the vector must stay untouched until its {@link Work} completed.
 */
public final class IoVector {
    private MemorySegment[] segments = new MemorySegment[8];
    private long[] offsets = new long[8];
    private long[] lengths = new long[8];
    private int count;
    private long byteSize;

    /** A vector of the whole of {@code segment}. */
    public static IoVector of(MemorySegment segment) {
        return new IoVector().add(segment, 0, segment.byteSize());
    }

    /** Appends {@code lengthBytes} of {@code segment} from {@code offsetBytes}; empty ranges are skipped. */
    public IoVector add(MemorySegment segment, long offsetBytes, long lengthBytes) {
        if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes + lengthBytes > segment.byteSize()) {
            throw new IndexOutOfBoundsException("range [" + offsetBytes + ", " + (offsetBytes + lengthBytes)
                    + ") is outside a segment of " + segment.byteSize() + " bytes");
        }
        if (lengthBytes == 0) {
            return this;
        }
        byteSize += lengthBytes;
        if (count > 0 && segments[count - 1] == segment && offsets[count - 1] + lengths[count - 1] == offsetBytes) {
            lengths[count - 1] += lengthBytes;
            return this;
        }
        if (count == segments.length) {
            segments = Arrays.copyOf(segments, count * 2);
            offsets = Arrays.copyOf(offsets, count * 2);
            lengths = Arrays.copyOf(lengths, count * 2);
        }
        segments[count] = segment;
        offsets[count] = offsetBytes;
        lengths[count] = lengthBytes;
        count++;
        return this;
    }

    /** Empties the list (capacity kept). */
    public IoVector clear() {
        Arrays.fill(segments, 0, count, null);
        count = 0;
        byteSize = 0;
        return this;
    }

    /** Pieces after merging. */
    public int count() {
        return count;
    }

    /** Total bytes of all pieces. */
    public long byteSize() {
        return byteSize;
    }

    public MemorySegment segment(int piece) {
        return segments[checkPiece(piece)];
    }

    public long offset(int piece) {
        return offsets[checkPiece(piece)];
    }

    public long length(int piece) {
        return lengths[checkPiece(piece)];
    }

    private int checkPiece(int piece) {
        if (piece < 0 || piece >= count) {
            throw new IndexOutOfBoundsException("piece " + piece + " of " + count);
        }
        return piece;
    }
}
