package dev.flyer.cli.internal;

import dev.flyer.serve.DeepSeekModel;
import dev.flyer.serve.ModelConfig;
import dev.flyer.serve.RandomCheckpoint;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flyer model}: checkpoints (random ones for demos and benchmarks, and what a checkpoint holds). */
@Command(name = "model", mixinStandardHelpOptions = true, description = "DeepSeek checkpoints in Hugging Face format.",
        subcommands = {ModelCommand.Init.class, ModelCommand.Info.class})
public final class ModelCommand extends CommandGroup {
    @Command(name = "init", mixinStandardHelpOptions = true,
            description = "Writes a random checkpoint (config.json + model.safetensors) in DeepSeek's HF format.")
    static final class Init implements Callable<Integer> {
        @Option(names = "--preset", defaultValue = "tiny-v3",
                description = "tiny-v3 | tiny-v2lite | v2lite-shaped (default: ${DEFAULT-VALUE}).")
        String preset;

        @Option(names = "--layers", defaultValue = "3", description = "Layers (default: ${DEFAULT-VALUE}).")
        int layers;

        @Option(names = "--fp8", description = "Store projections as FP8 E4M3 with 128x128 weight_scale_inv, as V3 ships.")
        boolean fp8;

        @Option(names = "--seed", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--out", required = true, description = "Output directory.")
        Path out;

        @Override
        public Integer call() throws Exception {
            RandomCheckpoint.write(RandomCheckpoint.Preset.parse(preset), layers, fp8, seed, out);
            System.out.println("wrote " + preset + " (" + layers + " layers" + (fp8 ? ", FP8" : ", BF16") + ") to " + out);
            return 0;
        }
    }

    @Command(name = "info", mixinStandardHelpOptions = true, description = "Loads a checkpoint and prints its shape.")
    static final class Info implements Callable<Integer> {
        @Option(names = "--model", required = true, description = "Checkpoint directory.")
        Path model;

        @Override
        public Integer call() throws Exception {
            try (DeepSeekModel m = DeepSeekModel.load(model)) {
                ModelConfig c = m.config();
                System.out.printf("%s: %d layers (%d dense), hidden %d, %d heads, latent %d (+%d rope), %d routed experts"
                                + " (top %d, %s/%s), %d shared, vocab %d, max positions %d%s%n",
                        c.modelType(), c.layers(), Math.min(c.layers(), c.firstKDenseReplace()), c.hidden(), c.heads(),
                        c.kvLoraRank(), c.qkRopeHeadDim(), c.routedExperts(), c.expertsPerToken(),
                        c.scoringFunc().name().toLowerCase(java.util.Locale.ROOT),
                        c.topkMethod().name().toLowerCase(java.util.Locale.ROOT), c.sharedExperts(), c.vocabSize(),
                        c.maxPositions(), c.yarnActive() ? ", YaRN x" + c.yarn().factor() : "");
            }
            return 0;
        }
    }
}
