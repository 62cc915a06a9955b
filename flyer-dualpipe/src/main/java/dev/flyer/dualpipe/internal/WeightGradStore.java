package dev.flyer.dualpipe.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Deferred weight-gradient work, as DualPipe's {@code WeightGradStore}: while enabled, a backward
 * puts its weight-gradient computations here instead of running them; {@link #flush()} closes
 * the group of one backward chunk; {@link #pop()} runs the oldest group (first in, first out).
 */
public final class WeightGradStore {
    private boolean enabled;
    private List<Runnable> cache = new ArrayList<>();
    private final ArrayDeque<List<Runnable>> queue = new ArrayDeque<>();

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /** Runs {@code work} now, or defers it when enabled. */
    public void put(Runnable work) {
        if (enabled) {
            cache.add(work);
        } else {
            work.run();
        }
    }

    public void flush() {
        queue.add(cache);
        cache = new ArrayList<>();
    }

    public void pop() {
        List<Runnable> group = queue.poll();
        if (group == null) {
            throw new IllegalStateException("W with no deferred weight gradients (schedule bug)");
        }
        group.forEach(Runnable::run);
    }

    public boolean isEmpty() {
        return queue.isEmpty() && cache.isEmpty();
    }

    public void clear() {
        cache = new ArrayList<>();
        queue.clear();
        enabled = false;
    }
}
