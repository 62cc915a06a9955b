package dev.flyer.serve;

import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * The paged latent KV cache of one model: per layer {@code [blocks, 64, 1, kv_lora_rank + rope]}
 * FP32 rows (the normalised latent, then the rotated rope part: FlashMLA's layout), a block
 * allocator, and sequences that own blocks.
 *
 * <p>Contract: a sequence grows block by block as tokens are appended; when no block is free the
 * append fails with {@link IllegalStateException} and the sequence is unchanged (a scheduler can
 * preempt another sequence and retry). {@link Sequence#release()} returns its blocks. Not
 * thread-safe: one engine thread owns a cache.
 *
 * <p>Implementation notes: FP32 rows keep the forward pass exact against FP32 references;
 * BF16/FP8 rows (flyer-mla supports both) are a later memory option. Free blocks are a stack.
 */
public final class KvCache implements AutoCloseable {
    /** Tokens per block, as FlashMLA's pages. */
    public static final int BLOCK = 64;

    private final Arena arena = Arena.ofShared();
    private final Tensor[] layers;
    private final int[] free;
    private int freeCount;

    /** A cache of {@code blocks} blocks for every layer of {@code config}. */
    public KvCache(ModelConfig config, int blocks) {
        if (blocks < 1) {
            throw new IllegalArgumentException("blocks must be >= 1, got " + blocks);
        }
        layers = new Tensor[config.layers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = Tensor.allocate(arena, DType.F32, blocks, BLOCK, 1, config.latentDim());
        }
        free = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            free[i] = blocks - 1 - i;
        }
        freeCount = blocks;
    }

    /** Layer {@code i}'s cache tensor. */
    public Tensor layer(int i) {
        return layers[i];
    }

    public int freeBlocks() {
        return freeCount;
    }

    public int totalBlocks() {
        return free.length;
    }

    /** A new empty sequence. */
    public Sequence newSequence() {
        return new Sequence();
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

        /** Blocks {@link #reserve} would take for {@code tokens} more tokens. */
        public int blocksNeeded(int tokens) {
            return Math.max(0, (length + tokens + BLOCK - 1) / BLOCK - table.length);
        }

        /** Makes room for {@code tokens} more tokens (all or nothing). */
        public void reserve(int tokens) {
            int need = (length + tokens + BLOCK - 1) / BLOCK - table.length;
            if (need <= 0) {
                return;
            }
            if (need > freeCount) {
                throw new IllegalStateException("KV cache out of blocks: need " + need + ", " + freeCount + " free of "
                        + free.length);
            }
            int old = table.length;
            table = Arrays.copyOf(table, old + need);
            for (int i = 0; i < need; i++) {
                table[old + i] = free[--freeCount];
            }
        }

        /** Records {@code tokens} appended tokens (after {@link #reserve}). */
        public void advance(int tokens) {
            if ((length + tokens + BLOCK - 1) / BLOCK > table.length) {
                throw new IllegalStateException("advance past the reserved blocks");
            }
            length += tokens;
        }

        /** Returns every block to the cache. */
        public void release() {
            for (int id : table) {
                free[freeCount++] = id;
            }
            table = new int[0];
            length = 0;
        }
    }
}
