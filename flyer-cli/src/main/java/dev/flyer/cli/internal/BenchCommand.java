package dev.flyer.cli.internal;

import dev.flyer.bench.BenchReport;
import dev.flyer.bench.DistBench;
import dev.flyer.bench.EpBench;
import dev.flyer.bench.EplbBench;
import dev.flyer.bench.MachineBench;
import dev.flyer.bench.NumericsBench;
import dev.flyer.bench.Progress;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code flyer bench ...}: benchmarks that print each figure beside its peer and the machine's limit. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: each figure beside its peer (same run) and the machine's limit.",
        subcommands = {BenchCommand.Machine.class, BenchCommand.Numerics.class, BenchCommand.Eplb.class, BenchCommand.Dist.class, BenchCommand.Ep.class, BenchCommand.Fs.class, BenchCommand.GemmCmd.class, BenchCommand.MlaCmd.class, BenchCommand.ServeCmd.class,
            BenchCommand.Jmh.class})
public final class BenchCommand extends CommandGroup {

    /** Options every bench shares. */
    static final class Common {
        @Option(names = "--json", paramLabel = "FILE", description = "Also write the rows as JSON to FILE.")
        Path json;

        @Option(names = "--quick", description = "Small sizes and short timings (seconds, not minutes).")
        boolean quick;

        @Option(names = "--no-progress", description = "Do not draw a progress bar.")
        boolean noProgress;

        /** Runs {@code bench} under a progress bar of {@code steps}, then prints and saves its rows. */
        Integer run(String task, int steps, java.util.function.Function<Progress, BenchReport> bench) throws IOException {
            BenchReport report;
            try (Progress p = noProgress ? Progress.quiet() : Progress.bar(task, steps)) {
                report = bench.apply(p);
            }
            report.print(System.out);
            if (json != null) {
                report.writeJson(json);
                System.out.println("wrote " + json);
            }
            return 0;
        }
    }

    @Command(name = "machine", mixinStandardHelpOptions = true,
            description = "This machine's yardsticks: STREAM copy/triad, FP32 FMA peak, OpenBLAS sgemm.")
    static final class Machine implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Common common = new Common();

        @Override
        public Integer call() throws IOException {
            MachineBench.Options o = common.quick ? MachineBench.Options.quick() : MachineBench.Options.defaults();
            return common.run("bench machine", MachineBench.steps(o), p -> MachineBench.run(o, p));
        }
    }

    @Command(name = "numerics", mixinStandardHelpOptions = true,
            description = "Bulk BF16/FP8 conversion throughput vs C and memory bandwidth.")
    static final class Numerics implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Common common = new Common();

        @Override
        public Integer call() throws IOException {
            NumericsBench.Options o = common.quick ? NumericsBench.Options.quick() : NumericsBench.Options.defaults();
            return common.run("bench numerics", NumericsBench.steps(), p -> NumericsBench.run(o, p));
        }
    }

    @Command(name = "eplb", mixinStandardHelpOptions = true,
            description = "Milliseconds to rebalance DeepSeek-V3-sized expert loads.")
    static final class Eplb implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Common common = new Common();

        @Override
        public Integer call() throws IOException {
            return common.run("bench eplb", EplbBench.steps(), p -> common.quick ? EplbBench.run(50_000_000L, 2, p)
                    : EplbBench.run(1_000_000_000L, 10, p));
        }
    }

    @Command(name = "dist", mixinStandardHelpOptions = true,
            description = "P2P bandwidth and latency over shared memory and TCP vs memcpy and iperf3.")
    static final class Dist implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Common common = new Common();

        @Override
        public Integer call() throws IOException {
            DistBench.Options o = common.quick ? DistBench.Options.quick() : DistBench.Options.defaults();
            return common.run("bench dist", DistBench.steps(), p -> {
                try {
                    return DistBench.run(o, p);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
    }

    @Command(name = "ep", mixinStandardHelpOptions = true,
            description = {"MoE dispatch/combine (normal and low-latency) across processes over shared memory and TCP,",
                "vs Open MPI MPI_Alltoallv on the same routing and the machine's copy/TCP limits (--quick: 2-4 ranks)."})
    static final class Ep implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Common common = new Common();

        @Override
        public Integer call() throws IOException {
            EpBench.Options o = common.quick ? EpBench.Options.quick() : EpBench.Options.defaults();
            return common.run("bench ep", EpBench.steps(o), p -> {
                try {
                    return EpBench.run(o, p);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
    }

    @Command(name = "fs", mixinStandardHelpOptions = true,
            description = {"Flyer fs (a local cluster of processes) vs the local file system on the same workloads:",
                "sequential write/read (replication 1 and 3), random 4 KiB/64 KiB reads, create/stat/rename/unlink."})
    static final class Fs implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Common common = new Common();

        @Override
        public Integer call() throws IOException {
            dev.flyer.bench.FsBench.Options o = common.quick ? dev.flyer.bench.FsBench.Options.quick()
                    : dev.flyer.bench.FsBench.Options.defaults();
            return common.run("bench fs", dev.flyer.bench.FsBench.steps(), p -> {
                try {
                    return dev.flyer.bench.FsBench.run(o, p);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
    }

    @Command(name = "gemm", mixinStandardHelpOptions = true,
            description = "FP8 GEMM on DeepSeek-V3 shapes vs OpenBLAS sgemm (--quick: a short subset).")
    static final class GemmCmd implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Common common = new Common();

        @Override
        public Integer call() throws IOException {
            return common.run("bench gemm", dev.flyer.bench.GemmBench.steps(common.quick),
                    p -> dev.flyer.bench.GemmBench.run(common.quick, p));
        }
    }

    @Command(name = "mla", mixinStandardHelpOptions = true,
            description = "FlashMLA decode on FlashMLA's shapes vs OpenBLAS-composed and plain-Java peers (--quick: a short subset).")
    static final class MlaCmd implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Common common = new Common();

        @Override
        public Integer call() throws IOException {
            return common.run("bench mla", dev.flyer.bench.MlaBench.steps(common.quick),
                    p -> dev.flyer.bench.MlaBench.run(common.quick, p));
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Decode/prefill tok/s of a V2-Lite-shaped model (BF16, FP8) vs the memory-bandwidth bound; batched decode.")
    static final class ServeCmd implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Common common = new Common();

        @Option(names = "--reference", description = "DeepSeek-V3's inference/ folder (with model.py): run it beside "
                + "the BF16 rows through Debian's python3-torch.")
        java.nio.file.Path reference;

        @Override
        public Integer call() throws IOException {
            return common.run("bench serve", dev.flyer.bench.ServeBench.steps(common.quick), p -> {
                try {
                    return dev.flyer.bench.ServeBench.run(common.quick, reference, p);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
    }

    @Command(name = "jmh", mixinStandardHelpOptions = true,
            description = "Runs the JMH micro-benchmarks (arguments go to JMH, e.g. ConversionJmh -f 1).")
    public static final class Jmh implements Callable<Integer> {
        @Parameters(arity = "0..*", paramLabel = "JMH-ARGS", description = "Benchmark regex and JMH options.")
        List<String> args = new ArrayList<>();

        /** JMH's options are not ours: pass them through in order. */
        public static void configure(picocli.CommandLine jmh) {
            jmh.setUnmatchedOptionsArePositionalParams(true);
            jmh.setStopAtPositional(true);
        }

        @Override
        public Integer call() throws Exception {
            org.openjdk.jmh.Main.main(args.toArray(String[]::new));
            return 0;
        }
    }
}
