package dev.flyer.mla.internal;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * One worker's scratch for an attention tile, reused across tiles and calls (no steady-state
 * allocation): grown on demand, never shrunk.
 *
 * <p>Implementation notes: layouts, with {@code R = ROWS} the row capacity of a tile and
 * {@code BLOCK = 64} the KV tokens of one page:
 * <pre>
 *   qt  [d][R]       queries transposed, pre-multiplied by the softmax scale (wide kernel)
 *   qn  [R][d]       queries row-major, scaled (narrow kernel, and wide tiles of one row vector;
 *                    in Bf16Pages' pair layout when {@code pairs})
 *   kb  [BLOCK][d]   the current block's keys as FP32 (MLA: V is kb's first dv channels)
 *   vb  [BLOCK][dv]  separate values (prefill's non-absorbed form)
 *   st  [BLOCK][R]   scores, then probabilities (wide);  [R][BLOCK] (narrow)
 *   ot  [R][dv]      unnormalised output (pair layout when {@code pairs})
 *   m, l, alpha [R]  running max, running sum, this block's rescale factor
 *   row [dv]         one finished output row
 * </pre>
 * Core's BF16/FP8 decoders write straight into the arrays (vector stores into heap segments are
 * not intrinsified, so the arrays are never wrapped as segments).
 */
public final class Workspace {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final int L = F.length();
    /** Rows of one wide tile: four vectors. */
    public static final int ROWS = 4 * L;
    /** Tokens per KV page, as in FlashMLA. */
    public static final int BLOCK = 64;

    private static final ThreadLocal<Workspace> LOCAL = ThreadLocal.withInitial(Workspace::new);

    float[] qt = new float[0];
    float[] qn = new float[0];
    float[] kb = new float[0];
    float[] vb = new float[0];
    final float[] st = new float[BLOCK * ROWS];
    float[] ot = new float[0];
    final float[] m = new float[ROWS];
    final float[] l = new float[ROWS];
    final float[] alpha = new float[ROWS];
    final int[] rowLimit = new int[ROWS];
    final int[] gathered = new int[BLOCK];
    float[] row = new float[0];
    float[] qRow = new float[0];
    int rows;
    int d;
    int dv;
    int nv;
    boolean narrow;
    boolean rowMajorQ;
    /** Narrow tile reading BF16 pages in place: qn and ot rows in Bf16Pages' pair layout. */
    boolean pairs;

    private Workspace() {}

    /** This thread's workspace, sized for key width {@code d} and value width {@code dv}. */
    public static Workspace local(int d, int dv) {
        Workspace w = LOCAL.get();
        w.ensure(d, dv);
        return w;
    }

    private void ensure(int d, int dv) {
        if (qt.length < d * ROWS) {
            qt = new float[d * ROWS];
            qn = new float[d * ROWS];
            kb = new float[BLOCK * d];
            qRow = new float[d];
        }
        if (ot.length < dv * ROWS) {
            ot = new float[dv * ROWS];
            vb = new float[BLOCK * dv];
            row = new float[dv];
        }
    }

    /** The current block's keys, {@code kb[j * d + i]}. */
    public float[] kb() {
        return kb;
    }

    /** The current block's separate values, {@code vb[j * dv + c]}. */
    public float[] vb() {
        return vb;
    }

    /** The finished output row written by {@link TileKernel#finishRow}. */
    public float[] row() {
        return row;
    }
}
