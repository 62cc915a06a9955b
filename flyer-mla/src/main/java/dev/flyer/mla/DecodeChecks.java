package dev.flyer.mla;

import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.util.Arrays;

/** Argument checks of the decode API; every message names the argument and the values involved. */
final class DecodeChecks {
    private DecodeChecks() {}

    static void query(Tensor q) {
        if (q == null) {
            throw new IllegalArgumentException("q must not be null");
        }
        if (q.rank() != 4) {
            throw new IllegalArgumentException("q must be [b, s_q, h_q, d], got shape " + Arrays.toString(q.shape()));
        }
        plainFloat(q, "q");
        if (!q.isContiguous()) {
            throw new IllegalArgumentException("q must be contiguous, got strides " + Arrays.toString(q.strides()));
        }
        if (q.size(1) < 1 || q.size(2) < 1 || q.size(3) < 1) {
            throw new IllegalArgumentException("q's s_q, h_q and d must be >= 1, got shape " + Arrays.toString(q.shape()));
        }
    }

    static void cache(Tensor kCache, KvCacheFormat format, int d, int dv) {
        if (kCache == null || kCache.rank() != 4) {
            throw new IllegalArgumentException("k_cache must be [num_blocks, 64, h_kv, d], got "
                    + (kCache == null ? "null" : Arrays.toString(kCache.shape())));
        }
        if (kCache.size(1) != FlashMla.PAGE_BLOCK_SIZE) {
            throw new IllegalArgumentException("k_cache page block size must be 64, got " + kCache.size(1));
        }
        if (kCache.size(2) != 1) {
            throw new IllegalArgumentException("k_cache h_kv must be 1 (MLA), got " + kCache.size(2));
        }
        if (kCache.stride(3) != 1) {
            throw new IllegalArgumentException("k_cache's last dimension must be contiguous, got stride " + kCache.stride(3));
        }
        if (dv < 1 || dv > d) {
            throw new IllegalArgumentException("head_dim_v must be in [1, d=" + d + "], got " + dv);
        }
        if (format != KvCacheFormat.FP8) {
            DType expected = format == KvCacheFormat.BF16 ? DType.BF16 : DType.F32;
            if (kCache.dtype() != expected) {
                throw new IllegalArgumentException("k_cache dtype must be " + expected + " for the " + format
                        + " format, got " + kCache.dtype());
            }
            if (kCache.size(3) != d) {
                throw new IllegalArgumentException("k_cache head dim " + kCache.size(3) + " != q head dim " + d);
            }
        } else {
            DType t = kCache.dtype();
            if (t != DType.U8 && t != DType.I8 && t != DType.F8_E4M3) {
                throw new IllegalArgumentException("k_cache dtype must be U8, I8 or F8_E4M3 for the FP8 format, got " + t);
            }
            if (kCache.size(3) != KvCacheFormat.FP8_TOKEN_BYTES || d != 576) {
                throw new IllegalArgumentException("the FP8 cache needs 656 bytes per token and d = 576, got "
                        + kCache.size(3) + " bytes and d = " + d);
            }
        }
    }

    static void outputs(Tensor q, int dv, Tensor out, Tensor lse) {
        long b = q.size(0);
        long sQ = q.size(1);
        long hQ = q.size(2);
        if (out == null || !Arrays.equals(out.shape(), new long[] {b, sQ, hQ, dv}) || !out.isContiguous()) {
            throw new IllegalArgumentException("out must be contiguous [" + b + ", " + sQ + ", " + hQ + ", " + dv
                    + "], got " + (out == null ? "null" : Arrays.toString(out.shape())));
        }
        plainFloat(out, "out");
        if (lse == null || !Arrays.equals(lse.shape(), new long[] {b, hQ, sQ}) || !lse.isContiguous()
                || lse.dtype() != DType.F32) {
            throw new IllegalArgumentException("softmax_lse must be contiguous F32 [" + b + ", " + hQ + ", " + sQ
                    + "], got " + (lse == null ? "null" : lse.dtype() + Arrays.toString(lse.shape())));
        }
    }

    static void table(int[] blockTable, int[] seqlens, int b, int numBlocks) {
        if (seqlens == null || seqlens.length != b) {
            throw new IllegalArgumentException("cache_seqlens must have b=" + b + " entries, got "
                    + (seqlens == null ? "null" : seqlens.length));
        }
        if (blockTable == null || (b > 0 && blockTable.length % b != 0)) {
            throw new IllegalArgumentException("block_table must be [b=" + b + ", max_blocks] row-major, got "
                    + (blockTable == null ? "null" : blockTable.length + " entries"));
        }
        int maxBlocks = b == 0 ? 0 : blockTable.length / b;
        for (int i = 0; i < b; i++) {
            if (seqlens[i] < 0) {
                throw new IllegalArgumentException("cache_seqlens[" + i + "] must be >= 0, got " + seqlens[i]);
            }
            int used = (seqlens[i] + FlashMla.PAGE_BLOCK_SIZE - 1) / FlashMla.PAGE_BLOCK_SIZE;
            if (used > maxBlocks) {
                throw new IllegalArgumentException("cache_seqlens[" + i + "] = " + seqlens[i] + " needs " + used
                        + " blocks but block_table has " + maxBlocks + " per sequence");
            }
            for (int j = 0; j < used; j++) {
                int id = blockTable[i * maxBlocks + j];
                if (id < 0 || id >= numBlocks) {
                    throw new IllegalArgumentException("block_table[" + i + "][" + j + "] = " + id
                            + " is outside the cache's " + numBlocks + " blocks");
                }
            }
        }
    }

    static void indices(int[] indices, int requests, int topk, int numBlocks) {
        if (topk < 1) {
            throw new IllegalArgumentException("topk must be >= 1, got " + topk);
        }
        if (indices == null || indices.length != (long) requests * topk) {
            throw new IllegalArgumentException("indices must be [b, s_q, topk] = " + requests + " x " + topk
                    + " entries, got " + (indices == null ? "null" : indices.length));
        }
        long tokens = (long) numBlocks * FlashMla.PAGE_BLOCK_SIZE;
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < -1 || indices[i] >= tokens) {
                throw new IllegalArgumentException("indices[" + i / topk + "][" + i % topk + "] = " + indices[i]
                        + " is outside the cache's " + tokens + " tokens (-1 = unused)");
            }
        }
    }

    static String brief(int[] values) {
        return values.length <= 8 ? Arrays.toString(values) : values.length + " entries";
    }

    private static void plainFloat(Tensor t, String name) {
        if (t.dtype() != DType.BF16 && t.dtype() != DType.F32) {
            throw new IllegalArgumentException(name + " dtype must be BF16 or F32, got " + t.dtype());
        }
    }
}
