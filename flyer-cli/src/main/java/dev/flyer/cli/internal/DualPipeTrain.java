package dev.flyer.cli.internal;

import dev.flyer.core.trace.TraceRecorder;
import dev.flyer.dist.DistEnv;
import dev.flyer.dist.Launcher;
import dev.flyer.dist.ProcessGroup;
import dev.flyer.dualpipe.Method;
import dev.flyer.dualpipe.TrainReport;
import dev.flyer.dualpipe.TrainingJob;
import dev.flyer.profile.OverlapAnalysis;
import dev.flyer.profile.OverlapReport;
import dev.flyer.profile.TraceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code flyer dualpipe train}: the DualPipe example trained for real, checked against the sequential reference. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train MLP stages with DualPipe/DualPipeV and check them against the reference.",
            "Ranks are processes through flyer launch (or threads with --in-process); prints losses vs the",
            "sequential reference, step time, and the bubble measured vs simulated."})
public final class DualPipeTrain implements Callable<Integer> {
    /** The job's settings, shared by train and its workers. */
    static final class JobOptions {
        @Option(names = "--method", defaultValue = "dualpipe", description = "dualpipe or dualpipev (default: ${DEFAULT-VALUE}).")
        String method;

        @Option(names = "--ranks", defaultValue = "4", description = "Pipeline ranks (default: ${DEFAULT-VALUE}).")
        int ranks;

        @Option(names = "--chunks", defaultValue = "0", description = "Micro-batches (default: 4 x ranks).")
        int chunks;

        @Option(names = "--hidden", defaultValue = "128", description = "Stage width (default: ${DEFAULT-VALUE}).")
        int hidden;

        @Option(names = "--rows", defaultValue = "32", description = "Rows per micro-batch (default: ${DEFAULT-VALUE}).")
        int rows;

        @Option(names = "--seed", defaultValue = "233", description = "Seed of model and data (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--steps", defaultValue = "3", description = "Identical steps; the last is reported (default: ${DEFAULT-VALUE}).")
        int steps;

        @Option(names = "--trace", paramLabel = "DIR", description = "Write each rank's Chrome trace to DIR/rank<r>.json.")
        Path traceDir;

        TrainingJob.Config config() {
            return new TrainingJob.Config(Method.fromCliName(method), ranks, chunks == 0 ? 4 * ranks : chunks, hidden,
                    rows, seed);
        }

        List<String> args() {
            List<String> a = new ArrayList<>(List.of("--method", method, "--ranks", Integer.toString(ranks), "--chunks",
                    Integer.toString(chunks), "--hidden", Integer.toString(hidden), "--rows", Integer.toString(rows),
                    "--seed", Long.toString(seed), "--steps", Integer.toString(steps)));
            if (traceDir != null) {
                a.addAll(List.of("--trace", traceDir.toAbsolutePath().toString()));
            }
            return a;
        }
    }

    @Mixin
    JobOptions job = new JobOptions();

    @Option(names = "--in-process", description = "Run the ranks as threads of this process instead of processes.")
    boolean inProcess;

    @Override
    public Integer call() throws Exception {
        TrainingJob.Config c = job.config();
        if (job.traceDir != null) {
            Files.createDirectories(job.traceDir);
        }
        if (!inProcess) {
            List<String> worker = new ArrayList<>(List.of("dualpipe", "worker"));
            worker.addAll(job.args());
            return Launcher.run(new Launcher.Options(c.ranks(), 1, 0, null, 0), LaunchCommand.flyerCommand(worker),
                    System.out);
        }
        List<ProcessGroup> groups = ProcessGroup.inProcess(c.ranks(), ProcessGroup.Options.defaults());
        List<TrainingJob.RankResult> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(c.ranks())) {
            List<Future<TrainingJob.RankResult>> futures = new ArrayList<>();
            for (ProcessGroup g : groups) {
                futures.add(pool.submit(() -> {
                    try (g) {
                        return Worker.runTraced(g, c, job);
                    }
                }));
            }
            for (Future<TrainingJob.RankResult> f : futures) {
                results.add(f.get());
            }
        }
        return Worker.report(c, results, job.traceDir);
    }

    /** One rank of {@code flyer dualpipe train}, started by the launcher. */
    @Command(name = "worker", hidden = true, mixinStandardHelpOptions = true,
            description = "One rank of flyer dualpipe train (started by flyer launch).")
    static final class Worker implements Callable<Integer> {
        @Mixin
        JobOptions job = new JobOptions();

        @Override
        public Integer call() throws Exception {
            TrainingJob.Config c = job.config();
            try (ProcessGroup g = ProcessGroup.init(DistEnv.fromEnvironment(), ProcessGroup.Options.defaults())) {
                TrainingJob.RankResult mine = runTraced(g, c, job);
                byte[][] all = g.allGather(TrainReport.encode(mine));
                int status = 0;
                if (g.rank() == 0) {
                    List<TrainingJob.RankResult> results = new ArrayList<>();
                    for (byte[] b : all) {
                        results.add(TrainReport.decode(b));
                    }
                    status = report(c, results, job.traceDir);
                }
                g.barrier();
                return status;
            }
        }

        static TrainingJob.RankResult runTraced(ProcessGroup g, TrainingJob.Config c, JobOptions job) throws Exception {
            TraceRecorder trace = job.traceDir == null ? TraceRecorder.disabled() : TraceRecorder.enabled(g.rank());
            trace.processName("rank " + g.rank());
            TrainingJob.RankResult r = TrainingJob.runRank(g, c, false, trace, job.steps);
            if (job.traceDir != null) {
                trace.write(job.traceDir.resolve("rank" + g.rank() + ".json"));
            }
            return r;
        }

        static int report(TrainingJob.Config c, List<TrainingJob.RankResult> results, Path traceDir) throws Exception {
            TrainReport report = TrainReport.of(c, results);
            report.print(c, System.out);
            if (traceDir != null) {
                for (int r = 0; r < c.ranks(); r++) {
                    Path file = traceDir.resolve("rank" + r + ".json");
                    if (Files.exists(file)) {
                        OverlapReport o = OverlapAnalysis.analyze(TraceReader.read(file), OverlapAnalysis.Options.defaults()
                                .withCommPattern("recv|send"));
                        System.out.printf(Locale.ROOT, "trace %s: compute %.2f ms, waiting for communication %.2f ms%n",
                                file, o.computeMs(), o.commMs());
                    }
                }
            }
            return report.lossesBitEqual() && report.maxGradDiff() < 1e-13 ? 0 : 4;
        }
    }
}
