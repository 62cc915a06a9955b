package dev.flyer.bench;

import dev.flyer.serve.DeepSeekModel;
import dev.flyer.serve.Engine;
import dev.flyer.serve.KvCache;
import dev.flyer.serve.ModelConfig;
import dev.flyer.serve.RandomCheckpoint;
import dev.flyer.serve.Sampler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code flyer bench serve}: batch-1 decode and prefill tokens per second on a DeepSeek-V2-Lite-shaped
 * random checkpoint (real widths, cut to a few layers), BF16 and FP8, beside the machine's bound
 * (bytes of weights one decode token must read ÷ measured memory bandwidth), and batched decode
 * throughput through the engine for 1, 8 and 32 concurrent sequences. One row isolates the FP8
 * decode GEMV from DRAM beside the same loop in C ({@link ColdGemv}): the FP8 rows' ceiling.
 *
 * <p>Checkpoints are written once into {@code ~/.cache/flyer/bench-serve} and reused. The bytes
 * per token count what a decode step touches: attention and dense/shared projections, the
 * {@code top-k} routed experts, the head, one embedding row. The peer is DeepSeek's own
 * {@code model.py} (from a checkout passed as {@code --reference}) on the same checkpoint, driven by
 * Flyer's {@code model_py_peer.py} (prefill of 256 tokens, then greedy decode steps).
 */
public final class ServeBench {
    private ServeBench() {}

    public static int steps(boolean quick) {
        return 2 * (quick ? 1 : 2) + 2;
    }

    /** Without DeepSeek's model.py as a peer. */
    public static BenchReport run(boolean quick, Progress progress) throws IOException {
        return run(quick, null, progress);
    }

    /**
     * With {@code inference} a directory holding DeepSeek-V3's {@code inference/model.py} (a checkout
     * of deepseek-ai/DeepSeek-V3), its decode and prefill are measured on the same BF16 checkpoint
     * through a Python with PyTorch (Debian's {@code python3-torch}).
     */
    public static BenchReport run(boolean quick, Path inference, Progress progress) throws IOException {
        MachineLimits limits = MachineBench.quickLimits();
        BenchReport report = new BenchReport("flyer bench serve (V2-Lite-shaped random checkpoint, "
                + (quick ? 2 : 3) + " layers)");
        int layers = quick ? 2 : 3;
        for (boolean fp8 : new boolean[] {false, true}) {
            Path dir = checkpoint(layers, fp8, progress);
            String dtype = fp8 ? "fp8" : "bf16";
            try (DeepSeekModel model = DeepSeekModel.load(dir)) {
                progress.step(dtype + " batch-1 decode and prefill");
                double bytes = bytesPerToken(model.config(), fp8);
                double[] rates = singleSequence(model, quick);
                double[] peer = !fp8 && inference != null ? ModelPyPeer.run(inference, dir, quick, report)
                        : new double[] {Double.NaN, Double.NaN};
                String peerName = Double.isNaN(peer[0]) ? "" : "DeepSeek model.py (PyTorch)";
                report.add(new BenchRow("decode batch=1 weights=" + dtype, "tok/s", rates[0], peer[0], peerName,
                        limits.copyGBsAll() * 1e9 / bytes));
                report.add(new BenchRow("prefill 256 tokens weights=" + dtype, "tok/s", rates[1], peer[1], peerName,
                        Double.NaN));
                progress.done();
                if (fp8) {
                    progress.step("fp8 GEMV from DRAM beside C");
                    ModelConfig c = model.config();
                    double[] gemv = ColdGemv.measure(c.moeIntermediate(), c.hidden(), quick);
                    report.add(new BenchRow("fp8 GEMV m=1 n=" + c.moeIntermediate() + " k=" + c.hidden()
                            + " from DRAM (an expert projection of a decode step)", "GB/s", gemv[0], gemv[1],
                            "the same loop in C", limits.copyGBsAll()));
                    progress.done();
                }
                if (!quick || !fp8) {
                    progress.step(dtype + " batched decode");
                    for (int batch : new int[] {1, 8, 32}) {
                        report.add(BenchRow.of("engine batch=" + batch + " (32-token prompts + " + (quick ? 8 : 24)
                                + " new, end to end) weights=" + dtype, "new tok/s", batched(model, batch, quick)));
                    }
                    progress.done();
                }
                report.note(dtype + ": " + String.format("%.0f", bytes / 1e6) + " MB of weights per decode token");
            }
        }
        report.note("limit of the decode rows: measured all-core copy bandwidth / weight bytes per token");
        report.note("fp8 GEMV row: flyer-gemm's one-row FP8 kernel on weights cycled through 256 MiB (cold, as in "
                + "decode) beside its loop in C (peers.c, cc -O3 -march=native), both on all cores; "
                + "limit: copy bandwidth");
        if (inference == null) {
            report.note("pass --reference DIR (DeepSeek-V3's inference/ folder) to run DeepSeek's model.py beside the BF16 rows");
        } else {
            report.note("FP8 rows have no model.py peer: Debian's PyTorch 1.13 has no float8 dtype");
        }
        return report;
    }

    private static Path checkpoint(int layers, boolean fp8, Progress progress) throws IOException {
        Path dir = Path.of(System.getProperty("user.home"), ".cache", "flyer", "bench-serve",
                "v2lite-" + layers + (fp8 ? "-fp8" : "-bf16"));
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            progress.step("writing " + dir + " (once)");
            RandomCheckpoint.write(RandomCheckpoint.Preset.V2LITE_SHAPED, layers, fp8, 1, dir);
            progress.done();
        }
        return dir;
    }

    /** Weight bytes one decode token reads. */
    static double bytesPerToken(ModelConfig c, boolean fp8) {
        double w = fp8 ? 1.0 : 2.0;
        double attention = (double) c.hidden() * c.heads() * c.qkHeadDim() + (double) c.hidden() * c.latentDim()
                + (double) c.heads() * (c.qkNopeHeadDim() + c.vHeadDim()) * c.kvLoraRank() * 2
                + (double) c.heads() * c.vHeadDim() * c.hidden();
        double total = 0;
        for (int l = 0; l < c.layers(); l++) {
            double mlp = c.isMoeLayer(l)
                    ? 3.0 * c.hidden() * c.moeIntermediate() * (c.expertsPerToken() + c.sharedExperts()) * w
                            + 2.0 * c.routedExperts() * c.hidden()
                    : 3.0 * c.hidden() * c.intermediate() * w;
            total += attention * w + mlp;
        }
        return total + 2.0 * c.vocabSize() * c.hidden() + 2.0 * c.hidden();
    }

    /** {decode tok/s, prefill tok/s} for one sequence. */
    private static double[] singleSequence(DeepSeekModel model, boolean quick) {
        int vocab = model.config().vocabSize();
        SplittableRandom random = new SplittableRandom(1);
        int[] prompt = random.ints(256, 2, vocab).toArray();
        int steps = quick ? 32 : 64;
        warmUp(model, prompt, quick ? 8 : 10);
        double bestDecode = 0;
        double bestPrefill = 0;
        for (int round = 0; round < (quick ? 2 : 3); round++) {
            try (KvCache cache = model.newCache(512)) {
                KvCache.Sequence seq = cache.newSequence();
                long t0 = System.nanoTime();
                float[] logits = model.forward(cache, seq, prompt);
                bestPrefill = Math.max(bestPrefill, prompt.length / ((System.nanoTime() - t0) / 1e9));
                long t1 = System.nanoTime();
                for (int i = 0; i < steps; i++) {
                    logits = model.forward(cache, seq, new int[] {Sampler.argmax(logits)});
                }
                bestDecode = Math.max(bestDecode, steps / ((System.nanoTime() - t1) / 1e9));
            }
        }
        return new double[] {bestDecode, bestPrefill};
    }

    /**
     * Prefill and decode steps, untimed, for about {@code seconds}: every decode kernel (the
     * specialised copies of each depth included) must reach C2 before the timed rounds, or they
     * time the interpreter (FP8 decode ran at half speed for its first 2 s and reached its steady
     * rate after 6-8 s).
     */
    private static void warmUp(DeepSeekModel model, int[] prompt, double seconds) {
        int capacityTokens = 1024;
        try (KvCache cache = model.newCache(capacityTokens)) {
            KvCache.Sequence seq = cache.newSequence();
            float[] logits = model.forward(cache, seq, prompt);
            long endNs = System.nanoTime() + (long) (seconds * 1e9);
            for (int i = 0; i < capacityTokens - prompt.length - 1 && System.nanoTime() < endNs; i++) {
                logits = model.forward(cache, seq, new int[] {Sampler.argmax(logits)});
            }
        }
    }

    /** Generated tokens per second with {@code batch} concurrent sequences through the engine. */
    private static double batched(DeepSeekModel model, int batch, boolean quick) {
        int vocab = model.config().vocabSize();
        int tokens = quick ? 8 : 24;
        try (Engine engine = new Engine(model, new Engine.Options(batch * 128 + 256, batch, 512))) {
            SplittableRandom random = new SplittableRandom(batch);
            List<Engine.Request> requests = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < batch; i++) {
                requests.add(engine.submit(random.ints(32, 2, vocab).toArray(), tokens, Sampler.greedy(),
                        new Engine.Listener() {
                            @Override
                            public void onToken(int token) {}

                            @Override
                            public void onFinish(String reason) {}
                        }));
            }
            for (Engine.Request r : requests) {
                r.done().get(600, TimeUnit.SECONDS);
            }
            return (double) batch * tokens / ((System.nanoTime() - t0) / 1e9);
        } catch (Exception e) {
            throw new IllegalStateException("batched decode failed: " + e.getMessage(), e);
        }
    }
}
