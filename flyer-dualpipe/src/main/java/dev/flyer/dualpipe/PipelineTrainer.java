package dev.flyer.dualpipe;

import dev.flyer.core.trace.TraceRecorder;
import dev.flyer.dist.ProcessGroup;
import dev.flyer.dist.Work;
import dev.flyer.dualpipe.internal.PipelineSteps;
import dev.flyer.dualpipe.internal.WeightGradStore;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one rank of a DualPipe or DualPipeV training (or inference) step for real: the rank's two
 * {@link MlpStage}s, micro-batches exchanged with its neighbours over a {@link ProcessGroup}.
 *
 * <p>Contract: construct with this rank's two stages ({@code stages[0]} for phase 0,
 * {@code stages[1]} for phase 1: for DualPipe stage {@code r} and stage {@code P-1-r} of the full
 * model, for DualPipeV stages {@code r} and {@code 2P-1-r}); call {@link #step} on every rank.
 * The first rank feeds phase 0's inputs; for DualPipe the last rank feeds phase 1's. Losses come
 * back where the labels are (DualPipe: rank 0 for the inputs fed on the last rank and vice
 * versa). Weight gradients accumulate in the stages.
 *
 * <p>Implementation notes: follows the state machine of deepseek-ai/DualPipe {@code dualpipe.py}
 * and {@code dualpipev.py} ({@code _forward_chunk}, {@code _backward_chunk}, {@code _commit_and_wait_comm}
 * ...), driven by the same {@link dev.flyer.dualpipe.internal.DualPipeProgram} the schedules are
 * recorded from. Phases map to directions by {@code phase ^ isInSecondHalf} (DualPipe). Receives
 * and sends are posted at once on the group's communication threads and awaited at the next
 * commit, so transfers overlap compute; an output is dropped once its send completed. Compute is
 * traced on lane 1 ({@code F0}, {@code B1z}, ...), waits for communication on lane 2.
 */
public final class PipelineTrainer implements PipelineSteps {
    private static final int COMPUTE_LANE = 1;
    private static final int COMM_LANE = 2;

    private final ProcessGroup group;
    private final Method method;
    private final MlpStage[] stages;
    private final int rows;
    private final TraceRecorder trace;
    private final boolean first;
    private final boolean last;
    private final boolean secondHalf;
    private final WeightGradStore store = new WeightGradStore();

    private boolean forwardOnly;
    private boolean returnOutputs;
    private List<List<float[]>> inputs;
    private List<List<MlpStage.Activations>> activations;
    private List<List<float[]>> outputs;
    private List<List<float[]>> inputGrads;
    private List<List<float[]>> outputGrads;
    private List<List<float[]>> labels;
    private List<Float> losses;
    private List<float[]> lossGrads;
    private int[] nextForward;
    private int[] nextBackward;
    private int[] nextSendForward;
    private int[] nextSendBackward;
    private final List<Work> pending = new ArrayList<>();
    private final List<int[]> toFree = new ArrayList<>();
    private long computeNs;
    private final long[] opNs = new long[4];
    private final int[] opCount = new int[4];

    /** Indices of {@link StepResult#meanOpNs()}. */
    public static final int OP_F = 0;
    public static final int OP_B = 1;
    public static final int OP_BZ = 2;
    public static final int OP_W = 3;

    /**
     * What one step returned on this rank.
     *
     * @param meanOpNs mean duration of forward, full backward, inputs-only backward and weight ops
     *     (NaN for kinds this rank did not run)
     */
    public record StepResult(List<Float> losses, List<float[]> outputs, long stepNs, long computeNs, double[] meanOpNs) {}

    public PipelineTrainer(ProcessGroup group, Method method, MlpStage[] stages, int rowsPerChunk, TraceRecorder trace) {
        if (method != Method.DUALPIPE && method != Method.DUALPIPEV) {
            throw new IllegalArgumentException("the trainer runs dualpipe or dualpipev, not " + method.cliName());
        }
        if (stages.length != 2 || stages[0].hidden() != stages[1].hidden()) {
            throw new IllegalArgumentException("a rank holds two stages of equal width, got " + stages.length);
        }
        this.group = group;
        this.method = method;
        this.stages = stages;
        this.rows = rowsPerChunk;
        this.trace = trace;
        this.first = group.rank() == 0;
        this.last = group.rank() == group.size() - 1;
        this.secondHalf = method == Method.DUALPIPE && group.rank() >= group.size() / 2;
        trace.threadName(COMPUTE_LANE, "compute");
        trace.threadName(COMM_LANE, "comm wait");
    }

    /**
     * One step over {@code chunks} micro-batches. {@code phase0Inputs}: the chunks this rank feeds
     * into phase 0 (first rank) or phase 1 (DualPipe's last rank), else empty; {@code labels}: the
     * labels of the chunks whose loss this rank computes, else empty.
     */
    public StepResult step(int chunks, List<float[]> feed, List<float[]> labelChunks, boolean inferenceOnly,
                           boolean keepOutputs) {
        Schedules.validate(method, group.size(), chunks);
        reset(inferenceOnly, keepOutputs);
        if (first) {
            inputs.get(0).addAll(feed);
            labels.get(1).addAll(labelChunks);
        } else if (last && method == Method.DUALPIPE) {
            inputs.get(1).addAll(feed);
            labels.get(0).addAll(labelChunks);
        }
        long t0 = System.nanoTime();
        Schedules.run(method, group.rank(), group.size(), chunks, this);
        commitAndWait();
        if (!store.isEmpty()) {
            throw new IllegalStateException("deferred weight gradients left after the step (schedule bug)");
        }
        long stepNs = System.nanoTime() - t0;
        List<float[]> outs = keepOutputs && (first || last) ? List.copyOf(outputs.get(first ? 1 : 0)) : List.of();
        double[] mean = new double[4];
        for (int k = 0; k < 4; k++) {
            mean[k] = opCount[k] == 0 ? Double.NaN : (double) opNs[k] / opCount[k];
        }
        return new StepResult(List.copyOf(losses), outs, stepNs, computeNs, mean);
    }

    private void reset(boolean inferenceOnly, boolean keepOutputs) {
        forwardOnly = inferenceOnly;
        returnOutputs = keepOutputs;
        inputs = twoLists();
        activations = twoLists();
        outputs = twoLists();
        inputGrads = twoLists();
        outputGrads = twoLists();
        labels = twoLists();
        losses = new ArrayList<>();
        lossGrads = new ArrayList<>();
        nextForward = new int[2];
        nextBackward = new int[2];
        nextSendForward = new int[2];
        nextSendBackward = new int[2];
        store.clear();
        computeNs = 0;
        java.util.Arrays.fill(opNs, 0);
        java.util.Arrays.fill(opCount, 0);
    }

    private static <T> List<List<T>> twoLists() {
        return List.of(new ArrayList<>(), new ArrayList<>());
    }

    // --- where a direction starts and ends on this rank -------------------------------------------

    private int direction(int phase) {
        return secondHalf ? phase ^ 1 : phase;
    }

    private boolean firstStage(int d) {
        return method == Method.DUALPIPE ? (first && d == 0) || (last && d == 1) : first && d == 0;
    }

    private boolean lastStage(int d) {
        return method == Method.DUALPIPE ? (first && d == 1) || (last && d == 0) : first && d == 1;
    }

    private boolean vTurn(int d, int turnPhase) {
        return method == Method.DUALPIPEV && last && d == turnPhase;
    }

    private int forwardPeer(int d) {
        return d == 0 ? group.rank() + 1 : group.rank() - 1;
    }

    private int backwardPeer(int d) {
        return d == 0 ? group.rank() - 1 : group.rank() + 1;
    }

    // --- compute ----------------------------------------------------------------------------------

    private void forwardCompute(int phase) {
        int d = direction(phase);
        long t0 = trace.now();
        long c0 = System.nanoTime();
        int chunk = nextForward[d]++;
        float[] x = inputs.get(d).get(chunk);
        if (forwardOnly) {
            inputs.get(d).set(chunk, null);
        }
        float[] y = new float[x.length];
        MlpStage.Activations a = stages[d].forward(x, rows, y);
        activations.get(d).add(forwardOnly ? null : a);
        if (lastStage(d) && !labels.get(d).isEmpty()) {
            float[] grad = new float[y.length];
            losses.add(MlpStage.mseLoss(y, labels.get(d).get(chunk), grad));
            lossGrads.add(grad);
        }
        if (vTurn(d, 0)) {
            inputs.get(1).add(y);
        }
        outputs.get(d).add(!lastStage(d) || returnOutputs ? y : null);
        account(OP_F, System.nanoTime() - c0);
        trace.complete("F" + phase, "compute", COMPUTE_LANE, t0, trace.now());
    }

    private void backwardCompute(int phase, boolean zeroBubble) {
        if (forwardOnly) {
            return;
        }
        int d = direction(phase);
        long t0 = trace.now();
        long c0 = System.nanoTime();
        int chunk = nextBackward[d]++;
        float[] dy;
        if (lastStage(d)) {
            dy = lossGrads.get(chunk);
            lossGrads.set(chunk, null);
        } else {
            dy = outputGrads.get(d).get(chunk);
            outputGrads.get(d).set(chunk, null);
            if (!returnOutputs) {
                outputs.get(d).set(chunk, null);
            }
        }
        store.setEnabled(zeroBubble);
        float[] dx = stages[d].backward(activations.get(d).get(chunk), dy, !firstStage(d), store);
        store.setEnabled(false);
        if (zeroBubble) {
            store.flush();
        }
        activations.get(d).set(chunk, null);
        inputs.get(d).set(chunk, null);
        if (vTurn(d, 1)) {
            outputGrads.get(0).add(dx);
        } else {
            inputGrads.get(d).add(dx);
        }
        account(zeroBubble ? OP_BZ : OP_B, System.nanoTime() - c0);
        trace.complete("B" + phase + (zeroBubble ? "z" : ""), "compute", COMPUTE_LANE, t0, trace.now());
    }

    private void account(int kind, long ns) {
        computeNs += ns;
        opNs[kind] += ns;
        opCount[kind]++;
    }

    // --- communication ----------------------------------------------------------------------------

    @Override
    public void recvForward(int phase) {
        int d = direction(phase);
        if (firstStage(d) || vTurn(d, 1)) {
            return;
        }
        float[] buffer = new float[rows * stages[d].hidden()];
        pending.add(group.irecv(MemorySegment.ofArray(buffer), d == 0 ? group.rank() - 1 : group.rank() + 1));
        inputs.get(d).add(buffer);
    }

    @Override
    public void sendForward(int phase) {
        int d = direction(phase);
        if (lastStage(d) || vTurn(d, 0)) {
            return;
        }
        int chunk = nextSendForward[d]++;
        pending.add(group.isend(MemorySegment.ofArray(outputs.get(d).get(chunk)), forwardPeer(d)));
        if (!returnOutputs) {
            toFree.add(new int[] {d, chunk});
        }
    }

    private void recvBackward(int phase) {
        if (forwardOnly) {
            return;
        }
        int d = direction(phase);
        if (lastStage(d) || vTurn(d, 0)) {
            return;
        }
        float[] buffer = new float[rows * stages[d].hidden()];
        pending.add(group.irecv(MemorySegment.ofArray(buffer), d == 0 ? group.rank() + 1 : group.rank() - 1));
        outputGrads.get(d).add(buffer);
    }

    @Override
    public void sendBackward(int phase) {
        if (forwardOnly) {
            return;
        }
        int d = direction(phase);
        if (firstStage(d) || vTurn(d, 1)) {
            return;
        }
        int chunk = nextSendBackward[d]++;
        float[] grad = inputGrads.get(d).get(chunk);
        inputGrads.get(d).set(chunk, null);
        pending.add(group.isend(MemorySegment.ofArray(grad), backwardPeer(d)));
    }

    private void commitAndWait() {
        if (pending.isEmpty()) {
            return;
        }
        long t0 = trace.now();
        for (Work w : pending) {
            w.await();
        }
        pending.clear();
        for (int[] f : toFree) {
            outputs.get(f[0]).set(f[1], null);
        }
        toFree.clear();
        trace.complete("recv wait", "comm", COMM_LANE, t0, trace.now());
    }

    // --- the composite steps the program calls ----------------------------------------------------

    @Override
    public void forwardChunk(int phase, boolean recv, boolean send) {
        if (recv) {
            recvForward(phase);
        }
        commitAndWait();
        forwardCompute(phase);
        if (send) {
            sendForward(phase);
        }
    }

    @Override
    public void backwardChunk(int phase, boolean zeroBubble, boolean recv, boolean send) {
        if (recv) {
            recvBackward(phase);
        }
        commitAndWait();
        backwardCompute(phase, zeroBubble);
        if (send) {
            sendBackward(phase);
        }
    }

    @Override
    public void forwardBackwardChunk(int forwardPhase, int backwardPhase, boolean recvForward) {
        if (recvForward) {
            recvForward(forwardPhase);
        }
        recvBackward(backwardPhase);
        commitAndWait();
        forwardCompute(forwardPhase);
        backwardCompute(backwardPhase, false);
        sendForward(forwardPhase);
        sendBackward(backwardPhase);
    }

    @Override
    public void weightChunk() {
        if (forwardOnly) {
            return;
        }
        commitAndWait();
        long t0 = trace.now();
        long c0 = System.nanoTime();
        store.pop();
        account(OP_W, System.nanoTime() - c0);
        trace.complete("W", "compute", COMPUTE_LANE, t0, trace.now());
    }
}
