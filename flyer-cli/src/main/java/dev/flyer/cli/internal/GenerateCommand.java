package dev.flyer.cli.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flyer.serve.ChatTokenizer;
import dev.flyer.serve.DeepSeekModel;
import dev.flyer.serve.GemmImpl;
import dev.flyer.serve.Generator;
import dev.flyer.serve.LoadOptions;
import dev.flyer.serve.Sampler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flyer generate}: one prompt through a checkpoint, token ids in and out, logits optionally saved. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generates from a DeepSeek checkpoint.",
            "--tokens are used exactly as given (no BOS). --logits-out writes {\"prefill_last_logits\", \"decode\": "
                + "[{\"token\", \"logits\"}]} in FP32, the layout of the fixtures' golden.json."})
public final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Checkpoint directory (config.json + safetensors).")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--tokens", split = ",", description = "Prompt token ids, comma-separated.")
        int[] tokens;

        @Option(names = "--prompt", description = "Prompt text, tokenized with BOS as tokenizer_config.json says.")
        String prompt;
    }

    @Option(names = "--max-tokens", defaultValue = "16", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus mass (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--top-k", defaultValue = "0", description = "0 = no limit (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--gemm", defaultValue = "bf16",
            description = "FP8 projections: bf16 = dequantised weights (model.py's default), fp8 = quantised activations.")
    String gemm;

    @Option(names = "--quantize", description = "fp8: quantise a BF16 checkpoint's projections to FP8 (128x128 blocks) at load.")
    String quantize;

    @Option(names = "--logits-out", description = "Write the logits of every step as JSON.")
    Path logitsOut;

    @Option(names = "--tokenizer", description = "Directory with tokenizer.json (default: the model's).")
    Path tokenizerDir;

    @Override
    public Integer call() throws Exception {
        GemmImpl impl = switch (gemm) {
            case "bf16" -> GemmImpl.BF16;
            case "fp8" -> GemmImpl.FP8;
            default -> throw new IllegalArgumentException("--gemm must be bf16 or fp8, got " + gemm);
        };
        Sampler sampler = new Sampler(temperature, topP, topK, seed);
        ChatTokenizer tokenizer = input.prompt != null ? ChatTokenizer.load(tokenizerDir != null ? tokenizerDir : model) : null;
        try (DeepSeekModel m = DeepSeekModel.load(model, new LoadOptions(impl, ServeCommand.quantizeFp8(quantize)))) {
            int[] prompt = tokenizer != null ? tokenizer.encode(input.prompt) : input.tokens;
            long t0 = System.nanoTime();
            Generator.Result r = Generator.generate(m, prompt, maxTokens, sampler, logitsOut != null, null);
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (tokenizer != null) {
                System.out.println(tokenizer.decode(r.tokens(), true));
            } else {
                System.out.println(Arrays.toString(r.tokens()).replace(" ", "").replace("[", "").replace("]", ""));
            }
            System.err.printf("%d prompt + %d generated tokens in %.2f s (stop: %s)%n", prompt.length,
                    r.tokens().length, seconds, r.stopReason());
            if (logitsOut != null) {
                write(r, logitsOut);
            }
        } finally {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
        return 0;
    }

    private static void write(Generator.Result r, Path file) throws java.io.IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ArrayNode prefill = root.putArray("prefill_last_logits");
        for (float v : r.stepLogits().get(0)) {
            prefill.add(v);
        }
        ArrayNode decode = root.putArray("decode");
        for (int k = 0; k < r.tokens().length; k++) {
            ObjectNode step = decode.addObject();
            step.put("token", r.tokens()[k]);
            ArrayNode logits = step.putArray("logits");
            for (float v : r.stepLogits().get(k)) {
                logits.add(v);
            }
        }
        Files.writeString(file, json.writeValueAsString(root));
    }
}
