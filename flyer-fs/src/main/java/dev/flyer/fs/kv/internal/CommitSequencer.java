package dev.flyer.fs.kv.internal;

import dev.flyer.fs.kv.KvConflictException;
import dev.flyer.fs.kv.KvFaults;
import dev.flyer.fs.kv.MaybeCommittedException;
import java.util.List;
import java.util.NavigableMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The commit path both engines share: one lock orders commits; under it the read set is checked
 * against the {@link CommitLog}, the write set is applied by the engine with the next version, and
 * recorded. Injected "maybe committed" faults fire here, before or after the apply.
 */
public final class CommitSequencer {
    /** Applies a write set (null value = clear) atomically as {@code version}. */
    public interface Applier {
        void apply(NavigableMap<byte[], byte[]> writes, long version);
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final CommitLog log;
    private final KvFaults faults;
    private final Applier applier;
    private final long windowNs;
    private volatile long version;

    public CommitSequencer(long startVersion, long windowNs, KvFaults faults, Applier applier) {
        this.version = startVersion;
        this.windowNs = windowNs;
        this.log = new CommitLog(windowNs, 1 << 20, startVersion);
        this.faults = faults;
        this.applier = applier;
    }

    public long version() {
        return version;
    }

    public long floor() {
        return log.floor();
    }

    /** @param startNs when the transaction took its read version ({@link System#nanoTime()}) */
    public long commit(long readVersion, long startNs, List<byte[][]> readRanges, NavigableMap<byte[], byte[]> writes) {
        if (writes.isEmpty()) {
            return readVersion;
        }
        long ageNs = System.nanoTime() - startNs;
        if (ageNs > windowNs) {
            throw new KvConflictException("transaction too old: it ran " + ageNs / 1_000_000
                    + " ms, longer than the " + windowNs / 1_000_000 + " ms window");
        }
        lock.lock();
        try {
            log.check(readVersion, readRanges);
            int fault = faults.take();
            if (fault == 2) {
                throw new MaybeCommittedException("commit result unknown (injected, not applied)");
            }
            long next = version + 1;
            applier.apply(writes, next);
            log.append(next, writes.keySet(), System.nanoTime());
            version = next;
            if (fault == 1) {
                throw new MaybeCommittedException("commit result unknown (injected, applied as version " + next + ")");
            }
            return next;
        } finally {
            lock.unlock();
        }
    }
}
