package dev.flyer.dualpipe;

import dev.flyer.core.trace.TraceRecorder;
import dev.flyer.dist.ProcessGroup;
import dev.flyer.dualpipe.internal.WeightGradStore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The DualPipe example as a job: a model of MLP stages, random inputs and labels, one pipelined
 * step on every rank, and the sequential single-process reference it must agree with.
 *
 * <p>Contract: everything is derived from {@link Config#seed()}, so every rank builds the same
 * full model and data locally and keeps its part: DualPipe rank {@code r} holds stages {@code r}
 * and {@code P-1-r} (two copies of each stage exist, one per direction), DualPipeV rank {@code r}
 * holds stages {@code r} and {@code 2P-1-r}. DualPipe feeds the first half of the chunks at rank 0
 * and the second half at the last rank; DualPipeV feeds all at rank 0.
 *
 * <p>Implementation notes: mirrors deepseek-ai/DualPipe {@code examples/example_dualpipe.py} and
 * {@code example_dualpipev.py}: the reference runs each micro-batch through all stages in order
 * and backpropagates it at once; losses must be bit-equal and gradients (the two copies summed for
 * DualPipe) within {@link #cosineDiff} 1e-13.
 */
public final class TrainingJob {
    /** What to train. */
    public record Config(Method method, int ranks, int chunks, int hidden, int rowsPerChunk, long seed) {
        public Config {
            Schedules.validate(method, ranks, chunks);
            if (method != Method.DUALPIPE && method != Method.DUALPIPEV) {
                throw new IllegalArgumentException("the trainer runs dualpipe or dualpipev, not " + method.cliName());
            }
            if (hidden < 1 || rowsPerChunk < 1) {
                throw new IllegalArgumentException("hidden and rows per chunk must be >= 1, got " + hidden + " and "
                        + rowsPerChunk);
            }
        }

        public int stages() {
            return method.stages(ranks);
        }
    }

    /** One rank's outcome: its losses and outputs, its two stages' weight gradients, timings of the last step. */
    public record RankResult(int rank, List<Float> losses, List<float[]> outputs, float[][] grads, long stepNs,
                             long computeNs, double[] meanOpNs) {}

    /** The sequential reference: per chunk loss and output, per stage gradients {@code [dW1, dW2]}. */
    public record Reference(float[] losses, List<float[]> outputs, float[][][] grads) {}

    private TrainingJob() {}

    public static MlpStage[] fullModel(Config c) {
        MlpStage[] stages = new MlpStage[c.stages()];
        for (int i = 0; i < stages.length; i++) {
            stages[i] = MlpStage.random(c.hidden(), c.seed() * 1_000_003L + i);
        }
        return stages;
    }

    /** Rank {@code rank}'s two stages (fresh copies of the full model's). */
    public static MlpStage[] localStages(Config c, int rank) {
        int other = c.method() == Method.DUALPIPE ? c.ranks() - 1 - rank : 2 * c.ranks() - 1 - rank;
        return new MlpStage[] {MlpStage.random(c.hidden(), c.seed() * 1_000_003L + rank),
            MlpStage.random(c.hidden(), c.seed() * 1_000_003L + other)};
    }

    public static List<float[]> data(Config c, long salt) {
        SplittableRandom r = new SplittableRandom(c.seed() ^ salt);
        List<float[]> chunks = new ArrayList<>();
        for (int i = 0; i < c.chunks(); i++) {
            float[] v = new float[c.rowsPerChunk() * c.hidden()];
            for (int k = 0; k < v.length; k++) {
                v[k] = (float) (r.nextDouble() * 2 - 1);
            }
            chunks.add(v);
        }
        return chunks;
    }

    public static List<float[]> inputs(Config c) {
        return data(c, 0x1111);
    }

    public static List<float[]> labels(Config c) {
        return data(c, 0x2222);
    }

    /** The sequential single-process reference (training unless {@code inference}). */
    public static Reference reference(Config c, boolean inference) {
        MlpStage[] model = fullModel(c);
        List<float[]> xs = inputs(c);
        List<float[]> ls = labels(c);
        float[] losses = new float[c.chunks()];
        List<float[]> outputs = new ArrayList<>();
        WeightGradStore now = new WeightGradStore();
        for (int chunk = 0; chunk < c.chunks(); chunk++) {
            float[] x = xs.get(chunk);
            MlpStage.Activations[] acts = new MlpStage.Activations[model.length];
            for (int s = 0; s < model.length; s++) {
                float[] y = new float[x.length];
                acts[s] = model[s].forward(x, c.rowsPerChunk(), y);
                x = y;
            }
            outputs.add(x);
            if (!inference) {
                float[] grad = new float[x.length];
                losses[chunk] = MlpStage.mseLoss(x, ls.get(chunk), grad);
                for (int s = model.length - 1; s >= 0; s--) {
                    grad = model[s].backward(acts[s], grad, s > 0, now);
                }
            }
        }
        float[][][] grads = new float[model.length][][];
        for (int s = 0; s < model.length; s++) {
            grads[s] = new float[][] {model[s].weightGrad1(), model[s].weightGrad2()};
        }
        return new Reference(losses, outputs, grads);
    }

    /** Runs one step on this rank of {@code group}. */
    public static RankResult runRank(ProcessGroup group, Config c, boolean inference, TraceRecorder trace) {
        return runRank(group, c, inference, trace, 1);
    }

    /**
     * Runs {@code steps} identical steps (gradients zeroed between them, weights unchanged, so every
     * step equals the reference) and returns the last: later steps run JIT-compiled code.
     */
    public static RankResult runRank(ProcessGroup group, Config c, boolean inference, TraceRecorder trace, int steps) {
        int rank = group.rank();
        MlpStage[] stages = localStages(c, rank);
        PipelineTrainer trainer = new PipelineTrainer(group, c.method(), stages, c.rowsPerChunk(), trace);
        List<float[]> xs = inputs(c);
        List<float[]> ls = labels(c);
        int half = c.chunks() / 2;
        List<float[]> feed = List.of();
        List<float[]> labels = List.of();
        if (c.method() == Method.DUALPIPEV) {
            if (rank == 0) {
                feed = xs;
                labels = inference ? List.of() : ls;
            }
        } else if (rank == 0) {
            feed = xs.subList(0, half);
            labels = inference ? List.of() : ls.subList(half, c.chunks());
        } else if (rank == c.ranks() - 1) {
            feed = xs.subList(half, c.chunks());
            labels = inference ? List.of() : ls.subList(0, half);
        }
        PipelineTrainer.StepResult r = null;
        for (int s = 0; s < Math.max(1, steps); s++) {
            stages[0].zeroGrad();
            stages[1].zeroGrad();
            r = trainer.step(c.chunks(), feed, labels, inference, inference);
        }
        float[][] grads = {stages[0].weightGrad1(), stages[0].weightGrad2(), stages[1].weightGrad1(),
            stages[1].weightGrad2()};
        return new RankResult(rank, r.losses(), r.outputs(), grads, r.stepNs(), r.computeNs(), r.meanOpNs());
    }

    /** {@code 1 - 2 sum(xy) / sum(x^2 + y^2)} in double, the original's gradient check. */
    public static double cosineDiff(float[] x, float[] y) {
        double xy = 0;
        double sq = 0;
        for (int i = 0; i < x.length; i++) {
            xy += (double) x[i] * y[i];
            sq += (double) x[i] * x[i] + (double) y[i] * y[i];
        }
        return sq == 0 ? 0 : 1 - 2 * xy / sq;
    }

    /** The reference chunk index of this rank's {@code k}-th loss or output. */
    public static int referenceChunk(Config c, int rank, int k) {
        if (c.method() == Method.DUALPIPE && rank == c.ranks() - 1 && c.ranks() > 1) {
            return k;
        }
        return c.method() == Method.DUALPIPE ? c.chunks() / 2 + k : k;
    }

    /** Floats as little-endian bytes (to all-gather results). */
    public static byte[] pack(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }

    public static float[] unpack(byte[] bytes) {
        float[] v = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }
}
