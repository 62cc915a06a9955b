package dev.flyer.fs.kv;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fault hooks of an engine. {@link #maybeCommitNext} makes the next commits end in
 * {@link MaybeCommittedException}, after applying their writes or without applying them.
 */
public final class KvFaults {
    private final AtomicInteger appliedThenUnknown = new AtomicInteger();
    private final AtomicInteger droppedThenUnknown = new AtomicInteger();

    /** The next {@code count} commits report "maybe committed"; {@code applied} says whether their writes land. */
    public void maybeCommitNext(int count, boolean applied) {
        (applied ? appliedThenUnknown : droppedThenUnknown).addAndGet(count);
    }

    /** Consumes one pending fault: 0 none, 1 apply then report unknown, 2 drop then report unknown. */
    public int take() {
        if (decrement(droppedThenUnknown)) {
            return 2;
        }
        return decrement(appliedThenUnknown) ? 1 : 0;
    }

    private static boolean decrement(AtomicInteger counter) {
        return counter.getAndUpdate(v -> v > 0 ? v - 1 : 0) > 0;
    }
}
