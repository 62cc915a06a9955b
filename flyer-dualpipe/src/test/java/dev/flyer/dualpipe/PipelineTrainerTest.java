package dev.flyer.dualpipe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.core.trace.TraceRecorder;
import dev.flyer.dist.ProcessGroup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** DualPipe and DualPipeV training for real (ranks as threads) against the sequential reference. */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class PipelineTrainerTest {
    static List<TrainingJob.RankResult> runJob(TrainingJob.Config c, boolean inference) throws Exception {
        ProcessGroup.Options o = ProcessGroup.Options.defaults().withTimeout(Duration.ofSeconds(60))
                .withTransport(ProcessGroup.Transport.SHM);
        List<ProcessGroup> groups = ProcessGroup.inProcess(c.ranks(), o);
        try (ExecutorService pool = Executors.newFixedThreadPool(c.ranks())) {
            List<Future<TrainingJob.RankResult>> futures = new ArrayList<>();
            for (ProcessGroup g : groups) {
                futures.add(pool.submit(() -> {
                    try (g) {
                        return TrainingJob.runRank(g, c, inference, TraceRecorder.disabled());
                    }
                }));
            }
            List<TrainingJob.RankResult> out = new ArrayList<>();
            for (Future<TrainingJob.RankResult> f : futures) {
                out.add(f.get(240, TimeUnit.SECONDS));
            }
            return out;
        }
    }

    static void checkAgainstReference(TrainingJob.Config c) throws Exception {
        TrainingJob.Reference ref = TrainingJob.reference(c, false);
        List<TrainingJob.RankResult> results = runJob(c, false);
        for (TrainingJob.RankResult r : results) {
            for (int k = 0; k < r.losses().size(); k++) {
                int chunk = TrainingJob.referenceChunk(c, r.rank(), k);
                assertThat(Float.floatToIntBits(r.losses().get(k))).as("%s rank %d loss %d = chunk %d", c, r.rank(), k, chunk)
                        .isEqualTo(Float.floatToIntBits(ref.losses()[chunk]));
            }
        }
        TrainReport report = TrainReport.of(c, results);
        assertThat(report.losses()).as("every chunk's loss came back").isEqualTo(c.chunks());
        assertThat(report.lossesBitEqual()).isTrue();
        assertThat(report.maxGradDiff()).as("%s gradients, copies summed", c).isLessThan(1e-13);
    }

    @Test
    void dualPipeLossesBitEqualAndGradientsMatchFor2And4Ranks() throws Exception {
        checkAgainstReference(new TrainingJob.Config(Method.DUALPIPE, 2, 4, 16, 6, 233));
        checkAgainstReference(new TrainingJob.Config(Method.DUALPIPE, 4, 10, 16, 6, 234));
    }

    @Test
    void dualPipeEightRanks() throws Exception {
        checkAgainstReference(new TrainingJob.Config(Method.DUALPIPE, 8, 16, 8, 4, 235));
    }

    @Test
    void dualPipeVIncludingOddRankCounts() throws Exception {
        for (int ranks : new int[] {1, 2, 3, 5}) {
            checkAgainstReference(new TrainingJob.Config(Method.DUALPIPEV, ranks, 2 * ranks + 1, 16, 6, 300 + ranks));
        }
    }

    @Test
    void inferenceOnlyOutputsAreBitEqual() throws Exception {
        TrainingJob.Config c = new TrainingJob.Config(Method.DUALPIPE, 4, 8, 16, 6, 7);
        TrainingJob.Reference ref = TrainingJob.reference(c, true);
        int outputs = 0;
        for (TrainingJob.RankResult r : runJob(c, true)) {
            assertThat(r.losses()).isEmpty();
            for (int k = 0; k < r.outputs().size(); k++) {
                assertThat(r.outputs().get(k)).as("rank %d output %d", r.rank(), k)
                        .isEqualTo(ref.outputs().get(TrainingJob.referenceChunk(c, r.rank(), k)));
                outputs++;
            }
        }
        assertThat(outputs).isEqualTo(c.chunks());
    }

    @Test
    void badConfigurationsFailBeforeAnythingRuns() {
        assertThatThrownBy(() -> new TrainingJob.Config(Method.DUALPIPE, 3, 6, 16, 4, 1))
                .hasMessageContaining("even number of ranks");
        assertThatThrownBy(() -> new TrainingJob.Config(Method.DUALPIPE, 4, 4, 16, 4, 1))
                .hasMessageContaining("chunks >= 2 x ranks");
        assertThatThrownBy(() -> new TrainingJob.Config(Method.ONE_F_ONE_B, 4, 8, 16, 4, 1))
                .hasMessageContaining("dualpipe or dualpipev");
        assertThatThrownBy(() -> new TrainingJob.Config(Method.DUALPIPEV, 2, 4, 0, 4, 1)).hasMessageContaining(">= 1");
    }
}
