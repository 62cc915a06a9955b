package dev.flyer.dualpipe;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Checks a training run against the sequential reference and compares its measured bubble with
 * the simulator's, given the op durations the run measured.
 *
 * @param lossesBitEqual every loss equals the reference's bit for bit
 * @param losses how many losses came back
 * @param maxGradDiff the largest {@link TrainingJob#cosineDiff} over all stage gradients
 * @param stepMs per rank, the wall time of the step
 * @param measuredBubbleMs per rank, step time minus compute time (waiting for data or peers)
 * @param simulatedBubbleMs per rank, the simulator's bubble with the measured mean op durations
 * @param costs the mean op durations in milliseconds (F, B, W, F&amp;B = F + B)
 */
public record TrainReport(boolean lossesBitEqual, int losses, double maxGradDiff, double[] stepMs,
                          double[] measuredBubbleMs, double[] simulatedBubbleMs, Costs costs) {
    public static TrainReport of(TrainingJob.Config c, List<TrainingJob.RankResult> results) {
        TrainingJob.Reference ref = TrainingJob.reference(c, false);
        boolean equal = true;
        int count = 0;
        double[] step = new double[c.ranks()];
        double[] measured = new double[c.ranks()];
        double[] sums = new double[4];
        int[] counts = new int[4];
        for (TrainingJob.RankResult r : results) {
            for (int k = 0; k < r.losses().size(); k++) {
                equal &= Float.floatToIntBits(r.losses().get(k))
                        == Float.floatToIntBits(ref.losses()[TrainingJob.referenceChunk(c, r.rank(), k)]);
                count++;
            }
            step[r.rank()] = r.stepNs() / 1e6;
            measured[r.rank()] = (r.stepNs() - r.computeNs()) / 1e6;
            for (int k = 0; k < 4; k++) {
                if (!Double.isNaN(r.meanOpNs()[k])) {
                    sums[k] += r.meanOpNs()[k];
                    counts[k]++;
                }
            }
        }
        double f = mean(sums, counts, PipelineTrainer.OP_F);
        double w = mean(sums, counts, PipelineTrainer.OP_W);
        double bz = mean(sums, counts, PipelineTrainer.OP_BZ);
        double b = counts[PipelineTrainer.OP_B] > 0 ? mean(sums, counts, PipelineTrainer.OP_B) : bz + w;
        b = Math.max(b, (Double.isNaN(bz) ? 0 : bz) + (Double.isNaN(w) ? 0 : w));
        Costs costs = new Costs(f / 1e6, b / 1e6, Double.isNaN(w) ? 0 : Math.min(w, b) / 1e6, (f + b) / 1e6, 0);
        Simulation sim = Simulator.run(Schedules.build(c.method(), c.ranks(), c.chunks()), costs);
        return new TrainReport(equal && count == c.chunks(), count, maxGradDiff(c, ref, results), step, measured,
                sim.bubble(), costs);
    }

    private static double mean(double[] sums, int[] counts, int k) {
        return counts[k] == 0 ? Double.NaN : sums[k] / counts[k];
    }

    private static double maxGradDiff(TrainingJob.Config c, TrainingJob.Reference ref, List<TrainingJob.RankResult> results) {
        double max = 0;
        for (int stage = 0; stage < c.stages(); stage++) {
            for (int w = 0; w < 2; w++) {
                float[] sum = new float[ref.grads()[stage][w].length];
                for (TrainingJob.RankResult r : results) {
                    for (int local = 0; local < 2; local++) {
                        if (heldStage(c, r.rank(), local) == stage) {
                            float[] g = r.grads()[2 * local + w];
                            for (int i = 0; i < sum.length; i++) {
                                sum[i] += g[i];
                            }
                        }
                    }
                }
                max = Math.max(max, TrainingJob.cosineDiff(sum, ref.grads()[stage][w]));
            }
        }
        return max;
    }

    /** The full-model stage a rank's local stage {@code local} (0 or 1) is. */
    public static int heldStage(TrainingJob.Config c, int rank, int local) {
        if (local == 0) {
            return rank;
        }
        return c.method() == Method.DUALPIPE ? c.ranks() - 1 - rank : 2 * c.ranks() - 1 - rank;
    }

    public void print(TrainingJob.Config c, PrintStream out) {
        out.printf(Locale.ROOT, "%s on %d ranks, %d chunks of %d x %d, %d stages%n", c.method().cliName(), c.ranks(),
                c.chunks(), c.rowsPerChunk(), c.hidden(), c.stages());
        out.printf(Locale.ROOT, "losses: %d of %d bit-equal to the sequential reference: %s%n", losses, c.chunks(),
                lossesBitEqual ? "yes" : "NO");
        out.printf(Locale.ROOT, "gradients: max 1 - 2xy/(x^2+y^2) = %.3g (limit 1e-13): %s%n", maxGradDiff,
                maxGradDiff < 1e-13 ? "ok" : "TOO LARGE");
        out.printf(Locale.ROOT, "mean op ms: F %.3f, B %.3f, W %.3f%n", costs.forward(), costs.backward(), costs.weight());
        out.printf(Locale.ROOT, "%-5s %10s %20s %21s%n", "rank", "step ms", "bubble ms measured", "bubble ms simulated");
        for (int r = 0; r < stepMs.length; r++) {
            out.printf(Locale.ROOT, "%-5d %10.2f %20.2f %21.2f%n", r, stepMs[r], measuredBubbleMs[r], simulatedBubbleMs[r]);
        }
    }

    /** Serialises a rank's result for the all-gather to rank 0. */
    public static byte[] encode(TrainingJob.RankResult r) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeInt(r.rank());
            out.writeInt(r.losses().size());
            for (float l : r.losses()) {
                out.writeFloat(l);
            }
            out.writeInt(r.grads().length);
            for (float[] g : r.grads()) {
                out.writeInt(g.length);
                for (float v : g) {
                    out.writeFloat(v);
                }
            }
            out.writeLong(r.stepNs());
            out.writeLong(r.computeNs());
            for (double d : r.meanOpNs()) {
                out.writeDouble(d);
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static TrainingJob.RankResult decode(byte[] data) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            int rank = in.readInt();
            List<Float> losses = new ArrayList<>();
            for (int n = in.readInt(); n > 0; n--) {
                losses.add(in.readFloat());
            }
            float[][] grads = new float[in.readInt()][];
            for (int i = 0; i < grads.length; i++) {
                grads[i] = new float[in.readInt()];
                for (int k = 0; k < grads[i].length; k++) {
                    grads[i][k] = in.readFloat();
                }
            }
            long step = in.readLong();
            long compute = in.readLong();
            double[] ops = new double[4];
            for (int k = 0; k < 4; k++) {
                ops[k] = in.readDouble();
            }
            return new TrainingJob.RankResult(rank, losses, List.of(), grads, step, compute, ops);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
