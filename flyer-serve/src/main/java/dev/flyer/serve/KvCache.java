package dev.flyer.serve;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.mla.KvCacheFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The paged latent KV cache of one model: per layer {@code [blocks, 64, 1, kv_lora_rank + rope]}
 * FP32 rows (the normalised latent, then the rotated rope part: FlashMLA's layout), a block
 * allocator with reference counts, sequences that own blocks, and a prefix cache of full blocks.
 *
 * <p>Contract: a sequence grows block by block as tokens are appended; when no block is free the
 * append fails with {@link IllegalStateException} and the sequence is unchanged (a scheduler can
 * preempt another sequence and retry). {@link Sequence#release()} returns its blocks. A full
 * block whose tokens are known can be {@linkplain #publish published} under the content of its
 * whole prefix; a later sequence whose prompt starts with the same tokens
 * {@linkplain Sequence#adoptPrefix adopts} those blocks instead of recomputing them. Not
 * thread-safe: one engine thread owns a cache.
 *
 * <p>Implementation notes: a published block is keyed by a hash chain over its prefix's blocks
 * and stores its own 64 tokens, compared on every hit (no false sharing on a hash collision).
 * Blocks are shared read-only: sequences only ever write past their adopted prefix. A published
 * block nobody references stays cached and is evicted least-recently-used when the free stack
 * runs dry. FP32 rows (the default) keep the forward pass exact against FP32 references.
 */
public final class KvCache implements AutoCloseable {
    /** Tokens per block, as FlashMLA's pages. */
    public static final int BLOCK = 64;

    private final Arena arena = Arena.ofShared();
    private final KvCacheFormat format;
    private final int width;
    private final Tensor[] layers;
    private final int[] free;
    private int freeCount;
    private final int[] refs;
    private final long[] blockKey;
    private final int[][] blockTokens;
    private final Map<Long, Integer> published = new HashMap<>();
    private final LinkedHashMap<Integer, Boolean> idle = new LinkedHashMap<>(16, 0.75f, true);

    /** A cache of {@code blocks} FP32 blocks for every layer of {@code config}. */
    public KvCache(ModelConfig config, int blocks) {
        this(config, blocks, KvCacheFormat.F32);
    }

    /**
     * A cache of {@code blocks} blocks in {@code format}: F32 (exact), BF16 (half the memory) or
     * FlashMLA's 656-byte FP8 token (a quarter; needs the 576-wide latent of V2/V3).
     */
    public KvCache(ModelConfig config, int blocks, KvCacheFormat format) {
        if (blocks < 1) {
            throw new IllegalArgumentException("blocks must be >= 1, got " + blocks);
        }
        this.format = format;
        this.width = config.latentDim();
        if (format == KvCacheFormat.FP8 && width != KvCacheFormat.FP8_NOPE + KvCacheFormat.FP8_ROPE) {
            throw new IllegalArgumentException("the FP8 KV cache needs a 576-wide latent (512 + 64 rope), this model's is "
                    + width);
        }
        layers = new Tensor[config.layers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = switch (format) {
                case F32 -> Tensor.allocate(arena, DType.F32, blocks, BLOCK, 1, width);
                case BF16 -> Tensor.allocate(arena, DType.BF16, blocks, BLOCK, 1, width);
                case FP8 -> Tensor.allocate(arena, DType.U8, blocks, BLOCK, 1, KvCacheFormat.FP8_TOKEN_BYTES);
            };
        }
        free = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            free[i] = blocks - 1 - i;
        }
        freeCount = blocks;
        refs = new int[blocks];
        blockKey = new long[blocks];
        blockTokens = new int[blocks][];
    }

    /** Layer {@code i}'s cache tensor. */
    public Tensor layer(int i) {
        return layers[i];
    }

    /** How rows are stored. */
    public KvCacheFormat format() {
        return format;
    }

    /** Stores one token's latent row ({@code width} FP32 values) in layer {@code layer} at cache slot {@code slot}. */
    public void writeRow(int layer, long slot, float[] row) {
        Tensor t = layers[layer];
        long bytes = format.tokenBytes(width);
        long at = t.offset() * t.dtype().byteSize() + slot * bytes;
        switch (format) {
            case F32 -> MemorySegment.copy(row, 0, t.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, at, width);
            case BF16 -> Bf16.encode(row, 0, t.segment(), at, width);
            case FP8 -> KvCacheFormat.quantizeToken(row, t.segment(), at);
        }
    }

    /** Blocks a sequence can still get (free, plus cached ones nobody uses). */
    public int freeBlocks() {
        return freeCount + idle.size();
    }

    public int totalBlocks() {
        return free.length;
    }

    /** Published blocks currently cached (in use or idle). */
    public int cachedBlocks() {
        return published.size();
    }

    /** A new empty sequence. */
    public Sequence newSequence() {
        return new Sequence();
    }

    /** The chain key of a block with {@code tokens[from .. from + 64)} after a prefix keyed {@code parent}. */
    public static long chainKey(long parent, int[] tokens, int from) {
        long h = parent ^ 0x9E3779B97F4A7C15L;
        for (int i = from; i < from + BLOCK; i++) {
            h = (h ^ tokens[i]) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        return h;
    }

    /** Makes block {@code id} (holding {@code tokens[from .. from + 64)}) findable under {@code key}. */
    public void publish(int id, long key, int[] tokens, int from) {
        if (published.containsKey(key) || blockTokens[id] != null) {
            return;
        }
        published.put(key, id);
        blockKey[id] = key;
        blockTokens[id] = Arrays.copyOfRange(tokens, from, from + BLOCK);
    }

    private int lookup(long key, int[] tokens, int from) {
        Integer id = published.get(key);
        if (id == null || !Arrays.equals(blockTokens[id], 0, BLOCK, tokens, from, from + BLOCK)) {
            return -1;
        }
        return id;
    }

    private int allocate() {
        if (freeCount > 0) {
            return free[--freeCount];
        }
        var it = idle.keySet().iterator();
        int id = it.next();
        it.remove();
        published.remove(blockKey[id]);
        blockTokens[id] = null;
        return id;
    }

    private void retain(int id) {
        if (refs[id]++ == 0) {
            idle.remove(id);
        }
    }

    private void releaseBlock(int id) {
        if (--refs[id] > 0) {
            return;
        }
        if (blockTokens[id] != null) {
            idle.put(id, Boolean.TRUE);
        } else {
            free[freeCount++] = id;
        }
    }

    @Override
    public void close() {
        arena.close();
    }

    /** The tokens of one request held in the cache. */
    public final class Sequence {
        private int[] table = new int[0];
        private int length;

        private Sequence() {}

        /** Tokens cached so far. */
        public int length() {
            return length;
        }

        /** The block table (a live array; entries past {@code ceil(length / 64)} are unused). */
        public int[] blockTable() {
            return table;
        }

        /**
         * On an empty sequence: takes over the longest run of published blocks that {@code tokens}
         * starts with, leaving at least the last token to compute; returns the tokens adopted.
         */
        public int adoptPrefix(int[] tokens) {
            if (length != 0 || table.length != 0) {
                throw new IllegalStateException("adoptPrefix needs an empty sequence");
            }
            int blocks = (tokens.length - 1) / BLOCK;
            int[] ids = new int[blocks];
            long key = 0;
            int n = 0;
            for (; n < blocks; n++) {
                key = chainKey(key, tokens, n * BLOCK);
                int id = lookup(key, tokens, n * BLOCK);
                if (id < 0) {
                    break;
                }
                ids[n] = id;
            }
            table = Arrays.copyOf(ids, n);
            for (int id : table) {
                retain(id);
            }
            length = n * BLOCK;
            return length;
        }

        /** Blocks {@link #reserve} would take for {@code tokens} more tokens. */
        public int blocksNeeded(int tokens) {
            return Math.max(0, (length + tokens + BLOCK - 1) / BLOCK - table.length);
        }

        /** Makes room for {@code tokens} more tokens (all or nothing). */
        public void reserve(int tokens) {
            int need = blocksNeeded(tokens);
            if (need == 0) {
                return;
            }
            if (need > freeBlocks()) {
                throw new IllegalStateException("KV cache out of blocks: need " + need + ", " + freeBlocks() + " free of "
                        + free.length);
            }
            int old = table.length;
            table = Arrays.copyOf(table, old + need);
            for (int i = 0; i < need; i++) {
                int id = allocate();
                refs[id] = 1;
                table[old + i] = id;
            }
        }

        /** Records {@code tokens} appended tokens (after {@link #reserve}). */
        public void advance(int tokens) {
            if ((length + tokens + BLOCK - 1) / BLOCK > table.length) {
                throw new IllegalStateException("advance past the reserved blocks");
            }
            length += tokens;
        }

        /** Publishes every full block of this sequence, whose tokens are {@code tokens[0 .. length)}. */
        public void publishFullBlocks(int[] tokens) {
            long key = 0;
            for (int b = 0; b < length / BLOCK; b++) {
                key = chainKey(key, tokens, b * BLOCK);
                publish(table[b], key, tokens, b * BLOCK);
            }
        }

        /** Returns every block to the cache (published ones stay findable until evicted). */
        public void release() {
            for (int id : table) {
                releaseBlock(id);
            }
            table = new int[0];
            length = 0;
        }
    }
}
