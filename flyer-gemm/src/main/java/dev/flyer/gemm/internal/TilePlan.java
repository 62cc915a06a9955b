package dev.flyer.gemm.internal;

/**
 * Which kernel runs an FP8-B product and how its columns are cut into tiles, chosen from
 * (m, n, k, threads) the way DeepGEMM chooses a configuration: deterministically, from the shape.
 *
 * <p>Implementation notes. Kernel: {@link SkinnyKernel} (B decoded row by row, never packed) up
 * to 32 rows, and up to {@link SkinnyKernel#MAX_ROWS} while A's rows (FP32) fit in half a core's
 * L2; otherwise {@link PanelKernel} over packed 32-column panels. Measured on the 2-core Zen 5
 * machine (GFLOP/s, best of 60 calls, two runs; skinny / panel): m = 20, 24, 32 at k = 7168
 * 110-117 / 61-65, 106-127 / 71-76, 116-127 / 84-85; m = 32 at k = 2048 123-127 / 97-98; m = 48
 * at k = 2048 122-137 / 122-124; m = 64 at k = 2048 128-131 / 139-153 and at k = 7168 102 / 122.
 * Tile width: the skinny kernels cut n into tiles of {@code w} columns, w in {16, 8, 4, 2}
 * (2 is the smallest the two-column kernel uses); each tile costs about w, so the plan takes
 * the w with the least {@code waves(w) * min(w, n)}, where {@code waves = ceil(ceil(n / w) / threads)},
 * widest on ties. On 2 threads that is always 16 (any w divides the work evenly); on 64
 * threads n = 576 gets 2-column tiles instead of 36 tiles for 64 workers.
 * When 16 is the best width, tiles are then widened in steps of 16 to about
 * {@link #TILES_PER_THREAD} per thread (a late tile costs at most 1/16 of the call): two threads
 * claiming neighbouring 16-column tiles (32 KiB of B at k = 2048) each jump over the other's tile, and the hardware prefetchers of both cores run
 * into the tile the other core reads. Measured on the 2-core machine, m = 1, n = 65536, k = 2048
 * from DRAM: 16 columns 21-22 GB/s of codes on two threads (no more than one thread alone), 64
 * columns 37, 512 columns 41. With 4, 8 and 16 tiles per thread (one process each, shapes
 * m = 1/4/16 from L3 and DRAM, FP8 and BF16) 16 was as fast as any on every shape: m = 1 from DRAM
 * 20 -> 40 GB/s, the BF16 head (n = 102400, k = 2048) 49 -> 62, m = 16 n = 2112 110 -> 118 GFLOP/s.
 */
public record TilePlan(boolean skinny, int tileCols) {
    /** A's rows (FP32) the skinny kernel keeps in L2, in bytes: half of 1 MiB. */
    static final long A_BYTES_IN_L2 = 512 * 1024;
    private static final int[] WIDTHS = {16, 8, 4, 2};
    /** About how many tiles each thread gets when tiles are widened past their narrowest width. */
    static final int TILES_PER_THREAD = 16;

    /** The plan for an FP8-B product of {@code m} rows, {@code n} columns, depth {@code k} on {@code threads}. */
    public static TilePlan choose(int m, int n, int k, int threads) {
        boolean skinny = m <= 32 || (m <= SkinnyKernel.MAX_ROWS && 4L * m * k <= A_BYTES_IN_L2);
        return new TilePlan(skinny, skinny ? tileCols(n, threads) : PanelKernel.PANEL);
    }

    /**
     * The tile width with the fewest column-waves times width, widest on ties; when that is 16, the
     * multiple of 16 that cuts n into about {@link #TILES_PER_THREAD} tiles per thread.
     */
    static int tileCols(int n, int threads) {
        int narrow = narrowCols(n, threads);
        if (narrow < WIDTHS[0]) {
            return narrow;
        }
        return widened(n, WIDTHS[0], threads);
    }

    /**
     * The width, a multiple of {@code minCols} and at least that, that cuts {@code n} columns into
     * about {@link #TILES_PER_THREAD} tiles for each of {@code threads}.
     */
    public static int widened(int n, int minCols, int threads) {
        int tiles = threads * TILES_PER_THREAD;
        int cols = (n + tiles - 1) / tiles;
        return Math.max(minCols, (cols + minCols - 1) / minCols * minCols);
    }

    private static int narrowCols(int n, int threads) {
        int best = WIDTHS[0];
        long bestCost = Long.MAX_VALUE;
        for (int w : WIDTHS) {
            long tiles = (n + w - 1) / w;
            long waves = (tiles + threads - 1) / threads;
            long cost = waves * Math.min(w, n);
            if (cost < bestCost) {
                bestCost = cost;
                best = w;
            }
        }
        return best;
    }
}
