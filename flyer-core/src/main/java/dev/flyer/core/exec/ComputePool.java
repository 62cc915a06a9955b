package dev.flyer.core.exec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The compute pool kernels split their tiles onto: the CPU analogue of a GPU's SMs.
 *
 * <p>Contract: {@link #shared()} is one pool per process, sized by {@code -Dflyer.threads} or the
 * available processors. {@link #parallelFor(int, TileBody)} runs {@code body} once for every tile
 * in {@code [0, tiles)} and returns when all are done; the calling thread works too (as worker 0),
 * so a pool of {@code n} threads starts {@code n - 1}. Calls from different threads take turns; a
 * call from inside a tile (nested) runs its tiles inline. The first exception a tile throws is
 * rethrown to the caller after every claimed tile has finished. No threads are created per call;
 * a call allocates one small job object.
 *
 * <p>Implementation notes: each call publishes one small immutable-parameter {@code Job} through a
 * volatile field; its tile counter and done counter are int fields updated through
 * {@link VarHandle}s, so a worker that wakes late holds the old job, whose counter is exhausted,
 * and can never run a tile of the next one. Idle workers spin for a bounded number of checks,
 * then park; the caller, when out of tiles, waits the same way and is unparked by whoever
 * finishes the last tile. Nothing spins unbounded, so a 2-core box is never starved.
 */
public final class ComputePool implements AutoCloseable {
    private static final int SPIN_CHECKS = 1 << 12;
    private static final ComputePool SHARED = new ComputePool(defaultThreads(), "flyer-compute");

    private final int threads;
    private final Thread[] workers;
    private final ReentrantLock callLock = new ReentrantLock();
    private volatile Job current;
    private volatile boolean closed;

    /** One parallelFor call. */
    private static final class Job {
        private static final VarHandle NEXT;
        private static final VarHandle DONE;
        private static final VarHandle FAILURE;

        static {
            try {
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                NEXT = lookup.findVarHandle(Job.class, "next", int.class);
                DONE = lookup.findVarHandle(Job.class, "done", int.class);
                FAILURE = lookup.findVarHandle(Job.class, "failure", Throwable.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final TileBody body;
        final int tiles;
        final Thread caller;
        @SuppressWarnings("unused") private int next;
        private int done;
        private Throwable failure;

        Job(TileBody body, int tiles, Thread caller) {
            this.body = body;
            this.tiles = tiles;
            this.caller = caller;
        }

        int claim() {
            return (int) NEXT.getAndAdd(this, 1);
        }

        /** Records completion of one tile; true for the last. */
        boolean finish(Throwable error) {
            if (error != null) {
                FAILURE.compareAndSet(this, (Throwable) null, error);
            }
            return (int) DONE.getAndAdd(this, 1) + 1 == tiles;
        }

        boolean complete() {
            return (int) DONE.getAcquire(this) == tiles;
        }

        Throwable failure() {
            return (Throwable) FAILURE.getAcquire(this);
        }
    }

    /** A pool of {@code threads} workers (the caller counts as one), threads named {@code name-i}. */
    public ComputePool(int threads, String name) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int worker = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name(name + "-" + worker).unstarted(() -> workLoop(worker));
            workers[i].start();
        }
    }

    /** The process-wide pool. */
    public static ComputePool shared() {
        return SHARED;
    }

    /** Workers, the calling thread included. */
    public int threads() {
        return threads;
    }

    /** Runs {@code body(tile, worker)} for every tile in {@code [0, tiles)}, in parallel. */
    public void parallelFor(int tiles, TileBody body) {
        if (tiles < 0) {
            throw new IllegalArgumentException("tiles must be >= 0, got " + tiles);
        }
        if (tiles == 0) {
            return;
        }
        if (closed) {
            throw new IllegalStateException("compute pool is closed");
        }
        Thread me = Thread.currentThread();
        if (tiles == 1 || workers.length == 0 || isWorker(me) || callLock.isHeldByCurrentThread()) {
            for (int t = 0; t < tiles; t++) {
                body.run(t, 0);
            }
            return;
        }
        callLock.lock();
        try {
            runJob(tiles, body, me);
        } finally {
            callLock.unlock();
        }
    }

    private void runJob(int tiles, TileBody body, Thread me) {
        Job job = new Job(body, tiles, me);
        current = job;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        runTiles(job, 0);
        for (int spins = 0; !job.complete(); spins++) {
            if (spins < SPIN_CHECKS) {
                Thread.onSpinWait();
            } else {
                LockSupport.park(this);
            }
        }
        current = null;
        Throwable error = job.failure();
        if (error instanceof RuntimeException re) {
            throw re;
        }
        if (error instanceof Error e) {
            throw e;
        }
        if (error != null) {
            throw new IllegalStateException("tile failed", error);
        }
    }

    private static void runTiles(Job job, int worker) {
        for (int tile = job.claim(); tile < job.tiles; tile = job.claim()) {
            Throwable error = null;
            try {
                job.body.run(tile, worker);
            } catch (Throwable t) {
                error = t;
            }
            if (job.finish(error)) {
                LockSupport.unpark(job.caller);
            }
        }
    }

    private void workLoop(int worker) {
        Job seen = null;
        while (!closed) {
            Job job = current;
            if (job != null && job != seen) {
                seen = job;
                runTiles(job, worker);
                continue;
            }
            for (int spins = 0; spins < SPIN_CHECKS && current == job && !closed; spins++) {
                Thread.onSpinWait();
            }
            if (current == job && !closed) {
                LockSupport.park(this);
            }
        }
    }

    private boolean isWorker(Thread t) {
        for (Thread w : workers) {
            if (w == t) {
                return true;
            }
        }
        return false;
    }

    /** Stops the workers (the shared pool ignores this). */
    @Override
    public void close() {
        if (this == SHARED) {
            return;
        }
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }

    private static int defaultThreads() {
        String configured = System.getProperty("flyer.threads");
        if (configured == null || configured.isBlank()) {
            return Runtime.getRuntime().availableProcessors();
        }
        try {
            int n = Integer.parseInt(configured.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // fall through to the message below
        }
        throw new IllegalArgumentException("-Dflyer.threads must be a positive integer, got \"" + configured + "\"");
    }
}
