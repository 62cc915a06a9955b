package dev.flyer.fs.kv;

import java.util.Optional;

/**
 * Reads from one consistent snapshot (3FS's {@code IReadOnlyTransaction}). The {@code snapshot*}
 * reads never register read conflicts; in a {@link Transaction} the plain reads do.
 * Close the transaction to release its snapshot.
 */
public interface ReadOnlyTransaction extends AutoCloseable {
    /** The committed version this transaction reads at. */
    long readVersion();

    /** The value of {@code key}, without a read conflict. */
    Optional<byte[]> snapshotGet(byte[] key);

    /** Up to {@code limit} pairs (0 = no limit) with keys in [begin, end), ascending, without a read conflict. */
    RangeResult snapshotGetRange(KeySelector begin, KeySelector end, int limit);

    /** As {@link #snapshotGet}; in a read-write transaction it also registers a read conflict on the key. */
    default Optional<byte[]> get(byte[] key) {
        return snapshotGet(key);
    }

    /** As {@link #snapshotGetRange}; in a read-write transaction it also registers the range it read. */
    default RangeResult getRange(KeySelector begin, KeySelector end, int limit) {
        return snapshotGetRange(begin, end, limit);
    }

    /** Abandons the transaction; later calls fail. */
    void cancel();

    @Override
    void close();
}
