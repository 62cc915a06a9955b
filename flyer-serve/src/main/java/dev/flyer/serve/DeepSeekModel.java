package dev.flyer.serve;

import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.serve.internal.Linear;
import dev.flyer.serve.internal.MlaAttention;
import dev.flyer.serve.internal.Mlp;
import dev.flyer.serve.internal.Moe;
import dev.flyer.serve.internal.Projections;
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
    private final Projections projections;
    private final Tensor embed;
    private final MlaAttention[] attention;
    private final float[][] attnNorm;
    private final float[][] ffnNorm;
    private final Mlp[] dense;
    private final Moe[] moe;
    private final float[] finalNorm;
    private final Linear head;

    private DeepSeekModel(ModelConfig config, SafeTensors st, LoadOptions options) {
        this.config = config;
        this.weights = st;
        this.projections = new Projections(st, options);
        Projections w = projections;
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
            attention[i] = new MlaAttention(w, p + ".self_attn", config, rope);
            attnNorm[i] = Weights.vector(st, p + ".input_layernorm.weight", config.hidden());
            ffnNorm[i] = Weights.vector(st, p + ".post_attention_layernorm.weight", config.hidden());
            if (config.isMoeLayer(i)) {
                moe[i] = new Moe(w, p + ".mlp", config);
            } else {
                dense[i] = new Mlp(w, p + ".mlp", config.hidden(), config.intermediate());
            }
        }
        finalNorm = Weights.vector(st, "model.norm.weight", config.hidden());
        head = w.exact("lm_head", config.vocabSize(), config.hidden());
    }

    /** Loads {@code dir} ({@code config.json} and {@code model.safetensors} or a sharded index). */
    public static DeepSeekModel load(Path dir) throws IOException {
        return load(dir, GemmImpl.BF16);
    }

    /** Loads {@code dir} with FP8 projections multiplying as {@code impl} says. */
    public static DeepSeekModel load(Path dir, GemmImpl impl) throws IOException {
        return load(dir, new LoadOptions(impl, false));
    }

    /** Loads {@code dir} as {@code options} say. */
    public static DeepSeekModel load(Path dir, LoadOptions options) throws IOException {
        ModelConfig config = ModelConfig.load(dir);
        SafeTensors st = SafeTensors.open(dir);
        try {
            return new DeepSeekModel(config, st, options);
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    /** An FP32 cache with room for {@code tokens} tokens in total. */
    public KvCache newCache(int tokens) {
        return newCache(tokens, dev.flyer.mla.KvCacheFormat.F32);
    }

    /** A cache with room for {@code tokens} tokens, rows stored as {@code format}. */
    public KvCache newCache(int tokens, dev.flyer.mla.KvCacheFormat format) {
        return new KvCache(config, Math.max(1, (tokens + KvCache.BLOCK - 1) / KvCache.BLOCK), format);
    }

    /** Appends {@code tokens} to {@code seq} and returns the logits after the last one. */
    public float[] forward(KvCache cache, KvCache.Sequence seq, int[] tokens) {
        return forward(cache, java.util.List.of(seq), java.util.List.of(tokens))[0];
    }

    /**
     * One step for several sequences at once (continuous batching): appends {@code tokens.get(i)}
     * to {@code seqs.get(i)} and returns each sequence's logits after its last token. All rows go
     * through the projections and experts together; attention runs per sequence. Checks happen
     * before anything is written; if the cache cannot hold every sequence's new tokens, nothing is
     * reserved and {@link IllegalStateException} is thrown.
     */
    public float[][] forward(KvCache cache, java.util.List<KvCache.Sequence> seqs, java.util.List<int[]> tokens) {
        int n = seqs.size();
        if (tokens.size() != n || n == 0) {
            throw new IllegalArgumentException("need one token array per sequence, got " + n + " sequences and "
                    + tokens.size() + " token arrays");
        }
        int[] rowCounts = new int[n];
        int[] starts = new int[n];
        int needBlocks = 0;
        for (int i = 0; i < n; i++) {
            rowCounts[i] = tokens.get(i).length;
            starts[i] = seqs.get(i).length();
            check(tokens.get(i), starts[i]);
            needBlocks += seqs.get(i).blocksNeeded(rowCounts[i]);
        }
        if (needBlocks > cache.freeBlocks()) {
            throw new IllegalStateException("KV cache out of blocks: need " + needBlocks + ", " + cache.freeBlocks()
                    + " free of " + cache.totalBlocks());
        }
        int[][] tables = new int[n][];
        for (int i = 0; i < n; i++) {
            seqs.get(i).reserve(rowCounts[i]);
            tables[i] = seqs.get(i).blockTable();
        }
        dev.flyer.serve.internal.Batch batch = dev.flyer.serve.internal.Batch.of(rowCounts, starts, tables, config.heads());
        int rows = batch.totalRows();
        int hidden = config.hidden();
        float[] x = new float[rows * hidden];
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < rowCounts[i]; r++) {
                embed(tokens.get(i)[r], x, (batch.offset()[i] + r) * hidden);
            }
        }
        for (int l = 0; l < config.layers(); l++) {
            float[] xn = Rows.rmsNormRows(x, rows, hidden, attnNorm[l], config.rmsNormEps());
            Rows.add(x, attention[l].forward(xn, batch, cache, l));
            xn = Rows.rmsNormRows(x, rows, hidden, ffnNorm[l], config.rmsNormEps());
            Rows.add(x, moe[l] != null ? moe[l].forward(xn, rows) : dense[l].forward(xn, rows));
        }
        float[] last = new float[n * hidden];
        for (int i = 0; i < n; i++) {
            seqs.get(i).advance(rowCounts[i]);
            Rows.rmsNorm(x, (batch.offset()[i] + rowCounts[i] - 1) * hidden, hidden, finalNorm, config.rmsNormEps(),
                    last, i * hidden);
        }
        float[] logits = Rows.project(head, last, n);
        float[][] out = new float[n][];
        int vocab = config.vocabSize();
        for (int i = 0; i < n; i++) {
            out[i] = java.util.Arrays.copyOfRange(logits, i * vocab, (i + 1) * vocab);
        }
        return out;
    }

    private void check(int[] tokens, int start) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("tokens must not be empty");
        }
        if (start + tokens.length > config.maxPositions()) {
            throw new IllegalArgumentException("positions " + start + ".." + (start + tokens.length - 1)
                    + " exceed max_position_embeddings " + config.maxPositions());
        }
        for (int t = 0; t < tokens.length; t++) {
            if (tokens[t] < 0 || tokens[t] >= config.vocabSize()) {
                throw new IllegalArgumentException("token " + tokens[t] + " at " + t + " is outside the vocabulary of "
                        + config.vocabSize());
            }
        }
    }

    private void embed(int token, float[] x, int offset) {
        Tensor row = embed.select(0, token);
        for (int h = 0; h < config.hidden(); h++) {
            x[offset + h] = row.getFloat(h);
        }
    }

    @Override
    public void close() {
        projections.close();
        weights.close();
    }
}
