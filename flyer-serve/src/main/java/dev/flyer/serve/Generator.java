package dev.flyer.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Single-sequence generation: prefill the prompt, then decode one token at a time until EOS, the
 * token budget, or the model's maximum length.
 *
 * <p>Contract: {@link Result#stepLogits()} {@code [k]} are the logits from which
 * {@code tokens[k]} was chosen (so {@code [0]} are the prefill's last logits), the layout of the
 * fixtures' golden files. The EOS token, when produced, is included and ends generation.
 */
public final class Generator {
    private Generator() {}

    /** What generation produced and why it stopped ({@code "eos"}, {@code "length"}, {@code "max_positions"}). */
    public record Result(int[] tokens, List<float[]> stepLogits, String stopReason) {}

    public static Result generate(DeepSeekModel model, int[] prompt, int maxTokens, Sampler sampler,
                                  boolean keepLogits, IntConsumer onToken) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("prompt must have at least one token");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be >= 1, got " + maxTokens);
        }
        ModelConfig c = model.config();
        int capacity = Math.min(c.maxPositions(), prompt.length + maxTokens);
        try (KvCache cache = model.newCache(capacity)) {
            KvCache.Sequence seq = cache.newSequence();
            float[] logits = model.forward(cache, seq, prompt);
            List<float[]> kept = new ArrayList<>();
            int[] out = new int[maxTokens];
            int n = 0;
            String reason = "length";
            while (n < maxTokens) {
                if (keepLogits) {
                    kept.add(logits);
                }
                int token = sampler.sample(logits);
                out[n++] = token;
                if (onToken != null) {
                    onToken.accept(token);
                }
                if (token == c.eosTokenId()) {
                    reason = "eos";
                    break;
                }
                if (n == maxTokens) {
                    break;
                }
                if (seq.length() + 1 > c.maxPositions()) {
                    reason = "max_positions";
                    break;
                }
                logits = model.forward(cache, seq, new int[] {token});
            }
            return new Result(java.util.Arrays.copyOf(out, n), kept, reason);
        }
    }
}
