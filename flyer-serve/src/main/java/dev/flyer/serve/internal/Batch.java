package dev.flyer.serve.internal;

import dev.flyer.mla.FlashMla;
import dev.flyer.mla.MlaMetadata;

/**
 * The rows of one forward call: sequence {@code i} contributes rows {@code offset[i] ..
 * offset[i] + rows[i]} at positions {@code start[i] ..}, over its block table {@code tables[i]}.
 * Projections run on all rows at once; attention runs per sequence, each with its own split-KV
 * plan (made once per call, reused by every layer).
 */
public record Batch(int[] offset, int[] rows, int[] start, int[][] tables, MlaMetadata[] plans) {
    /** A batch over the given per-sequence row counts, positions and tables, with plans for {@code heads}. */
    public static Batch of(int[] rows, int[] start, int[][] tables, int heads) {
        int[] offset = new int[rows.length];
        MlaMetadata[] plans = new MlaMetadata[rows.length];
        int total = 0;
        for (int i = 0; i < rows.length; i++) {
            offset[i] = total;
            total += rows[i];
            plans[i] = FlashMla.metadata(new int[] {start[i] + rows[i]}, rows[i], heads);
        }
        return new Batch(offset, rows, start, tables, plans);
    }

    public int sequences() {
        return rows.length;
    }

    public int totalRows() {
        return rows.length == 0 ? 0 : offset[rows.length - 1] + rows[rows.length - 1];
    }
}
