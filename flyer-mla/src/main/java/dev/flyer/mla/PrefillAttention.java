package dev.flyer.mla;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.mla.internal.KvReader;
import dev.flyer.mla.internal.TileKernel;
import dev.flyer.mla.internal.Workspace;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * MLA prefill attention, the two forms serving needs for prompts.
 *
 * <p>{@link #varlen}: the non-absorbed form over packed sequences (flash-attn's
 * {@code flash_attn_varlen_func} semantics): {@code q [t, h, dqk]}, {@code k [t, h, dqk]},
 * {@code v [t, h, dv]} (BF16 or F32; 192/192/128 for DeepSeek-V3), sequence {@code i} is rows
 * {@code cuSeqlens[i]..cuSeqlens[i+1]}; causal means position {@code p} sees keys {@code <= p} of
 * its own sequence. Outputs {@code out [t, h, dv]} (BF16 or F32) and {@code lse [h, t]} F32.
 *
 * <p>{@link #chunked}: the absorbed form for chunked prefill with a cached prefix: the chunk's
 * latent rows are already in the paged cache, {@code q [b, chunk, h, 576]} attends to the prefix
 * plus its own causal part, i.e. FlashMLA decode with {@code s_q = chunk} and {@code causal}.
 *
 * <p>Implementation notes: the same {@link TileKernel} as decode; a tile is (sequence, head,
 * 64 query positions), keys streamed in blocks of 64 up to the tile's last position. Tiles are
 * enumerated longest-first (the last chunks of the longest sequences) so the pool's dynamic
 * claiming balances causal work.
 */
public final class PrefillAttention {
    private PrefillAttention() {}

    /** Non-absorbed variable-length attention into new tensors (out BF16). */
    public static Attention varlen(Tensor q, Tensor k, Tensor v, int[] cuSeqlens, float softmaxScale, boolean causal) {
        Arena arena = Arena.ofAuto();
        checkQkv(q, k, v);
        Tensor out = Tensor.allocate(arena, DType.BF16, q.size(0), q.size(1), v.size(2));
        Tensor lse = Tensor.allocate(arena, DType.F32, q.size(1), q.size(0));
        varlen(q, k, v, cuSeqlens, softmaxScale, causal, out, lse);
        return new Attention(out, lse);
    }

    /** Non-absorbed variable-length attention into caller-owned {@code out [t, h, dv]} and {@code lse [h, t]}. */
    public static void varlen(Tensor q, Tensor k, Tensor v, int[] cuSeqlens, float softmaxScale, boolean causal,
                              Tensor out, Tensor lse) {
        checkQkv(q, k, v);
        int t = (int) q.size(0);
        int h = (int) q.size(1);
        int dqk = (int) q.size(2);
        int dv = (int) v.size(2);
        checkCuSeqlens(cuSeqlens, t);
        if (out == null || !Arrays.equals(out.shape(), new long[] {t, h, dv}) || !out.isContiguous()
                || (out.dtype() != DType.BF16 && out.dtype() != DType.F32)) {
            throw new IllegalArgumentException("out must be contiguous BF16/F32 [" + t + ", " + h + ", " + dv + "], got "
                    + (out == null ? "null" : out.dtype() + Arrays.toString(out.shape())));
        }
        if (lse == null || !Arrays.equals(lse.shape(), new long[] {h, t}) || !lse.isContiguous() || lse.dtype() != DType.F32) {
            throw new IllegalArgumentException("lse must be contiguous F32 [" + h + ", " + t + "], got "
                    + (lse == null ? "null" : lse.dtype() + Arrays.toString(lse.shape())));
        }
        long[] tiles = tiles(cuSeqlens, h);
        ComputePool.shared().parallelFor(tiles.length, (tile, _) -> {
            long packed = tiles[tile];
            int chunk = (1 << CHUNK_BITS) - 1 - (int) (packed >>> 42);
            int seq = (int) ((packed >>> 20) & 0x3FFFFF);
            int head = (int) (packed & 0xFFFFF);
            prefillTile(q, k, v, cuSeqlens[seq], cuSeqlens[seq + 1] - cuSeqlens[seq], head, chunk, softmaxScale,
                    causal, dqk, dv, out, lse);
        });
    }

    /** Absorbed chunked prefill over the paged cache: {@link FlashMla#decode} with {@code causal = true}. */
    public static Attention chunked(Tensor q, Tensor kCache, int[] blockTable, int[] cacheSeqlens, DecodeOptions options) {
        MlaMetadata meta = FlashMla.metadata(cacheSeqlens, (int) q.size(1), (int) q.size(2));
        return FlashMla.decode(q, kCache, blockTable, cacheSeqlens, meta, options.withCausal(true));
    }

    private static final int CHUNK_BITS = 21;

    /** (chunk, seq, head) packed in longs, sorted so the heaviest causal tiles (latest chunks) come first. */
    private static long[] tiles(int[] cuSeqlens, int heads) {
        int rows = Workspace.ROWS;
        int count = 0;
        for (int i = 0; i + 1 < cuSeqlens.length; i++) {
            count = Math.addExact(count, (cuSeqlens[i + 1] - cuSeqlens[i] + rows - 1) / rows * heads);
        }
        long[] tiles = new long[count];
        int next = 0;
        int last = (1 << CHUNK_BITS) - 1;
        for (int i = 0; i + 1 < cuSeqlens.length; i++) {
            int chunks = (cuSeqlens[i + 1] - cuSeqlens[i] + rows - 1) / rows;
            for (int c = 0; c < chunks; c++) {
                for (int head = 0; head < heads; head++) {
                    tiles[next++] = ((long) (last - c) << 42) | ((long) i << 20) | head;
                }
            }
        }
        Arrays.sort(tiles);
        return tiles;
    }

    private static void prefillTile(Tensor q, Tensor k, Tensor v, int start, int length, int head, int chunk,
                                    float scale, boolean causal, int dqk, int dv, Tensor out, Tensor lse) {
        int heads = (int) q.size(1);
        int p0 = chunk * Workspace.ROWS;
        int rows = Math.min(Workspace.ROWS, length - p0);
        Workspace w = Workspace.local(dqk, dv);
        TileKernel.begin(w, rows, dqk, dv);
        long qBytes = q.dtype().byteSize();
        for (int r = 0; r < rows; r++) {
            long row = (long) (start + p0 + r) * heads + head;
            KvReader.queryRow(w, q.segment(), q.dtype(), (q.offset() + row * dqk) * qBytes, dqk);
            TileKernel.putQuery(w, r, scale);
            TileKernel.limitRow(w, r, causal ? p0 + r + 1 : length);
        }
        int keys = causal ? p0 + rows : length;
        long kBytes = k.dtype().byteSize();
        long vBytes = v.dtype().byteSize();
        for (int block = 0; block * Workspace.BLOCK < keys; block++) {
            int pos0 = block * Workspace.BLOCK;
            int n = Math.min(Workspace.BLOCK, keys - pos0);
            for (int j = 0; j < n; j++) {
                long row = (long) (start + pos0 + j) * heads + head;
                KvReader.plainToken(w, j, k.segment(), k.dtype(), (k.offset() + row * dqk) * kBytes, dqk);
                KvReader.valueRow(w, j, v.segment(), v.dtype(), (v.offset() + row * dv) * vBytes, dv);
            }
            TileKernel.block(w, n, pos0, w.vb(), dv);
        }
        long outBytes = out.dtype().byteSize();
        int t = (int) q.size(0);
        for (int r = 0; r < rows; r++) {
            float rowLse = TileKernel.finishRow(w, r);
            long row = (long) (start + p0 + r) * heads + head;
            KvReader.storeRow(w, out.segment(), out.dtype(), (out.offset() + row * dv) * outBytes, dv);
            lse.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, lse.offset() + (long) head * t + start + p0 + r, rowLse);
        }
    }

    private static void checkQkv(Tensor q, Tensor k, Tensor v) {
        for (Object[] named : new Object[][] {{q, "q"}, {k, "k"}, {v, "v"}}) {
            Tensor x = (Tensor) named[0];
            String name = (String) named[1];
            if (x == null || x.rank() != 3) {
                throw new IllegalArgumentException(name + " must be [t, h, d], got "
                        + (x == null ? "null" : Arrays.toString(x.shape())));
            }
            if (x.dtype() != DType.BF16 && x.dtype() != DType.F32) {
                throw new IllegalArgumentException(name + " dtype must be BF16 or F32, got " + x.dtype());
            }
            if (!x.isContiguous()) {
                throw new IllegalArgumentException(name + " must be contiguous, got strides " + Arrays.toString(x.strides()));
            }
        }
        if (k.size(0) != q.size(0) || v.size(0) != q.size(0) || k.size(1) != q.size(1) || v.size(1) != q.size(1)) {
            throw new IllegalArgumentException("q, k, v must share [t, h]: q " + Arrays.toString(q.shape()) + ", k "
                    + Arrays.toString(k.shape()) + ", v " + Arrays.toString(v.shape()));
        }
        if (k.size(2) != q.size(2)) {
            throw new IllegalArgumentException("k head dim " + k.size(2) + " != q head dim " + q.size(2));
        }
        if (q.size(1) >= (1 << 20) || q.size(2) < 1 || v.size(2) < 1) {
            throw new IllegalArgumentException("heads must be < 2^20 and head dims >= 1, got q " + Arrays.toString(q.shape())
                    + ", v " + Arrays.toString(v.shape()));
        }
    }

    private static void checkCuSeqlens(int[] cuSeqlens, int t) {
        if (cuSeqlens == null || cuSeqlens.length < 1 || cuSeqlens[0] != 0 || cuSeqlens[cuSeqlens.length - 1] != t) {
            throw new IllegalArgumentException("cu_seqlens must start at 0 and end at t=" + t + ", got "
                    + (cuSeqlens == null ? "null" : DecodeChecks.brief(cuSeqlens)));
        }
        if (cuSeqlens.length - 1 >= (1 << 22)) {
            throw new IllegalArgumentException("at most 2^22 sequences per call, got " + (cuSeqlens.length - 1));
        }
        for (int i = 1; i < cuSeqlens.length; i++) {
            if (cuSeqlens[i] < cuSeqlens[i - 1]) {
                throw new IllegalArgumentException("cu_seqlens must be non-decreasing, got cu_seqlens[" + (i - 1) + "] = "
                        + cuSeqlens[i - 1] + " > cu_seqlens[" + i + "] = " + cuSeqlens[i]);
            }
        }
    }
}
