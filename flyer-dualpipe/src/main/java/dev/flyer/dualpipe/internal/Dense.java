package dev.flyer.dualpipe.internal;

import dev.flyer.core.exec.ComputePool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float32 matrix products of the trainer's MLP stages, row-major, split over rows on the
 * shared compute pool.
 *
 * <p>Implementation notes: every output element is computed by one thread with a fixed loop and
 * lane order (no {@code reduceLanes}, whose order may change with compilation), so results do not
 * depend on how rows are split or on the JIT: the pipeline and the sequential
 * reference produce bit-identical forwards. These are plain kernels for the trainer's small
 * stages, not flyer-gemm's.
 */
public final class Dense {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int ROWS_PER_TILE = 4;

    private Dense() {}

    /** {@code c[m,n] = a[m,k] * b[n,k]^T} (a linear layer with weight {@code b}). */
    public static void nt(float[] a, float[] b, float[] c, int m, int n, int k) {
        ComputePool.shared().parallelFor(tiles(m), (tile, w) -> {
            float[] lanes = new float[F.length()];
            for (int i = tile * ROWS_PER_TILE; i < Math.min(m, (tile + 1) * ROWS_PER_TILE); i++) {
                for (int j = 0; j < n; j++) {
                    c[i * n + j] = dot(a, i * k, b, j * k, k, lanes);
                }
            }
        });
    }

    /** {@code c[m,n] = a[m,k] * b[k,n]} (the input gradient of a linear layer). */
    public static void nn(float[] a, float[] b, float[] c, int m, int n, int k) {
        ComputePool.shared().parallelFor(tiles(m), (tile, w) -> {
            for (int i = tile * ROWS_PER_TILE; i < Math.min(m, (tile + 1) * ROWS_PER_TILE); i++) {
                java.util.Arrays.fill(c, i * n, i * n + n, 0f);
                for (int p = 0; p < k; p++) {
                    axpy(a[i * k + p], b, p * n, c, i * n, n);
                }
            }
        });
    }

    /** {@code c[m,n] += a[k,m]^T * b[k,n]} (the weight gradient of a linear layer). */
    public static void tnAccumulate(float[] a, float[] b, float[] c, int m, int n, int k) {
        ComputePool.shared().parallelFor(tiles(m), (tile, w) -> {
            for (int i = tile * ROWS_PER_TILE; i < Math.min(m, (tile + 1) * ROWS_PER_TILE); i++) {
                for (int p = 0; p < k; p++) {
                    axpy(a[p * m + i], b, p * n, c, i * n, n);
                }
            }
        });
    }

    private static int tiles(int rows) {
        return (rows + ROWS_PER_TILE - 1) / ROWS_PER_TILE;
    }

    /**
     * Dot product; the lanes are summed in index order by hand because {@code reduceLanes(ADD)}
     * may sum in a different order once JIT-compiled than when interpreted.
     */
    private static float dot(float[] x, int xOff, float[] y, int yOff, int len, float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= len - F.length(); i += F.length()) {
            acc = FloatVector.fromArray(F, x, xOff + i).fma(FloatVector.fromArray(F, y, yOff + i), acc);
        }
        acc.intoArray(lanes, 0);
        float sum = 0;
        for (float lane : lanes) {
            sum += lane;
        }
        for (; i < len; i++) {
            sum = Math.fma(x[xOff + i], y[yOff + i], sum);
        }
        return sum;
    }

    private static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int len) {
        FloatVector a = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (; i <= len - F.length(); i += F.length()) {
            FloatVector.fromArray(F, x, xOff + i).fma(a, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            y[yOff + i] = Math.fma(alpha, x[xOff + i], y[yOff + i]);
        }
    }
}
