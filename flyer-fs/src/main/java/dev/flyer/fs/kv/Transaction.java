package dev.flyer.fs.kv;

/**
 * A read-write transaction (3FS's {@code IReadWriteTransaction}): reads see the snapshot plus this
 * transaction's own writes; {@link #get}/{@link #getRange} and the {@code addReadConflict*} calls
 * form the read-conflict set; {@link #set}/{@link #clear} the write set. {@link #commit} is
 * optimistic and serializable.
 */
public interface Transaction extends ReadOnlyTransaction {
    /** Registers a read conflict on {@code key} without reading it. */
    void addReadConflict(byte[] key);

    /** Registers a read conflict on [begin, end) without reading it. */
    void addReadConflictRange(byte[] beginInclusive, byte[] endExclusive);

    void set(byte[] key, byte[] value);

    void clear(byte[] key);

    /**
     * Commits: checks the read-conflict set against every commit after {@link #readVersion()}, then
     * applies all writes atomically.
     *
     * @return the committed version (the read version when nothing was written)
     * @throws KvConflictException when a conflicting commit won (retryable); nothing is applied
     * @throws MaybeCommittedException when the outcome is unknown (the writes may or may not be applied)
     */
    long commit();
}
