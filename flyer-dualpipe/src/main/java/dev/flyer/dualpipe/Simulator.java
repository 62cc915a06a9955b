package dev.flyer.dualpipe;

import dev.flyer.dualpipe.internal.Topology;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Replays a {@link Schedule} with {@link Costs}: each rank runs its ops in order, each op starting
 * when the rank is free and its inputs have arrived.
 *
 * <p>Implementation notes: chunk ids come from per-(rank, phase) counters as in the original
 * program. A forward of stage {@code s} needs the forward of stage {@code s - 1} of the same chunk;
 * a backward needs the backward of stage {@code s + 1} (the last stage needs its own forward); a
 * dependency on another rank adds {@code p2pLatency}. {@code W} runs the rank's oldest deferred
 * weight gradient. The replay sweeps the ranks, advancing every rank whose next op is ready, until
 * all ops ran; a sweep without progress means the schedule deadlocks and is reported.
 */
public final class Simulator {
    private Simulator() {}

    public static Simulation run(Schedule schedule, Costs costs) {
        Topology topo = new Topology(schedule.method(), schedule.ranks());
        int ranks = schedule.ranks();
        int perPipe = topo.chunksPerPipeline(schedule.chunks());
        double[][][] forwardEnd = filled(topo.pipelines(), topo.stages(), perPipe);
        double[][][] backwardEnd = filled(topo.pipelines(), topo.stages(), perPipe);
        int[][] nextForward = new int[ranks][2];
        int[][] nextBackward = new int[ranks][2];
        int[] position = new int[ranks];
        double[] free = new double[ranks];
        double[] busy = new double[ranks];
        int[] live = new int[ranks];
        int[] peak = new int[ranks];
        int[] deferred = new int[ranks];
        List<List<Simulation.Timed>> timeline = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            timeline.add(new ArrayList<>());
        }
        int remaining = schedule.ops().stream().mapToInt(List::size).sum();
        while (remaining > 0) {
            boolean progress = false;
            for (int r = 0; r < ranks; r++) {
                while (position[r] < schedule.ops().get(r).size()) {
                    Op op = schedule.ops().get(r).get(position[r]);
                    double ready = readyTime(op, r, topo, costs, forwardEnd, backwardEnd, nextForward, nextBackward);
                    if (Double.isNaN(ready)) {
                        break;
                    }
                    if (op.kind() == Op.Kind.W && deferred[r] == 0) {
                        throw new IllegalStateException("rank " + r + " op " + position[r] + " is W with no deferred "
                                + "weight gradient");
                    }
                    double start = Math.max(free[r], ready);
                    double end = start + duration(op, costs);
                    record(op, r, end, topo, forwardEnd, backwardEnd, nextForward, nextBackward, live, peak, deferred);
                    timeline.get(r).add(new Simulation.Timed(op, start, end));
                    free[r] = end;
                    busy[r] += end - start;
                    position[r]++;
                    remaining--;
                    progress = true;
                }
            }
            if (!progress) {
                throw new IllegalStateException("schedule deadlocks: ranks wait at ops " + Arrays.toString(position));
            }
        }
        double makespan = Arrays.stream(free).max().orElse(0);
        double[] bubble = new double[ranks];
        for (int r = 0; r < ranks; r++) {
            bubble[r] = makespan - busy[r];
        }
        return new Simulation(schedule, costs, timeline, makespan, bubble, peak);
    }

    private static double readyTime(Op op, int rank, Topology topo, Costs costs, double[][][] forwardEnd,
                                    double[][][] backwardEnd, int[][] nextForward, int[][] nextBackward) {
        double ready = 0;
        if (op.kind() == Op.Kind.F || op.kind() == Op.Kind.FB) {
            ready = Math.max(ready, forwardInput(rank, op.phase(), nextForward[rank][op.phase()], topo, costs, forwardEnd));
        }
        if (op.kind() == Op.Kind.B || op.kind() == Op.Kind.FB) {
            int phase = op.kind() == Op.Kind.B ? op.phase() : op.backwardPhase();
            ready = Math.max(ready, backwardInput(rank, phase, nextBackward[rank][phase], topo, costs, forwardEnd, backwardEnd));
        }
        return ready;
    }

    /** When the input of {@code rank}'s next forward of {@code phase} is there, or NaN if not yet known. */
    private static double forwardInput(int rank, int phase, int chunk, Topology topo, Costs costs, double[][][] forwardEnd) {
        int pipe = topo.pipeline(rank, phase);
        int stage = topo.stage(rank, phase);
        checkChunk(chunk, forwardEnd[pipe][stage].length, rank, "forward", phase);
        if (stage == 0) {
            return 0;
        }
        double t = forwardEnd[pipe][stage - 1][chunk];
        return t + (topo.rankOf(pipe, stage - 1) == rank ? 0 : costs.p2pLatency());
    }

    private static double backwardInput(int rank, int phase, int chunk, Topology topo, Costs costs,
                                        double[][][] forwardEnd, double[][][] backwardEnd) {
        int pipe = topo.pipeline(rank, phase);
        int stage = topo.stage(rank, phase);
        checkChunk(chunk, backwardEnd[pipe][stage].length, rank, "backward", phase);
        if (stage == topo.stages() - 1) {
            return forwardEnd[pipe][stage][chunk];
        }
        double t = backwardEnd[pipe][stage + 1][chunk];
        return t + (topo.rankOf(pipe, stage + 1) == rank ? 0 : costs.p2pLatency());
    }

    private static void checkChunk(int chunk, int chunks, int rank, String what, int phase) {
        if (chunk >= chunks) {
            throw new IllegalStateException("rank " + rank + " runs more " + what + "s of phase " + phase + " than the "
                    + chunks + " chunks of its pipeline");
        }
    }

    private static void record(Op op, int rank, double end, Topology topo, double[][][] forwardEnd,
                               double[][][] backwardEnd, int[][] nextForward, int[][] nextBackward, int[] live,
                               int[] peak, int[] deferred) {
        if (op.kind() == Op.Kind.F || op.kind() == Op.Kind.FB) {
            int phase = op.phase();
            forwardEnd[topo.pipeline(rank, phase)][topo.stage(rank, phase)][nextForward[rank][phase]++] = end;
            live[rank]++;
            peak[rank] = Math.max(peak[rank], live[rank]);
        }
        if (op.kind() == Op.Kind.B || op.kind() == Op.Kind.FB) {
            int phase = op.kind() == Op.Kind.B ? op.phase() : op.backwardPhase();
            backwardEnd[topo.pipeline(rank, phase)][topo.stage(rank, phase)][nextBackward[rank][phase]++] = end;
            live[rank]--;
            if (op.zeroBubble()) {
                deferred[rank]++;
            }
        }
        if (op.kind() == Op.Kind.W) {
            deferred[rank]--;
        }
    }

    private static double duration(Op op, Costs c) {
        return switch (op.kind()) {
            case F -> c.forward();
            case B -> op.zeroBubble() ? c.backward() - c.weight() : c.backward();
            case W -> c.weight();
            case FB -> c.forwardBackward();
        };
    }

    private static double[][][] filled(int pipes, int stages, int chunks) {
        double[][][] out = new double[pipes][stages][chunks];
        for (double[][] p : out) {
            for (double[] s : p) {
                Arrays.fill(s, Double.NaN);
            }
        }
        return out;
    }
}
