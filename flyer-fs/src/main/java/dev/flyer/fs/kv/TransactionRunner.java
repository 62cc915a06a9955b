package dev.flyer.fs.kv;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs a transaction body until it commits (3FS's WithTransaction + TransactionRetry): a fresh
 * transaction per attempt; retryable failures back off exponentially with jitter, up to
 * {@code maxAttempts}. {@link MaybeCommittedException} is retried only when the body is
 * idempotent ({@code allowMaybeCommitted}); otherwise it propagates.
 */
public final class TransactionRunner {
    /** The body of a read-write transaction; its return value is returned after a successful commit. */
    @FunctionalInterface
    public interface Body<T> {
        T run(Transaction txn);
    }

    private final KvEngine engine;
    private final int maxAttempts;
    private final long initialBackoffNs;
    private final long maxBackoffNs;
    private final boolean allowMaybeCommitted;

    public TransactionRunner(KvEngine engine, int maxAttempts, long initialBackoffNs, long maxBackoffNs,
            boolean allowMaybeCommitted) {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be >= 1, got " + maxAttempts);
        }
        this.engine = engine;
        this.maxAttempts = maxAttempts;
        this.initialBackoffNs = initialBackoffNs;
        this.maxBackoffNs = maxBackoffNs;
        this.allowMaybeCommitted = allowMaybeCommitted;
    }

    /** 100 attempts, 1 ms to 500 ms backoff, maybe-committed retried. */
    public static TransactionRunner defaults(KvEngine engine) {
        return new TransactionRunner(engine, 100, TimeUnit.MILLISECONDS.toNanos(1),
                TimeUnit.MILLISECONDS.toNanos(500), true);
    }

    public KvEngine engine() {
        return engine;
    }

    public <T> T run(Body<T> body) {
        long backoffNs = initialBackoffNs;
        for (int attempt = 1; ; attempt++) {
            try (Transaction txn = engine.readWrite()) {
                T result = body.run(txn);
                txn.commit();
                return result;
            } catch (KvException e) {
                boolean retry = e.retryable() && (allowMaybeCommitted || !(e instanceof MaybeCommittedException));
                if (!retry || attempt >= maxAttempts) {
                    throw e;
                }
            }
            LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(backoffNs / 2, backoffNs + 1));
            backoffNs = Math.min(maxBackoffNs, backoffNs * 2);
        }
    }
}
