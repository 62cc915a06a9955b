package dev.flyer.dualpipe.internal;

/**
 * The single-direction baselines DualPipe is compared with, as programs over
 * {@link PipelineSteps} (phase 0 only).
 *
 * <p>1F1B: {@code min(P - r - 1, M)} warm-up forwards, then one forward and one full backward per
 * micro-batch, then the remaining backwards. ZB1P (ZB-H1 of Qi et al., "Zero Bubble Pipeline
 * Parallelism", 2023): the same order with backwards of inputs only; rank {@code r} keeps up to
 * {@code r} weight-gradient groups deferred and runs one {@code W} after each backward beyond
 * that, flushing the rest at the end, so later stages fill their tail bubble with {@code W}s while
 * the activation memory stays that of 1F1B.
 */
public final class BaselinePrograms {
    private BaselinePrograms() {}

    public static void oneFOneB(int rank, int ranks, int chunks, PipelineSteps s) {
        run(rank, ranks, chunks, false, s);
    }

    public static void zb1p(int rank, int ranks, int chunks, PipelineSteps s) {
        run(rank, ranks, chunks, true, s);
    }

    private static void run(int rank, int ranks, int chunks, boolean zeroBubble, PipelineSteps s) {
        int warmup = Math.min(ranks - rank - 1, chunks);
        int pending = 0;
        for (int i = 0; i < warmup; i++) {
            s.forwardChunk(0, true, true);
        }
        for (int i = 0; i < chunks - warmup; i++) {
            s.forwardChunk(0, true, true);
            s.backwardChunk(0, zeroBubble, true, true);
            pending = zeroBubble ? deferOrRun(pending + 1, rank, s) : 0;
        }
        for (int i = 0; i < warmup; i++) {
            s.backwardChunk(0, zeroBubble, true, true);
            pending = zeroBubble ? deferOrRun(pending + 1, rank, s) : 0;
        }
        for (; pending > 0; pending--) {
            s.weightChunk();
        }
    }

    private static int deferOrRun(int pending, int allowed, PipelineSteps s) {
        if (pending > allowed) {
            s.weightChunk();
            return pending - 1;
        }
        return pending;
    }
}
