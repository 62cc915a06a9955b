package dev.flyer.ep;

import dev.flyer.dist.DistException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The pending result of a communication call: the CPU analogue of DeepEP's {@code EventOverlap}
 * (with {@code async_finish}) and of the low-latency receive hook. The call returns at once while
 * the exchange progresses on the buffer's communication thread; {@link #await()} blocks (parking,
 * never spinning for long) until it finished, or runs the call itself when it has not started and
 * every earlier call has finished (no thread handoff for "call, then wait"). A later call may name this one as its
 * {@code previous} and then starts only after it (DeepEP's {@code previous_event}).
 *
 * @param <T> the result
 */
public final class EpFuture<T> {
    private final CompletableFuture<T> future;
    private final Runnable runIfNext;
    private final Duration timeout;
    private final String what;

    EpFuture(CompletableFuture<T> future, Runnable runIfNext, Duration timeout, String what) {
        this.future = future;
        this.runIfNext = runIfNext;
        this.timeout = timeout;
        this.what = what;
    }

    /**
     * Waits for the result.
     *
     * @throws DistException when a peer failed or stalled past the group's timeout (DeepEP's
     *         "CPU recv timeout"), naming the call and, where known, the peer
     * @throws IllegalArgumentException when the call's input was invalid
     */
    public T await() {
        runIfNext.run();
        try {
            return future.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new DistException(what + ": CPU recv timeout after " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistException(what + " interrupted", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new DistException(what + " failed: " + cause.getMessage(), cause);
        }
    }

    public boolean isDone() {
        return future.isDone();
    }

    /** Waits without returning the result or throwing; for chaining. */
    void join() {
        runIfNext.run();
        try {
            future.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException ignored) {
            // the previous call's own caller sees its failure
        }
    }
}
