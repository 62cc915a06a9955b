package dev.flyer.cli.internal;

import dev.flyer.bench.BenchReport;
import dev.flyer.bench.NumericsBench;
import dev.flyer.bench.Progress;
import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.numeric.Fp8Format;
import dev.flyer.core.quant.Fp8Quantizer;
import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.core.safetensors.SafetensorsWriter;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.core.trace.TraceRecorder;
import dev.flyer.dist.ProcessGroup;
import dev.flyer.dualpipe.Costs;
import dev.flyer.dualpipe.Method;
import dev.flyer.dualpipe.Schedules;
import dev.flyer.dualpipe.Simulation;
import dev.flyer.dualpipe.Simulator;
import dev.flyer.dualpipe.TrainReport;
import dev.flyer.dualpipe.TrainingJob;
import dev.flyer.eplb.ExpertLoadBalancer;
import dev.flyer.eplb.LoadReport;
import dev.flyer.eplb.Placement;
import dev.flyer.profile.OverlapAnalysis;
import dev.flyer.profile.OverlapReport;
import dev.flyer.profile.TraceReader;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.DoubleAdder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code flyer demo}: a short tour that exercises every module that exists, recording a
 * Chrome trace of its own steps. Grows with every module.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "A short tour of what Flyer can do today (about 20 seconds).")
public final class DemoCommand implements Callable<Integer> {
    private static final int TID = 1;

    @Option(names = "--trace", paramLabel = "FILE", description = "Where to write the demo's Chrome trace "
            + "(default: a file in the temp folder).")
    Path tracePath;

    @Option(names = "--fixtures", paramLabel = "DIR", description = "Shared fixtures folder "
            + "(default: ../shared/fixtures beside the Flyer checkout).")
    Path fixtures;

    private final PrintStream out = System.out;
    private final TraceRecorder trace = TraceRecorder.enabled(0);

    @Override
    public Integer call() throws Exception {
        trace.processName("flyer demo");
        trace.threadName(TID, "main");
        out.println("Flyer demo: a tour of what exists (core, eplb, profile, dist, dualpipe, serve, bench)");
        step("1. number formats", this::numberFormats);
        step("2. fine-grained FP8 quantisation", this::quantisation);
        step("3. safetensors", this::safetensors);
        step("4. compute pool", this::computePool);
        step("5. bulk conversion vs C and memory bandwidth", this::conversionBench);
        step("6. expert-parallel load balancer (EPLB README example)", this::eplb);
        step("7. overlap analysis of DeepSeek's training trace", this::profile);
        step("8. DualPipe: schedule, simulated bubble, and two ranks training for real", this::dualPipe);
        step("9. a DeepSeek-V3 model on the JVM: greedy generation, checked against DeepSeek's model.py", this::generate);
        Path file = tracePath != null ? tracePath : Files.createTempFile("flyer-demo-trace", ".json");
        trace.write(file);
        out.printf("%n10. trace of this tour: wrote %s (%d events); open it in https://ui.perfetto.dev, or run%n"
                + "   ./flyer profile analyze %s --svg tour.svg%n", file, trace.events().size(), file);
        return 0;
    }

    private interface Step {
        void run() throws Exception;
    }

    private void step(String title, Step body) throws Exception {
        out.println();
        out.println(title);
        try (var _ = trace.span(title, "annotation", TID)) {
            body.run();
        }
    }

    private void numberFormats() {
        out.printf("   %-12s %-22s %-22s %-22s%n", "value", "BF16", "FP8 E4M3FN (saturating)", "FP8 E5M2");
        for (float v : new float[] {3.14159265f, -0.1f, 1e-3f, 500f, 70000f, Float.NaN}) {
            short b = Bf16.encode(v);
            byte e4 = Fp8Format.E4M3FN.encode(v);
            byte e5 = Fp8Format.E5M2.encode(v);
            out.printf("   %-12s %-22s %-22s %-22s%n", v,
                    String.format("0x%04x = %s", b & 0xFFFF, Bf16.decode(b)),
                    String.format("0x%02x = %s", e4 & 0xFF, Fp8Format.E4M3FN.decode(e4)),
                    String.format("0x%02x = %s", e5 & 0xFF, Fp8Format.E5M2.decode(e5)));
        }
    }

    private void quantisation() {
        try (Arena arena = Arena.ofConfined()) {
            Random random = new Random(1);
            Tensor x = Tensor.allocate(arena, DType.F32, 4, 384);
            for (long r = 0; r < 4; r++) {
                for (long c = 0; c < 384; c++) {
                    x.setFloat((float) (random.nextGaussian() * Math.exp(random.nextGaussian())), r, c);
                }
            }
            for (boolean pow2 : new boolean[] {false, true}) {
                QuantizedTensor q = Fp8Quantizer.perTokenGroup(x, Fp8Quantizer.GROUP, pow2, arena);
                Tensor back = Fp8Quantizer.dequantize(q, arena);
                double num = 0;
                double den = 0;
                float[] a = x.toFloatArray();
                float[] b = back.toFloatArray();
                for (int i = 0; i < a.length; i++) {
                    num += (a[i] - b[i]) * (double) (a[i] - b[i]);
                    den += a[i] * (double) a[i];
                }
                out.printf("   activations %s, 1x128 groups%s: scales %s, relative RMS error %.4f%n",
                        Arrays.toString(x.shape()), pow2 ? " (UE8M0 power-of-two scales)" : "",
                        Arrays.toString(q.scales().shape()), Math.sqrt(num / den));
            }
            Tensor w = Tensor.allocate(arena, DType.BF16, 144, 256);
            w.setFloat(0.5f, 0, 0);
            QuantizedTensor qw = Fp8Quantizer.perBlock(w, Fp8Quantizer.GROUP, false, arena);
            out.printf("   weights %s, 128x128 blocks: scales %s (edges ceil-divided, like weight_scale_inv)%n",
                    Arrays.toString(w.shape()), Arrays.toString(qw.scales().shape()));
        }
    }

    private void safetensors() throws Exception {
        Path dir = Files.createTempDirectory("flyer-demo");
        Path file = dir.resolve("demo.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("w", Tensor.ofFloats(arena, new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
            tensors.put("w.T", tensors.get("w").transpose(0, 1));
            SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
            try (SafeTensors st = SafeTensors.open(file)) {
                out.printf("   wrote and memory-mapped %s: %s%n", file.getFileName(), st.get("w.T"));
            }
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
        Path model = fixturesDir().resolve("tiny-v3");
        if (Files.isDirectory(model)) {
            try (SafeTensors st = SafeTensors.open(model)) {
                long bytes = st.tensors().values().stream().mapToLong(Tensor::byteSize).sum();
                Tensor embed = st.get("model.embed_tokens.weight");
                out.printf("   tiny DeepSeek-V3 checkpoint: %d tensors, %,d bytes, zero-copy; embed_tokens %s %s%n",
                        st.names().size(), bytes, embed.dtype(), Arrays.toString(embed.shape()));
            }
        } else {
            out.println("   (fixtures not found at " + model + "; pass --fixtures DIR to open the tiny DeepSeek-V3)");
        }
    }

    /** The tiny V3 fixture (or a fresh random one) generating greedily through flyer-gemm and flyer-mla. */
    private void generate() throws Exception {
        Path model = fixturesDir().resolve("tiny-v3");
        Path temp = null;
        if (!Files.isDirectory(model)) {
            temp = Files.createTempDirectory("flyer-tiny-v3");
            dev.flyer.serve.RandomCheckpoint.write(dev.flyer.serve.RandomCheckpoint.Preset.TINY_V3, 3, false, 1, temp);
            model = temp;
            out.println("   (fixtures not found: a freshly initialised random tiny-v3 instead)");
        }
        int[] prompt = {203, 339, 321, 318, 423, 29, 235};
        try (dev.flyer.serve.DeepSeekModel m = dev.flyer.serve.DeepSeekModel.load(model)) {
            long t0 = System.nanoTime();
            dev.flyer.serve.Generator.Result r = dev.flyer.serve.Generator.generate(m, prompt, 4,
                    dev.flyer.serve.Sampler.greedy(), false, null);
            out.printf("   prompt %s -> %s in %.0f ms (3 layers: MLA over the paged latent cache, 16 experts in 4 groups)%n",
                    Arrays.toString(prompt), Arrays.toString(r.tokens()), (System.nanoTime() - t0) / 1e6);
            if (temp == null) {
                out.println("   DeepSeek's inference/model.py generates [494, 353, 71, 336] from this prompt (fixture golden.json)");
            }
        } finally {
            if (temp != null) {
                try (var files = Files.list(temp)) {
                    for (Path f : files.toList()) {
                        Files.delete(f);
                    }
                }
                Files.delete(temp);
            }
        }
    }

    private void computePool() {
        ComputePool pool = ComputePool.shared();
        int tiles = 64;
        long perTile = 2_000_000;
        DoubleAdder sum = new DoubleAdder();
        for (int w = 0; w < pool.threads(); w++) {
            trace.threadName(10 + w, "compute worker " + w);
        }
        long t0 = System.nanoTime();
        pool.parallelFor(tiles, (tile, worker) -> {
            long start = trace.now();
            double s = 0;
            for (long i = tile * perTile; i < (tile + 1) * perTile; i++) {
                s += 1.0 / (1 + i);
            }
            sum.add(s);
            trace.complete("tile " + tile, "compute", 10 + worker, start, trace.now());
        });
        double ms = (System.nanoTime() - t0) / 1e6;
        out.printf("   %d threads ran %d tiles (harmonic sum %.6f) in %.1f ms; one trace lane per worker%n",
                pool.threads(), tiles, sum.sum(), ms);
    }

    private void eplb() {
        double[][] weight = {
            {90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
            {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};
        Placement placement = ExpertLoadBalancer.rebalance(weight, 16, 4, 2, 8);
        out.println("   12 experts in 4 groups -> 16 replicas on 2 nodes x 4 GPUs; phy2log of layer 0: "
                + Arrays.toString(placement.phy2log()[0]));
        LoadReport.of(weight, placement, 8).print(indented());
    }

    private void profile() throws Exception {
        Path train = fixturesDir().resolve("profile").resolve("train.json");
        if (!Files.exists(train)) {
            out.println("   (fixtures not found at " + train + "; pass --fixtures DIR)");
            return;
        }
        OverlapReport report = OverlapAnalysis.analyze(TraceReader.read(train), OverlapAnalysis.Options.defaults());
        out.printf("   DualPipe forward+backward chunk pair, EP64: window %.1f ms, communication %.1f ms, "
                + "%.1f%% of it hidden under compute, %.1f ms exposed%n", report.windowMs(), report.commMs(),
                100 * report.overlapRatio(), report.exposedCommMs());
        out.println("   (full table and timeline: ./flyer profile analyze " + train + " --svg train.svg)");
    }

    private void dualPipe() throws Exception {
        for (Method m : new Method[] {Method.ONE_F_ONE_B, Method.ZB1P, Method.DUALPIPE}) {
            Simulation sim = Simulator.run(Schedules.build(m, 8, 20), Costs.readme());
            out.printf("   %-9s 8 ranks, 20 chunks, F=1 B=2 W=1 F&B=3: bubble %.0f, peak activations %d%n", m.cliName(),
                    sim.bubble()[0], java.util.Arrays.stream(sim.peakActivations()).max().orElse(0));
        }
        TrainingJob.Config c = new TrainingJob.Config(Method.DUALPIPE, 2, 4, 32, 8, 233);
        List<ProcessGroup> groups = ProcessGroup.inProcess(2, ProcessGroup.Options.defaults());
        List<TrainingJob.RankResult> results = new java.util.ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            var futures = groups.stream().map(g -> pool.submit(() -> {
                try (g) {
                    return TrainingJob.runRank(g, c, false, TraceRecorder.disabled());
                }
            })).toList();
            for (var f : futures) {
                results.add(f.get());
            }
        }
        TrainReport report = TrainReport.of(c, results);
        out.printf("   trained 2 ranks x 2 stages over shared memory: %d losses bit-equal to the sequential reference: %s;"
                + " gradient difference %.2g%n", report.losses(), report.lossesBitEqual() ? "yes" : "NO", report.maxGradDiff());
        out.println("   (more: ./flyer dualpipe schedule --svg s.svg; ./flyer dualpipe train --ranks 4)");
    }

    private PrintStream indented() {
        return new PrintStream(new java.io.OutputStream() {
            private boolean lineStart = true;

            @Override
            public void write(int b) {
                if (lineStart) {
                    out.print("   ");
                }
                out.write(b);
                lineStart = b == '\n';
            }
        }, true, java.nio.charset.StandardCharsets.UTF_8);
    }

    private void conversionBench() {
        BenchReport report = NumericsBench.run(NumericsBench.Options.quick(), Progress.quiet());
        report.print(out);
        out.println("   (full run: ./flyer bench numerics; machine yardsticks: ./flyer bench machine)");
    }

    private Path fixturesDir() {
        if (fixtures != null) {
            return fixtures;
        }
        String home = System.getProperty("flyer.home", ".");
        return Path.of(home).toAbsolutePath().normalize().resolveSibling("shared").resolve("fixtures");
    }
}
