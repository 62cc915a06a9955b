package dev.flyer.fs.kv.internal;

import dev.flyer.fs.kv.KvConflictException;
import dev.flyer.fs.kv.Keys;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;

/**
 * Recent commits' write sets, for optimistic conflict checks: the resolver FoundationDB runs and
 * RocksDB's own transactions lack (they track single keys, not ranges).
 *
 * <p>Invariants: entries are in ascending version order; entries older than the window are dropped
 * and {@link #floor()} is the newest dropped version, so a transaction whose read version is below
 * the floor can no longer be checked and fails as "too old" (FoundationDB keeps 5 s). Not
 * thread-safe: callers hold the engine's commit lock.
 */
public final class CommitLog {
    private record Entry(long version, long timeNs, byte[][] sortedKeys) {}

    private final ArrayDeque<Entry> entries = new ArrayDeque<>();
    private final long windowNs;
    private final int maxEntries;
    private volatile long floor;

    public CommitLog(long windowNs, int maxEntries, long startVersion) {
        this.windowNs = windowNs;
        this.maxEntries = maxEntries;
        this.floor = startVersion;
    }

    /** The newest version whose write set is no longer kept. */
    public long floor() {
        return floor;
    }

    /** Fails when a commit after {@code readVersion} wrote a key inside one of {@code readRanges} ([begin, end) pairs). */
    public void check(long readVersion, List<byte[][]> readRanges) {
        if (readVersion < floor) {
            throw new KvConflictException("transaction too old: read version " + readVersion
                    + " is below the oldest checkable version " + floor);
        }
        if (readRanges.isEmpty()) {
            return;
        }
        Iterator<Entry> newestFirst = entries.descendingIterator();
        while (newestFirst.hasNext()) {
            Entry e = newestFirst.next();
            if (e.version <= readVersion) {
                return;
            }
            for (byte[][] range : readRanges) {
                if (anyKeyIn(e.sortedKeys, range[0], range[1])) {
                    throw new KvConflictException("transaction conflict: version " + e.version
                            + " wrote a key this transaction read at version " + readVersion);
                }
            }
        }
    }

    /** Records a commit's write set and drops entries older than the window. */
    public void append(long version, Collection<byte[]> keysAscending, long nowNs) {
        entries.addLast(new Entry(version, nowNs, keysAscending.toArray(byte[][]::new)));
        while (!entries.isEmpty()
                && (entries.size() > maxEntries || nowNs - entries.peekFirst().timeNs > windowNs)) {
            floor = entries.removeFirst().version;
        }
    }

    private static boolean anyKeyIn(byte[][] sorted, byte[] begin, byte[] end) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Keys.compare(sorted[mid], begin) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo < sorted.length && Keys.compare(sorted[lo], end) < 0;
    }
}
