package dev.flyer.fs.kv;

/**
 * A transactional, ordered key-value store: the seam under Flyer fs's metadata, shaped like 3FS's
 * {@code IKVEngine} (src/common/kv/IKVEngine.h) over FoundationDB.
 *
 * <p>Contract: every transaction reads a consistent snapshot taken when it was created (its read
 * version). A read-write transaction commits only if no transaction that committed after its read
 * version wrote a key inside any of its read-conflict ranges (serializable snapshot isolation, as
 * FoundationDB); otherwise {@link KvConflictException} is thrown and nothing is applied. A commit
 * applies all of its writes atomically and durably (as the implementation defines durability).
 * Transactions are single-threaded objects; the engine is thread-safe. Implementations:
 * {@link MemKvEngine} (the test oracle) and {@link RocksKvEngine} (persistent).
 */
public interface KvEngine extends AutoCloseable {
    /** A snapshot for reads; its reads register no conflicts. */
    ReadOnlyTransaction readOnly();

    /** A read-write transaction at the newest committed version. */
    Transaction readWrite();

    /** The newest committed version (0 for an empty store). */
    long committedVersion();

    /** The fault hooks of this engine (tests inject "maybe committed" outcomes here). */
    KvFaults faults();

    /**
     * Whether reads travel over the network (a KV service): then a read may wait on a reply, and
     * callers must not read from a thread that may not block (an RPC event loop).
     */
    default boolean remote() {
        return false;
    }

    @Override
    void close();
}
