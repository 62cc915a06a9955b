package dev.flyer.dualpipe;

import dev.flyer.dualpipe.internal.BaselinePrograms;
import dev.flyer.dualpipe.internal.DualPipeProgram;
import dev.flyer.dualpipe.internal.PipelineSteps;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds {@link Schedule}s by running each rank's program and recording its compute operations.
 *
 * <p>Contract: DualPipe needs an even number of ranks and an even number of chunks that is at
 * least twice the ranks; DualPipeV needs at least twice the ranks in chunks (any rank count);
 * 1F1B and ZB1P need at least one chunk. Violations are {@link IllegalArgumentException}s that say
 * what was asked and what is allowed, raised before anything runs.
 */
public final class Schedules {
    private Schedules() {}

    public static Schedule build(Method method, int ranks, int chunks) {
        validate(method, ranks, chunks);
        List<List<Op>> ops = new ArrayList<>();
        for (int rank = 0; rank < ranks; rank++) {
            Recorder recorder = new Recorder();
            run(method, rank, ranks, chunks, recorder);
            ops.add(recorder.ops);
        }
        return new Schedule(method, ranks, chunks, ops);
    }

    /** Runs {@code rank}'s program of {@code method} against {@code steps}. */
    public static void run(Method method, int rank, int ranks, int chunks, PipelineSteps steps) {
        switch (method) {
            case DUALPIPE -> DualPipeProgram.dualPipe(rank, ranks, chunks, steps);
            case DUALPIPEV -> DualPipeProgram.dualPipeV(rank, ranks, chunks, steps);
            case ONE_F_ONE_B -> BaselinePrograms.oneFOneB(rank, ranks, chunks, steps);
            case ZB1P -> BaselinePrograms.zb1p(rank, ranks, chunks, steps);
        }
    }

    /** Checks the original's requirements on ranks and chunks. */
    public static void validate(Method method, int ranks, int chunks) {
        if (ranks < 1) {
            throw new IllegalArgumentException("ranks must be >= 1, got " + ranks);
        }
        if (chunks < 1) {
            throw new IllegalArgumentException("chunks must be >= 1, got " + chunks);
        }
        switch (method) {
            case DUALPIPE -> {
                if (ranks % 2 != 0) {
                    throw new IllegalArgumentException("DualPipe needs an even number of ranks, got " + ranks
                            + " (DualPipeV takes odd counts)");
                }
                if (chunks % 2 != 0 || chunks < 2 * ranks) {
                    throw new IllegalArgumentException("DualPipe needs an even number of chunks >= 2 x ranks = "
                            + 2 * ranks + ", got " + chunks);
                }
            }
            case DUALPIPEV -> {
                if (chunks < 2 * ranks) {
                    throw new IllegalArgumentException("DualPipeV needs chunks >= 2 x ranks = " + 2 * ranks
                            + ", got " + chunks);
                }
            }
            default -> { }
        }
    }

    /** Records compute operations; communication steps are not operations. */
    private static final class Recorder implements PipelineSteps {
        final List<Op> ops = new ArrayList<>();

        @Override
        public void forwardChunk(int phase, boolean recv, boolean send) {
            ops.add(Op.forward(phase));
        }

        @Override
        public void backwardChunk(int phase, boolean zeroBubble, boolean recv, boolean send) {
            ops.add(Op.backward(phase, zeroBubble));
        }

        @Override
        public void forwardBackwardChunk(int forwardPhase, int backwardPhase, boolean recvForward) {
            ops.add(Op.forwardBackward(forwardPhase, backwardPhase));
        }

        @Override
        public void weightChunk() {
            ops.add(Op.weight());
        }

        @Override
        public void recvForward(int phase) { }

        @Override
        public void sendForward(int phase) { }

        @Override
        public void sendBackward(int phase) { }
    }
}
