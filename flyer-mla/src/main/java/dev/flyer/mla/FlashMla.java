package dev.flyer.mla;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * FlashMLA on the CPU: MLA decoding attention over a paged KV cache (pages of 64 tokens),
 * variable lengths, split-KV scheduling, BF16 or FP8 cache, dense or sparse (top-k) decode.
 *
 * <p>Contract (semantics of FlashMLA's {@code get_mla_metadata} + {@code flash_mla_with_kvcache}):
 * {@code q [b, s_q, h_q, d]} (BF16 or F32), {@code kCache [num_blocks, 64, 1, d]} (BF16) or
 * {@code [num_blocks, 64, 1, 656]} bytes ({@link KvCacheFormat#FP8}, d = 576), {@code blockTable}
 * row-major {@code [b, max_blocks]}, {@code cacheSeqlens [b]}. Outputs {@code out [b, s_q, h_q, dv]}
 * (BF16 or F32) and {@code lse [b, h_q, s_q]} F32, natural log. V is the first {@code dv}
 * channels of each key row. A query row that sees no key gets out = 0 and LSE = +inf. Cache slots
 * past a sequence's length and table entries past {@code ceil(seqlen / 64)} are never read. The
 * default softmax scale is {@code d^-0.5} as in FlashMLA; DeepSeek models must pass their own
 * (see {@link DecodeOptions#softmaxScale()}). Bad shapes, dtypes, block ids, lengths or a plan
 * made for another batch are {@link IllegalArgumentException}s naming the argument and values;
 * nothing is written then.
 *
 * <p>Implementation notes: validation here, execution in {@link DecodeRun} over
 * {@link dev.flyer.mla.internal.TileKernel}; follows deepseek-ai/FlashMLA
 * {@code flash_mla/flash_mla_interface.py} and {@code tests/ref.py}. Only {@code h_kv = 1} (MLA).
 */
public final class FlashMla {
    /** Tokens per cache page. */
    public static final int PAGE_BLOCK_SIZE = 64;

    private FlashMla() {}

    /** Plans a dense decode batch over the shared compute pool's workers. */
    public static MlaMetadata metadata(int[] cacheSeqlens, int sQ, int hQ) {
        return MlaMetadata.plan(cacheSeqlens, Math.multiplyExact(sQ, hQ), ComputePool.shared().threads());
    }

    /** Plans a sparse decode batch: {@code b · s_q} requests of {@code h_q} rows over {@code topk} indices each. */
    public static MlaMetadata sparseMetadata(int b, int sQ, int hQ, int topk) {
        if (topk < 1) {
            throw new IllegalArgumentException("topk must be >= 1, got " + topk);
        }
        int[] lengths = new int[Math.multiplyExact(b, sQ)];
        Arrays.fill(lengths, topk);
        return MlaMetadata.plan(lengths, hQ, ComputePool.shared().threads());
    }

    /** Dense decode into new tensors. */
    public static Attention decode(Tensor q, Tensor kCache, int[] blockTable, int[] cacheSeqlens, MlaMetadata meta,
                                   DecodeOptions options) {
        Attention result = allocate(q, options);
        decode(q, kCache, blockTable, cacheSeqlens, meta, options, result.out(), result.lse());
        return result;
    }

    /** Dense decode into caller-owned {@code out} and {@code lse} (no allocation in the steady state). */
    public static void decode(Tensor q, Tensor kCache, int[] blockTable, int[] cacheSeqlens, MlaMetadata meta,
                              DecodeOptions options, Tensor out, Tensor lse) {
        DecodeRun run = prepare(q, kCache, meta, options, out, lse);
        int b = (int) q.size(0);
        DecodeChecks.table(blockTable, cacheSeqlens, b, run.numBlocks);
        if (!meta.matches(cacheSeqlens) || meta.queryRows() != run.sQ * run.hQ) {
            throw new IllegalArgumentException("metadata " + meta + " was planned for another batch (b=" + b
                    + ", s_q*h_q=" + run.sQ * run.hQ + ", seqlens " + DecodeChecks.brief(cacheSeqlens) + ")");
        }
        run.blockTable = blockTable;
        run.maxBlocks = b == 0 ? 0 : blockTable.length / b;
        run.seqlens = cacheSeqlens;
        run.run(ComputePool.shared());
    }

    /** Sparse decode into new tensors. */
    public static Attention sparseDecode(Tensor q, Tensor kCache, int[] indices, int topk, MlaMetadata meta,
                                         DecodeOptions options) {
        Attention result = allocate(q, options);
        sparseDecode(q, kCache, indices, topk, meta, options, result.out(), result.lse());
        return result;
    }

    /**
     * Sparse decode (DeepSeek-V3.2): query {@code (b, s)} attends only to the cache tokens
     * {@code indices[(b * s_q + s) * topk + t]} (global token index {@code block * 64 + offset};
     * -1 = unused). Not causal.
     */
    public static void sparseDecode(Tensor q, Tensor kCache, int[] indices, int topk, MlaMetadata meta,
                                    DecodeOptions options, Tensor out, Tensor lse) {
        if (options.causal()) {
            throw new IllegalArgumentException("causal must be false for sparse decode");
        }
        DecodeRun run = prepare(q, kCache, meta, options, out, lse);
        int requests = Math.toIntExact(q.size(0) * q.size(1));
        DecodeChecks.indices(indices, requests, topk, run.numBlocks);
        int[] lengths = new int[requests];
        Arrays.fill(lengths, topk);
        if (!meta.matches(lengths) || meta.queryRows() != run.hQ) {
            throw new IllegalArgumentException("metadata " + meta + " was planned for another sparse batch (b*s_q="
                    + requests + ", h_q=" + run.hQ + ", topk=" + topk + ")");
        }
        run.sparse = true;
        run.indices = indices;
        run.topk = topk;
        run.run(ComputePool.shared());
    }

    private static Attention allocate(Tensor q, DecodeOptions options) {
        Arena arena = Arena.ofAuto();
        long[] s = q.shape().length == 4 ? q.shape() : new long[] {0, 0, 0, 0};
        return new Attention(Tensor.allocate(arena, DType.BF16, s[0], s[1], s[2], options.headDimV()),
                Tensor.allocate(arena, DType.F32, s[0], s[2], s[1]));
    }

    private static DecodeRun prepare(Tensor q, Tensor kCache, MlaMetadata meta, DecodeOptions options, Tensor out,
                                     Tensor lse) {
        DecodeChecks.query(q);
        int d = (int) q.size(3);
        int dv = options.headDimV();
        DecodeChecks.cache(kCache, options.format(), d, dv);
        DecodeChecks.outputs(q, dv, out, lse);
        if (meta == null) {
            throw new IllegalArgumentException("metadata must not be null; plan it with FlashMla.metadata(...)");
        }
        DecodeRun run = new DecodeRun();
        run.q = q;
        run.sQ = (int) q.size(1);
        run.hQ = (int) q.size(2);
        run.d = d;
        run.dv = dv;
        run.scale = options.scaleFor(d);
        run.causal = options.causal();
        run.format = options.format();
        run.cache = kCache.segment();
        long element = kCache.dtype().byteSize();
        run.cacheBaseBytes = kCache.offset() * element;
        run.blockStrideBytes = kCache.stride(0) * element;
        run.tokenStrideBytes = kCache.stride(1) * element;
        run.numBlocks = (int) kCache.size(0);
        run.out = out;
        run.lse = lse;
        run.meta = meta;
        return run;
    }
}
