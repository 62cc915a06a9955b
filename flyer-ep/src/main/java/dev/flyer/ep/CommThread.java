package dev.flyer.ep;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Runs a buffer's calls one after another in submission order, on its own thread or on the
 * thread that waits for one: a caller that awaits a call which has not started yet, while every
 * earlier call has finished, runs it itself. The common "call, then wait" pattern so costs no
 * thread handoff (two wake-ups per call, each a scheduling delay on a loaded machine), while a
 * caller that computes before waiting (receive hooks, async calls) gets the overlap from this
 * thread.
 *
 * <p>Implementation notes: a task is claimed by a compare-and-set from NEW to RUNNING, by this
 * thread (in queue order) or by an awaiting caller (only when its predecessor is done, so order
 * holds); the loser skips it.
 */
final class CommThread implements AutoCloseable {
    private static final int NEW = 0;
    private static final int RUNNING = 1;

    /** One submitted call. */
    static final class Task<T> {
        final CompletableFuture<T> result = new CompletableFuture<>();
        private final Supplier<T> body;
        private final Task<?> before;
        private final AtomicInteger state = new AtomicInteger(NEW);

        Task(Supplier<T> body, Task<?> before) {
            this.body = body;
            this.before = before;
        }

        /** Runs the call here if no one has and every earlier call is done. */
        void runIfNext() {
            if ((before == null || before.result.isDone()) && state.get() == NEW) {
                run();
            }
        }

        void run() {
            if (!state.compareAndSet(NEW, RUNNING)) {
                return;
            }
            try {
                result.complete(body.get());
            } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
            }
        }
    }

    private final LinkedBlockingQueue<Task<?>> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private Task<?> last;

    CommThread(String name) {
        thread = Thread.ofPlatform().daemon().name(name).start(this::loop);
    }

    /** Queues {@code body} after every earlier call. */
    synchronized <T> Task<T> submit(Supplier<T> body) {
        Task<T> t = new Task<>(body, last);
        last = t;
        queue.add(t);
        return t;
    }

    /**
     * Runs {@code body} on the calling thread when no earlier call is pending (this thread is
     * not even woken), else queues it behind them; either way the returned task is done when
     * this returns only in the first case.
     */
    <T> Task<T> runOrSubmit(Supplier<T> body) {
        Task<T> t;
        synchronized (this) {
            if (last != null && !last.result.isDone()) {
                return submit(body);
            }
            t = new Task<>(body, last);
            last = t;
        }
        t.run();
        return t;
    }

    private void loop() {
        try {
            while (true) {
                Task<?> t = queue.take();
                if (t.body == null) {
                    return;
                }
                t.run();
                try {
                    t.result.join(); // a caller may be running it: the next call starts after it
                } catch (RuntimeException ignored) {
                    // the task's own caller sees its failure
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        queue.add(new Task<>(null, null));
        thread.interrupt();
    }
}
