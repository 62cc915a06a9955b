package dev.flyer.serve.internal;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.numeric.VectorOps;
import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.mla.DecodeOptions;
import dev.flyer.mla.FlashMla;
import dev.flyer.mla.KvCacheFormat;
import dev.flyer.mla.MlaMetadata;
import dev.flyer.serve.KvCache;
import dev.flyer.serve.ModelConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Multi-head latent attention in the absorbed form over the paged latent cache.
 *
 * <p>Implementation notes: deepseek-ai/DeepSeek-V3 {@code inference/model.py} ({@code MLA},
 * {@code attn_impl = "absorb"}). Per token: {@code q = wq_b(q_norm(wq_a(x)))} (or {@code wq(x)}),
 * split per head into nope and rope parts, rope rotated; {@code kv = wkv_a(x)} split into the latent
 * (RMS-normed) and the shared rope key (rotated); the cache row is {@code [latent, k_pe]}. The nope
 * query is absorbed into the latent space through {@code wkv_b}'s key half, so every head attends
 * to the same 576-wide rows: one FlashMLA call over the chunk (causal, {@code s_q} = chunk length)
 * returns per head a latent output, which {@code wkv_b}'s value half maps back to {@code v_head_dim},
 * then {@code wo}. {@code wkv_b} is held dequantised in FP32 ({@code [h][nope + v][kv_lora]}), as
 * model.py's {@code weight_dequant}.
 */
public final class MlaAttention {
    private final ModelConfig c;
    private final Rope rope;
    private final Linear wqA;
    private final float[] qNorm;
    private final Linear wqB;
    private final Linear wkvA;
    private final float[] kvNorm;
    private final float[] wkvB;
    private final Linear wo;

    public MlaAttention(Projections w, String prefix, ModelConfig c, Rope rope) {
        SafeTensors st = w.checkpoint();
        this.c = c;
        this.rope = rope;
        int h = c.heads();
        if (c.qLoraRank() > 0) {
            wqA = w.linear(prefix + ".q_a_proj", c.qLoraRank(), c.hidden());
            qNorm = Weights.vector(st, prefix + ".q_a_layernorm.weight", c.qLoraRank());
            wqB = w.linear(prefix + ".q_b_proj", h * c.qkHeadDim(), c.qLoraRank());
        } else {
            wqA = null;
            qNorm = null;
            wqB = w.linear(prefix + ".q_proj", h * c.qkHeadDim(), c.hidden());
        }
        wkvA = w.linear(prefix + ".kv_a_proj_with_mqa", c.latentDim(), c.hidden());
        kvNorm = Weights.vector(st, prefix + ".kv_a_layernorm.weight", c.kvLoraRank());
        wkvB = w.linear(prefix + ".kv_b_proj", h * (c.qkNopeHeadDim() + c.vHeadDim()), c.kvLoraRank()).toFloats();
        wo = w.linear(prefix + ".o_proj", c.hidden(), h * c.vHeadDim());
    }

    /**
     * Attention of every row of {@code batch} (row {@code r} of sequence {@code i} at position
     * {@code start[i] + r}); writes the rows' latent cache entries first.
     */
    public float[] forward(float[] x, Batch batch, KvCache kvCache, int layer) {
        Tensor cache = kvCache.layer(layer);
        int rows = batch.totalRows();
        int h = c.heads();
        int qk = c.qkHeadDim();
        int nope = c.qkNopeHeadDim();
        int lora = c.kvLoraRank();
        int d = c.latentDim();
        float[] q = wqA != null
                ? Rows.project(wqB, Rows.rmsNormRows(Rows.project(wqA, x, rows), rows, c.qLoraRank(), qNorm, c.rmsNormEps()), rows)
                : Rows.project(wqB, x, rows);
        float[] kv = Rows.project(wkvA, x, rows);
        float[] latentRow = new float[d];
        int[] position = new int[rows];
        for (int i = 0; i < batch.sequences(); i++) {
            for (int r = 0; r < batch.rows()[i]; r++) {
                int t = batch.offset()[i] + r;
                position[t] = batch.start()[i] + r;
                Rows.rmsNorm(kv, t * d, lora, kvNorm, c.rmsNormEps(), latentRow, 0);
                System.arraycopy(kv, t * d + lora, latentRow, lora, d - lora);
                rope.apply(latentRow, lora, position[t]);
                int[] table = batch.tables()[i];
                kvCache.writeRow(layer, (long) table[position[t] / 64] * 64 + position[t] % 64, latentRow);
            }
        }
        float[] qAbs = new float[rows * h * d];
        ComputePool.shared().parallelFor(rows * h, (th, _) -> {
            int t = th / h;
            int head = th % h;
            int qo = th * qk;
            int ao = th * d;
            Absorb.rows(q, qo, nope, wkvB, head * (nope + c.vHeadDim()) * lora, lora, qAbs, ao);
            System.arraycopy(q, qo + nope, qAbs, ao + lora, d - lora);
            rope.apply(qAbs, ao + lora, position[t]);
        });
        float[] latentOut = new float[rows * h * lora];
        for (int i = 0; i < batch.sequences(); i++) {
            if (batch.rows()[i] > 1) {
                attend(qAbs, batch.offset()[i], batch.rows()[i], batch.start()[i], cache, kvCache.format(), batch.tables()[i],
                        batch.plans()[i], latentOut);
            }
        }
        if (batch.decodeGroup().length > 0) {
            attendDecoders(qAbs, batch, cache, kvCache.format(), latentOut);
        }
        int vdim = c.vHeadDim();
        float[] heads = new float[rows * h * vdim];
        ComputePool.shared().parallelFor(rows * h, (th, _) -> {
            int head = th % h;
            for (int e = 0; e < vdim; e++) {
                heads[th * vdim + e] = VectorOps.dot(latentOut, th * lora, wkvB, (head * (nope + vdim) + nope + e) * lora, lora);
            }
        });
        return Rows.project(wo, heads, rows);
    }

    /** Every one-token sequence of the batch through one FlashMLA decode call. */
    private void attendDecoders(float[] qAbs, Batch batch, Tensor cache, KvCacheFormat format, float[] latentOut) {
        int h = c.heads();
        int d = c.latentDim();
        int lora = c.kvLoraRank();
        int[] group = batch.decodeGroup();
        int nb = group.length;
        Tensor qt = Tensor.wrap(Rows.staging(Rows.ATTN_Q, 4L * nb * h * d), DType.F32, nb, 1, h, d);
        for (int g = 0; g < nb; g++) {
            MemorySegment.copy(qAbs, batch.offset()[group[g]] * h * d, qt.data(), ValueLayout.JAVA_FLOAT,
                    (long) g * h * d * 4, h * d);
        }
        Tensor out = Tensor.wrap(Rows.staging(Rows.ATTN_OUT, 4L * nb * h * lora), DType.F32, nb, 1, h, lora);
        Tensor lse = Tensor.wrap(Rows.staging(Rows.ATTN_LSE, 4L * nb * h), DType.F32, nb, h, 1);
        DecodeOptions options = new DecodeOptions(lora, c.softmaxScale(), true, format);
        FlashMla.decode(qt, cache, batch.groupTable(), batch.groupLengths(), batch.groupPlan(), options, out, lse);
        for (int g = 0; g < nb; g++) {
            MemorySegment.copy(out.data(), ValueLayout.JAVA_FLOAT, (long) g * h * lora * 4, latentOut,
                    batch.offset()[group[g]] * h * lora, h * lora);
        }
    }

    /** One sequence's rows {@code first .. first + rows} through FlashMLA (causal, s_q = rows) into {@code latentOut}. */
    private void attend(float[] qAbs, int first, int rows, int start, Tensor cache, KvCacheFormat format, int[] table,
                        MlaMetadata meta, float[] latentOut) {
        int h = c.heads();
        int d = c.latentDim();
        int lora = c.kvLoraRank();
        Tensor qt = Tensor.wrap(Rows.staging(Rows.ATTN_Q, 4L * rows * h * d), DType.F32, 1, rows, h, d);
        MemorySegment.copy(qAbs, first * h * d, qt.data(), ValueLayout.JAVA_FLOAT, 0, rows * h * d);
        Tensor out = Tensor.wrap(Rows.staging(Rows.ATTN_OUT, 4L * rows * h * lora), DType.F32, 1, rows, h, lora);
        Tensor lse = Tensor.wrap(Rows.staging(Rows.ATTN_LSE, 4L * rows * h), DType.F32, 1, h, rows);
        DecodeOptions options = new DecodeOptions(lora, c.softmaxScale(), true, format);
        FlashMla.decode(qt, cache, table, new int[] {start + rows}, meta, options, out, lse);
        MemorySegment.copy(out.data(), ValueLayout.JAVA_FLOAT, 0, latentOut, first * h * lora, rows * h * lora);
    }
}
