package dev.flyer.serve;

import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.mla.FlashMla;
import dev.flyer.mla.MlaMetadata;
import dev.flyer.serve.internal.Linear;
import dev.flyer.serve.internal.MlaAttention;
import dev.flyer.serve.internal.Mlp;
import dev.flyer.serve.internal.Moe;
import dev.flyer.serve.internal.Rope;
import dev.flyer.serve.internal.Rows;
import dev.flyer.serve.internal.Weights;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A DeepSeek-V2/V3 checkpoint in Hugging Face format, loaded memory-mapped, and its forward pass.
 *
 * <p>Contract: {@link #forward} appends tokens to a sequence of a {@link KvCache} (prefill of a
 * whole prompt or chunk, or one decode token) and returns the logits after the last one, as
 * DeepSeek's {@code inference/model.py} computes them in FP32. Token ids outside the vocabulary,
 * positions past {@code max_position_embeddings}, and checkpoints lacking a tensor or with a
 * wrong shape are {@link IllegalArgumentException}s; a full cache is {@link IllegalStateException}
 * with the sequence unchanged.
 *
 * <p>Implementation notes: deepseek-ai/DeepSeek-V3 {@code inference/model.py} ({@code Transformer},
 * {@code Block}): embedding, then per layer {@code x += attn(attn_norm(x))},
 * {@code x += ffn(ffn_norm(x))} with a dense MLP for the first {@code first_k_dense_replace}
 * layers and MoE after; final norm and head on the last position. Weight names are Hugging
 * Face's ({@code model.layers.N.self_attn.q_a_proj}, {@code mlp.experts.E.gate_proj}, ...).
 * One split-KV plan per call serves every layer.
 */
public final class DeepSeekModel implements AutoCloseable {
    private final ModelConfig config;
    private final SafeTensors weights;
    private final Tensor embed;
    private final MlaAttention[] attention;
    private final float[][] attnNorm;
    private final float[][] ffnNorm;
    private final Mlp[] dense;
    private final Moe[] moe;
    private final float[] finalNorm;
    private final Linear head;

    private DeepSeekModel(ModelConfig config, SafeTensors st, GemmImpl impl) {
        this.config = config;
        this.weights = st;
        int layers = config.layers();
        embed = Weights.require(st, "model.embed_tokens.weight");
        if (embed.rank() != 2 || embed.size(0) != config.vocabSize() || embed.size(1) != config.hidden()) {
            throw new IllegalArgumentException("model.embed_tokens.weight must be [" + config.vocabSize() + ", "
                    + config.hidden() + "], got " + java.util.Arrays.toString(embed.shape()));
        }
        Rope rope = new Rope(config);
        attention = new MlaAttention[layers];
        attnNorm = new float[layers][];
        ffnNorm = new float[layers][];
        dense = new Mlp[layers];
        moe = new Moe[layers];
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i;
            attention[i] = new MlaAttention(st, p + ".self_attn", config, rope, impl);
            attnNorm[i] = Weights.vector(st, p + ".input_layernorm.weight", config.hidden());
            ffnNorm[i] = Weights.vector(st, p + ".post_attention_layernorm.weight", config.hidden());
            if (config.isMoeLayer(i)) {
                moe[i] = new Moe(st, p + ".mlp", config, impl);
            } else {
                dense[i] = new Mlp(st, p + ".mlp", config.hidden(), config.intermediate(), impl);
            }
        }
        finalNorm = Weights.vector(st, "model.norm.weight", config.hidden());
        head = Linear.load(st, "lm_head", config.vocabSize(), config.hidden());
    }

    /** Loads {@code dir} ({@code config.json} and {@code model.safetensors} or a sharded index). */
    public static DeepSeekModel load(Path dir) throws IOException {
        return load(dir, GemmImpl.BF16);
    }

    /** Loads {@code dir} with FP8 projections multiplying as {@code impl} says. */
    public static DeepSeekModel load(Path dir, GemmImpl impl) throws IOException {
        ModelConfig config = ModelConfig.load(dir);
        SafeTensors st = SafeTensors.open(dir);
        try {
            return new DeepSeekModel(config, st, impl);
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    /** A cache with room for {@code tokens} tokens in total. */
    public KvCache newCache(int tokens) {
        return new KvCache(config, Math.max(1, (tokens + KvCache.BLOCK - 1) / KvCache.BLOCK));
    }

    /** Appends {@code tokens} to {@code seq} and returns the logits after the last one. */
    public float[] forward(KvCache cache, KvCache.Sequence seq, int[] tokens) {
        int rows = tokens.length;
        int start = seq.length();
        if (rows == 0) {
            throw new IllegalArgumentException("tokens must not be empty");
        }
        if (start + rows > config.maxPositions()) {
            throw new IllegalArgumentException("positions " + start + ".." + (start + rows - 1)
                    + " exceed max_position_embeddings " + config.maxPositions());
        }
        int hidden = config.hidden();
        float[] x = new float[rows * hidden];
        for (int t = 0; t < rows; t++) {
            if (tokens[t] < 0 || tokens[t] >= config.vocabSize()) {
                throw new IllegalArgumentException("token " + tokens[t] + " at " + t + " is outside the vocabulary of "
                        + config.vocabSize());
            }
        }
        seq.reserve(rows);
        for (int t = 0; t < rows; t++) {
            Tensor row = embed.select(0, tokens[t]);
            for (int h = 0; h < hidden; h++) {
                x[t * hidden + h] = row.getFloat(h);
            }
        }
        MlaMetadata meta = FlashMla.metadata(new int[] {start + rows}, rows, config.heads());
        for (int i = 0; i < config.layers(); i++) {
            float[] xn = Rows.rmsNormRows(x, rows, hidden, attnNorm[i], config.rmsNormEps());
            Rows.add(x, attention[i].forward(xn, rows, start, cache.layer(i), seq.blockTable(), meta));
            xn = Rows.rmsNormRows(x, rows, hidden, ffnNorm[i], config.rmsNormEps());
            Rows.add(x, moe[i] != null ? moe[i].forward(xn, rows) : dense[i].forward(xn, rows));
        }
        seq.advance(rows);
        float[] last = new float[hidden];
        Rows.rmsNorm(x, (rows - 1) * hidden, hidden, finalNorm, config.rmsNormEps(), last, 0);
        return Rows.project(head, last, 1);
    }

    @Override
    public void close() {
        weights.close();
    }
}
