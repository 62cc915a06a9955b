package dev.flyer.cli.internal;

import dev.flyer.serve.DeepSeekModel;
import dev.flyer.serve.Engine;
import dev.flyer.serve.GemmImpl;
import dev.flyer.serve.LoadOptions;
import dev.flyer.serve.OpenAiServer;
import dev.flyer.serve.RandomCheckpoint;
import dev.flyer.serve.TextCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flyer serve}: the OpenAI-compatible server. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serves a DeepSeek checkpoint with an OpenAI-compatible API (/v1/chat/completions, "
            + "/v1/completions, /v1/models, /health, /metrics).",
            "Without --model it serves a freshly initialised random tiny model (byte-level text), so it runs anywhere."})
public final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", description = "Checkpoint directory (config.json, safetensors, tokenizer.json).")
    Path model;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Bind address (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8000", description = "Port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--api-key", description = "Require 'Authorization: Bearer KEY' on /v1 routes.")
    String apiKey;

    @Option(names = "--cache-tokens", defaultValue = "16384", description = "KV cache capacity in tokens (default: ${DEFAULT-VALUE}).")
    int cacheTokens;

    @Option(names = "--quantize", description = "fp8: quantise a BF16 checkpoint's projections to FP8 (128x128 blocks) at load.")
    String quantize;

    @Option(names = "--kv-cache", defaultValue = "f32",
            description = "KV cache rows: f32 (exact), bf16 (half), fp8 (FlashMLA's 656-byte token; 576-wide latents) (default: ${DEFAULT-VALUE}).")
    String kvCache;

    @Option(names = "--max-running", defaultValue = "32", description = "Requests decoded together (default: ${DEFAULT-VALUE}).")
    int maxRunning;

    static dev.flyer.mla.KvCacheFormat cacheFormat(String value) {
        return switch (value) {
            case "f32" -> dev.flyer.mla.KvCacheFormat.F32;
            case "bf16" -> dev.flyer.mla.KvCacheFormat.BF16;
            case "fp8" -> dev.flyer.mla.KvCacheFormat.FP8;
            default -> throw new IllegalArgumentException("--kv-cache must be f32, bf16 or fp8, got " + value);
        };
    }

    /** {@code --quantize}: absent or "fp8". */
    static boolean quantizeFp8(String value) {
        if (value == null) {
            return false;
        }
        if (!value.equals("fp8")) {
            throw new IllegalArgumentException("--quantize must be fp8, got " + value);
        }
        return true;
    }

    @Override
    public Integer call() throws Exception {
        Path dir = model;
        String name;
        if (dir == null) {
            dir = Files.createTempDirectory("flyer-tiny");
            RandomCheckpoint.write(RandomCheckpoint.Preset.TINY_V3, 3, false, 1, dir);
            dir.toFile().deleteOnExit();
            try (var files = Files.list(dir)) {
                files.forEach(f -> f.toFile().deleteOnExit());
            }
            name = "flyer-tiny-random";
            System.err.println("flyer serve: no --model given; serving a freshly initialised random tiny-v3 (" + dir
                    + "), text is byte-level and the answers are noise");
        } else {
            name = dir.toAbsolutePath().normalize().getFileName().toString();
        }
        try (DeepSeekModel m = DeepSeekModel.load(dir, new LoadOptions(GemmImpl.BF16, quantizeFp8(quantize)));
             Engine engine = new Engine(m, new Engine.Options(cacheTokens, maxRunning, 256, cacheFormat(kvCache)));
             TextCodec codec = TextCodec.forModel(dir, m.config());
             OpenAiServer server = OpenAiServer.start(engine, codec, name, host, port, apiKey)) {
            System.err.printf("flyer serve: model '%s' on http://%s:%d (KV cache %d tokens, %s rows%s)%n", name, host,
                    server.port(), cacheTokens, kvCache, apiKey != null ? ", API key required" : "");
            CountDownLatch stop = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
            stop.await();
        }
        return 0;
    }
}
