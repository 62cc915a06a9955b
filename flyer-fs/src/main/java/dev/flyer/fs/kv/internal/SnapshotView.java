package dev.flyer.fs.kv.internal;

import dev.flyer.fs.kv.KeyValue;
import java.util.Iterator;

/** An engine's committed state at one version: what a transaction's reads see before its own writes. */
public interface SnapshotView {
    /** The value of {@code key}, or null. */
    byte[] get(byte[] key);

    /** Pairs with keys in [begin, end), ascending; values are never null. */
    Iterator<KeyValue> range(byte[] beginInclusive, byte[] endExclusive);

    /** Releases what the view pins (a RocksDB snapshot). Idempotent. */
    void release();
}
