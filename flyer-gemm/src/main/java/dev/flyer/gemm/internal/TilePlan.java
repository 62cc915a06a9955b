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
 */
public record TilePlan(boolean skinny, int tileCols) {
    /** A's rows (FP32) the skinny kernel keeps in L2, in bytes: half of 1 MiB. */
    static final long A_BYTES_IN_L2 = 512 * 1024;
    private static final int[] WIDTHS = {16, 8, 4, 2};

    /** The plan for an FP8-B product of {@code m} rows, {@code n} columns, depth {@code k} on {@code threads}. */
    public static TilePlan choose(int m, int n, int k, int threads) {
        boolean skinny = m <= 32 || (m <= SkinnyKernel.MAX_ROWS && 4L * m * k <= A_BYTES_IN_L2);
        return new TilePlan(skinny, skinny ? tileCols(n, threads) : PanelKernel.PANEL);
    }

    /** The tile width with the fewest column-waves times width, widest on ties. */
    static int tileCols(int n, int threads) {
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
