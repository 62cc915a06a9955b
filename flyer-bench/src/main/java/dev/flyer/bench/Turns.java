package dev.flyer.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Several sides' workloads (the disk, and clusters) measured in turns of {@link #TURN_NS}, so that
 * the shared virtual disk's slow and fast phases, which last seconds, fall on every side alike. Run
 * one side after the other for 5 s each, the same row's raw rate moved 0.5-2x between two rounds
 * of one run, and its ratios with it.
 *
 * <p>Implementation notes: each side is a crew of {@code threads} worker threads, each holding its
 * step (and its open files) across turns. A turn posts an end time to every worker of one crew;
 * each runs whole steps until that time, finishes what they left in flight ({@code endTurn}: a Flyer
 * file's writes behind {@code write}) and reports its units, and the turn lasts until the last
 * one stops, so no step is cut and units / elapsed is exact (the tail, one step of the slowest
 * thread, is charged to every side alike). The other crews wait in their inboxes. Each side first
 * warms up alone, in turns, until (after at least {@code windowMs}) two turns in a row fail to
 * beat its best by 5 %, or {@code maxWarmMs} (a fresh cluster's JVMs compile a path for 10-30 s).
 * Then every side gets {@code windowMs} of timed turns, the order rotating by one each round.
 */
final class Turns {
    static final long TURN_NS = 1_000_000_000L;
    /** A turn that has not ended this long after its end time has a stuck step. */
    private static final long STALL_NS = TimeUnit.MINUTES.toNanos(5);
    /** {@code -Dflyer.bench.turns.log=true} prints every timed turn to stderr (with its end in {@code nanoTime}, for perf). */
    private static final boolean LOG = Boolean.getBoolean("flyer.bench.turns.log");

    private Turns() {}

    /**
     * Units per second of each worker on {@code o.threads()} threads; {@code counter} is read around
     * each turn and its growth summed into {@code counted[side]}.
     */
    static double[] measure(List<DataRows.Worker> workers, FsBench.Options o, LongSupplier counter, long[] counted) {
        List<Crew> crews = new ArrayList<>();
        try {
            for (DataRows.Worker w : workers) {
                crews.add(new Crew(w, o.threads()));
            }
            long windowNs = o.windowMs() * 1_000_000L;
            for (int s = 0; s < crews.size(); s++) {
                warm(crews.get(s), windowNs, o.maxWarmMs() * 1_000_000L, counter, counted, s);
            }
            long[] units = new long[crews.size()];
            long[] elapsedNs = new long[crews.size()];
            long rounds = Math.max(1, windowNs / TURN_NS);
            for (int r = 0; r < rounds; r++) {
                for (int q = 0; q < crews.size(); q++) {
                    int s = (q + r) % crews.size();
                    long before = counter.getAsLong();
                    long[] done = crews.get(s).turn(TURN_NS);
                    counted[s] += counter.getAsLong() - before;
                    if (LOG) {
                        System.err.printf("turn side %d: %d units in %d ns, ended at nanoTime %d%n", s, done[0], done[1],
                                System.nanoTime());
                    }
                    units[s] += done[0];
                    elapsedNs[s] += done[1];
                }
            }
            double[] perSecond = new double[crews.size()];
            for (int s = 0; s < perSecond.length; s++) {
                perSecond[s] = units[s] / (elapsedNs[s] / 1e9);
            }
            return perSecond;
        } finally {
            crews.forEach(Crew::close);
        }
    }

    private static void warm(Crew crew, long windowNs, long maxWarmNs, LongSupplier counter, long[] counted, int side) {
        long start = System.nanoTime();
        double best = 0;
        int flat = 0;
        while (true) {
            long before = counter.getAsLong();
            long[] done = crew.turn(TURN_NS);
            counted[side] += counter.getAsLong() - before;
            double rate = done[0] / (done[1] / 1e9);
            flat = rate > best * 1.05 ? 0 : flat + 1;
            best = Math.max(best, rate);
            long warmedNs = System.nanoTime() - start;
            if ((warmedNs >= windowNs && flat >= 2) || warmedNs >= maxWarmNs) {
                return;
            }
        }
    }

    /** One turn for a crew: its workers run until {@code endNs}, add their units and count down. */
    private record Turn(long endNs, AtomicLong units, CountDownLatch stopped) {}

    private static final Turn CLOSE = new Turn(0, null, null);

    /** One side's worker threads, each waiting in its inbox for the next turn. */
    private static final class Crew implements AutoCloseable {
        private final List<BlockingQueue<Turn>> inboxes = new ArrayList<>();
        private final List<Future<?>> running = new ArrayList<>();
        private final ExecutorService threads;

        Crew(DataRows.Worker worker, int n) {
            threads = Executors.newFixedThreadPool(n);
            for (int t = 0; t < n; t++) {
                BlockingQueue<Turn> inbox = new ArrayBlockingQueue<>(1);
                inboxes.add(inbox);
                int thread = t;
                running.add(threads.submit(() -> {
                    work(worker, thread, inbox);
                    return null;
                }));
            }
        }

        private static void work(DataRows.Worker worker, int thread, BlockingQueue<Turn> inbox) throws Exception {
            List<AutoCloseable> opened = new ArrayList<>();
            try {
                DataRows.Step step = worker.open(thread, opened);
                long i = 0;
                for (Turn turn = inbox.take(); turn != CLOSE; turn = inbox.take()) {
                    try {
                        long units = 0;
                        while (System.nanoTime() < turn.endNs()) {
                            units += step.run(i++);
                        }
                        step.endTurn(); // what the steps left in flight is finished in this turn's time
                        turn.units().addAndGet(units);
                    } finally {
                        turn.stopped().countDown();
                    }
                }
            } finally {
                for (AutoCloseable c : opened.reversed()) {
                    c.close();
                }
            }
        }

        /** Runs one turn of {@code durationNs}: {units, elapsed ns until the last worker stopped}. */
        long[] turn(long durationNs) {
            long start = System.nanoTime();
            Turn turn = new Turn(start + durationNs, new AtomicLong(), new CountDownLatch(inboxes.size()));
            for (BlockingQueue<Turn> inbox : inboxes) {
                if (!inbox.offer(turn)) {
                    throw new IllegalStateException("a bench worker missed its turn");
                }
            }
            try {
                while (!turn.stopped().await(100, TimeUnit.MILLISECONDS)) {
                    checkFailures();
                    if (System.nanoTime() - turn.endNs() > STALL_NS) {
                        throw new IllegalStateException("bench workload stalled: a step ran over "
                                + TimeUnit.NANOSECONDS.toSeconds(STALL_NS) + " s past its turn");
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
            checkFailures();
            return new long[] {turn.units().get(), System.nanoTime() - start};
        }

        /** A worker that ended (it can only have failed) fails the measurement with its cause. */
        private void checkFailures() {
            for (Future<?> f : running) {
                if (f.isDone()) {
                    try {
                        f.get();
                        throw new IllegalStateException("a bench worker ended early");
                    } catch (ExecutionException e) {
                        throw new IllegalStateException("bench workload failed: " + e.getCause(), e.getCause());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted", e);
                    }
                }
            }
        }

        @Override
        public void close() {
            for (BlockingQueue<Turn> inbox : inboxes) {
                inbox.offer(CLOSE); // a failed worker's inbox may hold its last turn: it is gone anyway
            }
            threads.shutdown();
            try {
                if (!threads.awaitTermination(30, TimeUnit.SECONDS)) {
                    threads.shutdownNow(); // a stalled step: do not wait on it forever
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                threads.shutdownNow();
            }
        }
    }
}
