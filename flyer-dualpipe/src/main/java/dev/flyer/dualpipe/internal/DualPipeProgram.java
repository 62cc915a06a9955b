package dev.flyer.dualpipe.internal;

/**
 * The eight-step program of DualPipe and DualPipeV for one rank, driving {@link PipelineSteps}.
 *
 * <p>Implementation notes: follows {@code DualPipe.step} in deepseek-ai/DualPipe
 * {@code dualpipe/dualpipe.py} and {@code DualPipeV.step} in {@code dualpipe/dualpipev.py}. Both
 * are the same program over {@code (n, c, r, special)}: for DualPipe {@code n} is half the ranks,
 * {@code c} half the chunks, {@code r = min(rank, ranks - 1 - rank)} and {@code special} the two
 * middle ranks; for DualPipeV {@code n} is the ranks, {@code c} the chunks, {@code r} the rank and
 * {@code special} the last rank. They differ only in step 2's sends, as in the originals.
 * <pre>
 * 1 nF0         (n - r - 1) * 2   forwards of phase 0
 * 2 nF0F1       r + 1             pairs of forwards
 * 3 nB1W1F1     n - r - 1         zero-bubble backward, weight, forward
 * 4 nF0B1F1B0   c - 2n + r + 1    overlapped forward-backward pairs (main step)
 * 5 nB1F1B0     n - r - 1
 * 6 nB1B0       r + 1             the second half with zero bubble
 * 7 nWB0        n - r - 1
 * 8 nW          r + 1
 * </pre>
 */
public final class DualPipeProgram {
    private DualPipeProgram() {}

    /** DualPipe on {@code rank} of {@code ranks} (even) with {@code chunks} (even, >= 2 ranks). */
    public static void dualPipe(int rank, int ranks, int chunks, PipelineSteps s) {
        int half = ranks / 2;
        boolean middle = rank == half - 1 || rank == half;
        run(false, Math.min(rank, ranks - 1 - rank), half, chunks / 2, middle, s);
    }

    /** DualPipeV on {@code rank} of {@code ranks} with {@code chunks} (>= 2 ranks). */
    public static void dualPipeV(int rank, int ranks, int chunks, PipelineSteps s) {
        run(true, rank, ranks, chunks, rank == ranks - 1, s);
    }

    private static void run(boolean v, int r, int n, int c, boolean special, PipelineSteps s) {
        // Step 1: nF0
        for (int i = 0; i < (n - r - 1) * 2; i++) {
            s.forwardChunk(0, true, true);
        }
        // Step 2: nF0F1
        int step2 = r + 1;
        s.recvForward(0);
        for (int i = 0; i < step2; i++) {
            s.forwardChunk(0, false, !v && special);
            s.recvForward(0);
            s.forwardChunk(1, true, !special || i < step2 - 1);
            if (v || !special) {
                s.sendForward(0);
            }
        }
        // Step 3: nB1W1F1 (zero bubble)
        for (int i = 0; i < n - r - 1; i++) {
            s.backwardChunk(1, true, true, true);
            s.recvForward(1);
            s.weightChunk();
            s.forwardChunk(1, false, true);
        }
        // Step 4 (main step): nF0B1F1B0
        int step4 = c - 2 * n + r + 1;
        for (int i = 0; i < step4; i++) {
            if (i == 0) {
                if (special) {
                    // not overlapped, to shorten the bubble (as in the original)
                    s.forwardChunk(0, false, false);
                    s.sendForward(1);
                    s.backwardChunk(1, false, true, false);
                    s.sendForward(0);
                    s.sendBackward(1);
                } else {
                    s.forwardBackwardChunk(0, 1, false);
                }
            } else {
                s.forwardBackwardChunk(0, 1, true);
            }
            s.forwardBackwardChunk(1, 0, true);
        }
        // Step 5: nB1F1B0
        for (int i = 0; i < n - r - 1; i++) {
            s.backwardChunk(1, false, true, true);
            s.forwardBackwardChunk(1, 0, true);
        }
        // Step 6: nB1B0 (the second half of the chunks use zero bubble)
        int step6 = r + 1;
        boolean zeroBubble = false;
        for (int i = 0; i < step6; i++) {
            if (i == step6 / 2 && r % 2 == 1) {
                zeroBubble = true;
            }
            s.backwardChunk(1, zeroBubble, true, true);
            if (i == step6 / 2 && r % 2 == 0) {
                zeroBubble = true;
            }
            s.backwardChunk(0, zeroBubble, true, true);
        }
        // Step 7: nWB0 (zero bubble)
        for (int i = 0; i < n - r - 1; i++) {
            s.weightChunk();
            s.backwardChunk(0, true, true, true);
        }
        // Step 8: nW
        for (int i = 0; i < r + 1; i++) {
            s.weightChunk();
        }
    }
}
