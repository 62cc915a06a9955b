package dev.flyer.mla;

import dev.flyer.mla.internal.TileKernel;
import dev.flyer.mla.internal.Workspace;
import java.util.Arrays;

/**
 * The tile plan of one decode batch (FlashMLA's {@code get_mla_metadata}): which part of the
 * batch's KV work each worker ("SM part") does, and how many splits each request's KV range was
 * cut into. Compute it once per batch and pass it to every layer's call; a call checks that its
 * batch matches the plan. A plan also owns the buffers of the split partials, so one plan serves
 * one call at a time.
 *
 * <p>Implementation notes: the greedy integer planner of deepseek-ai/FlashMLA
 * {@code csrc/smxx/decode/get_decoding_sched_meta/get_decoding_sched_meta.cu}: a request costs its
 * 64-token blocks plus {@value #FIXED_OVERHEAD_BLOCKS} blocks of fixed overhead (a length-0
 * request counts one block), each of {@code parts} parts gets at most
 * {@code ceil(total / parts) + overhead}, walking the requests in order and cutting a request
 * where a part's payload runs out. {@code parts = max(1, workers / rowBlocks)} as FlashMLA's
 * {@code num_sm_parts = num_sms / h_kv / ceil(rows / block_m)}; every (row block, part) pair is a
 * tile. Part {@code p} covers requests {@code beginRequest[p]..endRequest[p]} (inclusive), from
 * block {@code beginBlock[p]} of the first to block {@code endBlock[p]} (exclusive) of the last;
 * {@code splitOffsets[r]..splitOffsets[r+1]} are request {@code r}'s partial slots.
 */
public final class MlaMetadata {
    /** Per-request fixed cost in blocks (FlashMLA's {@code fixed_overhead_num_blocks}). */
    public static final int FIXED_OVERHEAD_BLOCKS = 5;

    private final int[] lengths;
    private final int queryRows;
    private final int rowBlocks;
    private final int parts;
    final int[] beginRequest;
    final int[] beginBlock;
    final int[] beginSplit;
    final int[] endRequest;
    final int[] endBlock;
    final int[] splitOffsets;
    final int[] partialBase;
    final int partialSlots;
    float[] partialOut = new float[0];
    float[] partialLse = new float[0];

    private MlaMetadata(int[] lengths, int queryRows, int workers) {
        this.lengths = lengths.clone();
        this.queryRows = queryRows;
        int rowsPerTile = queryRows <= TileKernel.NARROW_MAX ? queryRows : Workspace.ROWS;
        this.rowBlocks = Math.max(1, (queryRows + rowsPerTile - 1) / rowsPerTile);
        this.parts = Math.max(1, workers / rowBlocks);
        int b = lengths.length;
        beginRequest = new int[parts];
        beginBlock = new int[parts];
        beginSplit = new int[parts];
        endRequest = new int[parts];
        endBlock = new int[parts];
        splitOffsets = new int[b + 1];
        plan();
        partialBase = new int[b];
        int slots = 0;
        for (int i = 0; i < b; i++) {
            partialBase[i] = numSplits(i) > 1 ? slots : -1;
            slots += numSplits(i) > 1 ? numSplits(i) : 0;
        }
        partialSlots = slots;
    }

    /**
     * Plans a batch whose request {@code i} attends to {@code lengths[i]} tokens with
     * {@code queryRows = s_q · h_q} query rows each, over {@code workers} workers.
     *
     * @throws IllegalArgumentException on a negative length, {@code queryRows < 1} or {@code workers < 1}
     */
    public static MlaMetadata plan(int[] lengths, int queryRows, int workers) {
        for (int i = 0; i < lengths.length; i++) {
            if (lengths[i] < 0) {
                throw new IllegalArgumentException("cache_seqlens[" + i + "] must be >= 0, got " + lengths[i]);
            }
        }
        if (queryRows < 1) {
            throw new IllegalArgumentException("s_q * h_q must be >= 1, got " + queryRows);
        }
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be >= 1, got " + workers);
        }
        return new MlaMetadata(lengths, queryRows, workers);
    }

    private static int blocksOf(int length) {
        return Math.max(1, (length + Workspace.BLOCK - 1) / Workspace.BLOCK);
    }

    private void plan() {
        int b = lengths.length;
        long total = 0;
        for (int length : lengths) {
            total += blocksOf(length) + FIXED_OVERHEAD_BLOCKS;
        }
        long payload = (total + parts - 1) / parts + FIXED_OVERHEAD_BLOCKS;
        int request = 0;
        int block = 0;
        int split = 0;
        int cumulative = 0;
        for (int p = 0; p < parts; p++) {
            beginRequest[p] = request;
            beginBlock[p] = block;
            beginSplit[p] = split;
            long remain = payload;
            while (request < b) {
                int remainBlocks = blocksOf(lengths[request]) - block;
                if (remain >= remainBlocks + FIXED_OVERHEAD_BLOCKS) {
                    cumulative += split + 1;
                    splitOffsets[request + 1] = cumulative;
                    remain -= remainBlocks + FIXED_OVERHEAD_BLOCKS;
                    request++;
                    block = 0;
                    split = 0;
                } else {
                    if (remain - FIXED_OVERHEAD_BLOCKS > 0) {
                        block += (int) (remain - FIXED_OVERHEAD_BLOCKS);
                        split++;
                    }
                    break;
                }
            }
            endRequest[p] = block > 0 ? request : request - 1;
            endBlock[p] = block > 0 ? block : (request > 0 ? blocksOf(lengths[request - 1]) : 0);
        }
        if (request != b || block != 0) {
            throw new IllegalStateException("planner left work unassigned: request " + request + ", block " + block);
        }
    }

    /** Requests in the batch. */
    public int batch() {
        return lengths.length;
    }

    /** Query rows per request ({@code s_q · h_q}, or {@code h_q} for sparse decode). */
    public int queryRows() {
        return queryRows;
    }

    /** Row blocks per request (tiles of up to {@link Workspace#ROWS} rows). */
    public int rowBlocks() {
        return rowBlocks;
    }

    /** Parts the KV work is cut into (FlashMLA's {@code num_sm_parts}). */
    public int parts() {
        return parts;
    }

    /** The planned length of request {@code i}. */
    public int length(int i) {
        return lengths[i];
    }

    /** Splits of request {@code i}'s KV range (1 = computed in one piece). */
    public int numSplits(int i) {
        return splitOffsets[i + 1] - splitOffsets[i];
    }

    /** FlashMLA's {@code num_splits}: cumulative splits, {@code batch + 1} entries. */
    public int[] splitOffsets() {
        return splitOffsets.clone();
    }

    /** Whether {@code lengths} is the batch this plan was made for. */
    public boolean matches(int[] batchLengths) {
        return Arrays.equals(lengths, batchLengths);
    }

    /** Grows the split partials' buffers for values of width {@code dv}. */
    void ensurePartials(int dv) {
        long out = (long) partialSlots * queryRows * dv;
        if (out > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("split partials need " + out + " floats; use fewer query rows per call");
        }
        if (partialOut.length < out) {
            partialOut = new float[(int) out];
            partialLse = new float[partialSlots * queryRows];
        }
    }

    @Override
    public String toString() {
        return "MlaMetadata[batch=" + batch() + ", rows=" + queryRows + ", parts=" + parts
                + ", rowBlocks=" + rowBlocks + ", splits=" + splitOffsets[batch()] + "]";
    }
}
