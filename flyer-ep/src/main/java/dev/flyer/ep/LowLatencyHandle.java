package dev.flyer.ep;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A low-latency dispatch's layout, for the combine (DeepEP's {@code (src_info, layout_range, ...)}).
 * {@link #srcInfo} gives each received row's token index at its source; {@link #layoutRange}
 * packs, per local expert and source rank, {@code begin << 32 | count}.
 */
public final class LowLatencyHandle {
    /** Which low-latency dispatch (1, 2, ...) made it; its buffer set is {@code generation & 1}. */
    final int generation;
    final int numTokens;
    final int numTopk;
    final int hidden;
    final int maxTokensPerRank;
    final int numExperts;
    final int[] topkIdx;
    /** Per (token, k) selection: its row in the message to the expert's rank, or -1. */
    final int[] slot;
    /** Rows this rank sent, cumulative over (destination rank, local expert); {@code [R · L + 1]}. */
    final int[] sentPrefix;
    final MemorySegment srcInfo;
    final long[] layoutRange;
    final int ranks;

    LowLatencyHandle(int generation, int numTokens, int numTopk, int hidden, int maxTokensPerRank, int numExperts, int ranks,
                     int[] topkIdx, int[] slot, int[] sentPrefix, MemorySegment srcInfo, long[] layoutRange) {
        this.generation = generation;
        this.numTokens = numTokens;
        this.numTopk = numTopk;
        this.hidden = hidden;
        this.maxTokensPerRank = maxTokensPerRank;
        this.numExperts = numExperts;
        this.ranks = ranks;
        this.topkIdx = topkIdx;
        this.slot = slot;
        this.sentPrefix = sentPrefix;
        this.srcInfo = srcInfo;
        this.layoutRange = layoutRange;
    }

    /** Source token index of row {@code row} of local expert {@code expert}. */
    public int srcInfo(int expert, int row) {
        return srcInfo.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, (long) expert * ranks * maxTokensPerRank + row);
    }

    /** {@code begin << 32 | count} of source rank {@code src}'s rows at local expert {@code expert}. */
    public long layoutRange(int expert, int src) {
        return layoutRange[expert * ranks + src];
    }

    public int localExperts() {
        return numExperts / ranks;
    }
}
