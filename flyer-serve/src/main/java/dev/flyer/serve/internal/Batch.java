package dev.flyer.serve.internal;

import dev.flyer.mla.FlashMla;
import dev.flyer.mla.MlaMetadata;
import java.util.Arrays;

/**
 * The rows of one forward call: sequence {@code i} contributes rows {@code offset[i] ..
 * offset[i] + rows[i]} at positions {@code start[i] ..}, over its block table {@code tables[i]}.
 * Projections run on all rows at once. Attention runs once for all one-token (decode) sequences
 * together — one FlashMLA batch over {@code decodeGroup}, with their tables padded into
 * {@code groupTable} — and per sequence for prompt chunks; each call's split-KV plan is made once
 * here and reused by every layer.
 */
public record Batch(int[] offset, int[] rows, int[] start, int[][] tables, MlaMetadata[] plans, int[] decodeGroup,
                    int[] groupTable, int[] groupLengths, MlaMetadata groupPlan) {
    /** A batch over the given per-sequence row counts, positions and tables, with plans for {@code heads}. */
    public static Batch of(int[] rows, int[] start, int[][] tables, int heads) {
        int n = rows.length;
        int[] offset = new int[n];
        MlaMetadata[] plans = new MlaMetadata[n];
        int total = 0;
        int decoders = 0;
        int maxBlocks = 1;
        for (int i = 0; i < n; i++) {
            offset[i] = total;
            total += rows[i];
            if (rows[i] == 1) {
                decoders++;
                maxBlocks = Math.max(maxBlocks, tables[i].length);
            } else {
                plans[i] = FlashMla.metadata(new int[] {start[i] + rows[i]}, rows[i], heads);
            }
        }
        int[] group = new int[decoders];
        int[] table = new int[decoders * maxBlocks];
        int[] lengths = new int[decoders];
        for (int i = 0, g = 0; i < n; i++) {
            if (rows[i] == 1) {
                group[g] = i;
                System.arraycopy(tables[i], 0, table, g * maxBlocks, tables[i].length);
                lengths[g] = start[i] + 1;
                g++;
            }
        }
        MlaMetadata groupPlan = decoders == 0 ? null : FlashMla.metadata(lengths, 1, heads);
        return new Batch(offset, rows, start, tables, plans, group, table, lengths, groupPlan);
    }

    public int sequences() {
        return rows.length;
    }

    public int totalRows() {
        return rows.length == 0 ? 0 : offset[rows.length - 1] + rows[rows.length - 1];
    }

    @Override
    public String toString() {
        return "Batch[rows=" + Arrays.toString(rows) + ", decoders=" + decodeGroup.length + "]";
    }
}
