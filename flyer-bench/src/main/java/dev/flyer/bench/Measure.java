package dev.flyer.bench;

import dev.flyer.core.exec.ComputePool;

/**
 * A small timing harness for throughput figures that need a peer measured in the same run.
 *
 * <p>Implementation notes: runs the action until {@code warmupNs} has passed (so the JIT has
 * compiled it; split kernels first run many times on a small slice, see {@link #SMALL_WARMUP_CALLS}), then takes {@code samples} timed runs and reports the best, the usual choice for
 * bandwidth and peak figures (STREAM reports the best of 10) on a shared, noisy machine. JMH
 * benchmarks in {@code dev.flyer.bench.jmh} give distributions where those matter.
 */
public final class Measure {
    /** Work over elements {@code [from, from + count)}. */
    @FunctionalInterface
    public interface Chunk {
        void run(long from, long count);
    }

    /**
     * Calls on a small slice before timing: many short calls get a kernel compiled by C2 through
     * the ordinary invocation counters, where a few long calls would leave it in on-stack-replaced
     * or C1 code (Vector API code runs orders of magnitude slower there).
     */
    private static final int SMALL_WARMUP_CALLS = 3000;
    private static final long SMALL_WARMUP_ELEMENTS = 256;

    private Measure() {}

    /**
     * Best seconds for {@code workers} threads of the shared pool to each run their share of
     * {@code [0, n)} once (shares are multiples of 64 elements, the last takes the rest).
     */
    public static double bestSecondsSplit(int workers, long n, Chunk chunk, long warmupNs, int samples) {
        for (int i = 0; i < SMALL_WARMUP_CALLS; i++) {
            chunk.run(0, Math.min(n, SMALL_WARMUP_ELEMENTS));
        }
        long per = n / workers / 64 * 64;
        Runnable once = workers == 1 ? () -> chunk.run(0, n)
                : () -> ComputePool.shared().parallelFor(workers, (w, ignored) ->
                        chunk.run(w * per, w == workers - 1 ? n - w * per : per));
        return bestSeconds(once, warmupNs, samples);
    }

    /**
     * Best seconds per run of each action, measured in {@code rounds} alternating rounds (each a
     * warm-up and {@code samples} timed runs): a noisy neighbour, or a JIT compile still under way,
     * then hurts every action alike instead of whichever happened to run first. A {@code null}
     * action (a peer that is not installed) gets {@code NaN}.
     */
    public static double[] bestSecondsAlternating(int rounds, long warmupNs, int samples, Runnable... actions) {
        double[] best = new double[actions.length];
        java.util.Arrays.fill(best, Double.POSITIVE_INFINITY);
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < actions.length; i++) {
                if (actions[i] != null) {
                    best[i] = Math.min(best[i], bestSeconds(actions[i], warmupNs, samples));
                }
            }
        }
        for (int i = 0; i < actions.length; i++) {
            if (actions[i] == null) {
                best[i] = Double.NaN;
            }
        }
        return best;
    }

    /** Best seconds per run of {@code action} over {@code samples} runs after a warm-up. */
    public static double bestSeconds(Runnable action, long warmupNs, int samples) {
        long warmEnd = System.nanoTime() + warmupNs;
        do {
            action.run();
        } while (System.nanoTime() < warmEnd);
        long best = Long.MAX_VALUE;
        for (int i = 0; i < samples; i++) {
            long t0 = System.nanoTime();
            action.run();
            best = Math.min(best, System.nanoTime() - t0);
        }
        return best / 1e9;
    }
}
