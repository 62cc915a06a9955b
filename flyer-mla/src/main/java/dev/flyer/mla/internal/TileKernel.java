package dev.flyer.mla.internal;

import static dev.flyer.mla.internal.Workspace.BLOCK;
import static dev.flyer.mla.internal.Workspace.F;
import static dev.flyer.mla.internal.Workspace.L;
import static dev.flyer.mla.internal.Workspace.ROWS;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Online-softmax attention for one tile of query rows against a stream of KV blocks: the CPU
 * version of FlashMLA's per-CTA main loop (deepseek-ai/FlashMLA {@code csrc/sm90/decode/dense/
 * splitkv_mla.cuh}: a block of 64 keys is loaded once and used by every query row of the tile).
 *
 * <p>Use: {@link #begin}, {@link #putQuery} for each row, set {@code rowLimit}, then
 * {@link #block} per KV block (keys in {@code w.kb}), then {@link #finishRow} per row.
 *
 * <p>Implementation notes: two shapes. <b>Wide</b> (more than {@value #NARROW_MAX} rows): rows
 * padded to 1, 2 or 4 vectors and kept transposed, so QKᵀ broadcasts one key element against
 * vectors of 16 query rows ({@code st[j][r]}), the softmax max/exp/sum run across rows as plain
 * vector ops (no horizontal reductions), and PV broadcasts one probability per row against
 * vectors of value channels into {@code ot[r][c]}. Register blocking: 6 keys x 4 row vectors (24
 * accumulators; 85 % of one core's FMA peak against 74 % for 4 x 4) for QKᵀ, 6 rows x 4 channel
 * vectors for PV (81 % against 70 %), channel slices outside row groups (the slice of V stays in
 * L1: 15 % faster than rows outside); 4 x 4 and single-key/row steps take the remainders. Tiles
 * of a single row vector compute QKᵀ as 4x4 dot products along d instead (a broadcast per FMA
 * would make them load-bound). <b>Narrow</b> (1-4
 * rows, the memory-bound decode): vectors run along the head dimension instead. Masked positions
 * (beyond a row's limit) get score -inf before any arithmetic; keys at or past {@code n} are
 * never touched, so garbage in unused cache slots cannot leak. A row that saw no key finishes
 * with out = 0 and LSE = +inf, as FlashMLA.
 */
public final class TileKernel {
    /** Tiles of at most this many rows use the narrow (vectors along d) kernel. */
    public static final int NARROW_MAX = 4;
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    private TileKernel() {}

    /** Starts a tile of {@code rows} query rows over keys of width {@code d} and values of width {@code dv}. */
    public static void begin(Workspace w, int rows, int d, int dv) {
        w.rows = rows;
        w.d = d;
        w.dv = dv;
        w.narrow = rows <= NARROW_MAX;
        w.pairs = false;
        w.nv = rows <= L ? 1 : rows <= 2 * L ? 2 : 4;
        w.rowMajorQ = w.narrow || (w.nv == 1 && d % L == 0);
        int padded = w.narrow ? rows : w.nv * L;
        Arrays.fill(w.m, 0, padded, NEG_INF);
        Arrays.fill(w.l, 0, padded, 0f);
        Arrays.fill(w.rowLimit, 0, ROWS, Integer.MAX_VALUE);
        Arrays.fill(w.ot, 0, rows * dv, 0f);
        if (!w.rowMajorQ) {
            Arrays.fill(w.qt, 0, d * ROWS, 0f);
        }
    }

    /** Row {@code r}'s query is {@code w.qRow[0..d)}; stored multiplied by {@code scale}. */
    public static void putQuery(Workspace w, int r, float scale) {
        int d = w.d;
        float[] q = w.qRow;
        if (w.pairs) {
            int base = r * d;
            for (int i = 0; i < d; i++) {
                w.qn[base + Bf16Pages.pairIndex(i)] = q[i] * scale;
            }
        } else if (w.rowMajorQ) {
            int base = r * d;
            for (int i = 0; i < d; i++) {
                w.qn[base + i] = q[i] * scale;
            }
        } else {
            for (int i = 0; i < d; i++) {
                w.qt[i * ROWS + r] = q[i] * scale;
            }
        }
    }

    /** Sets row {@code r}'s causal limit: it sees key positions {@code < limit}. */
    public static void limitRow(Workspace w, int r, int limit) {
        w.rowLimit[r] = limit;
    }

    /**
     * Attends every row to keys {@code w.kb[0..n)} at positions {@code blockPos..blockPos+n};
     * values are {@code v[j * vStride + c]} for {@code c < dv} ({@code w.kb} itself for MLA).
     */
    public static void block(Workspace w, int n, int blockPos, float[] v, int vStride) {
        if (n <= 0) {
            return;
        }
        if (w.narrow) {
            NarrowKernel.block(w, n, blockPos, v, vStride);
            return;
        }
        if (w.rowMajorQ) {
            dotScores(w, n);
        } else {
            scores(w, n);
        }
        mask(w, n, blockPos);
        softmax(w, n);
        products(w, n, v, vStride);
    }

    /**
     * Switches a tile just begun to {@link #blockBf16} (attending straight from BF16 cache pages) when
     * it can, and says whether it did: narrow tiles whose widths fit the pair layout (wide ones decode
     * the page once into {@code kb} and reuse it for all their rows). Call before {@link #putQuery}.
     */
    public static boolean readBf16InPlace(Workspace w) {
        w.pairs = w.narrow && Bf16Pages.fits(w.d, w.dv);
        return w.pairs;
    }

    /**
     * As {@link #block} over {@code n} contiguous BF16 tokens at {@code cache[offsetBytes]}, V = first
     * dv channels (tiles switched by {@link #readBf16InPlace}).
     */
    public static void blockBf16(Workspace w, java.lang.foreign.MemorySegment cache, long offsetBytes, int n, int blockPos) {
        if (n > 0) {
            Bf16Pages.attend(w, cache, offsetBytes, n, 0, 0, blockPos);
        }
    }

    /**
     * As {@link #blockBf16} over two pages at once: a whole page of 64 tokens at {@code offsetA}
     * (positions {@code blockPos..}) and {@code nB} tokens at {@code offsetB} (positions
     * {@code blockPos + 64..}), scored in one pass so two DRAM streams are in flight.
     */
    public static void twoBlocksBf16(Workspace w, java.lang.foreign.MemorySegment cache, long offsetA, long offsetB,
                                     int nB, int blockPos) {
        Bf16Pages.attend(w, cache, offsetA, BLOCK, offsetB, nB, blockPos);
    }

    /** Writes row {@code r}'s normalised output to {@code w.row()} and returns its natural-log LSE. */
    public static float finishRow(Workspace w, int r) {
        float sum = w.l[r];
        int dv = w.dv;
        if (sum == 0f || sum != sum) {
            Arrays.fill(w.row, 0, dv, 0f);
            return Float.POSITIVE_INFINITY;
        }
        float inv = 1f / sum;
        int o = r * dv;
        if (w.pairs) {
            for (int c = 0; c < dv; c++) {
                w.row[c] = w.ot[o + Bf16Pages.pairIndex(c)] * inv;
            }
        } else {
            for (int c = 0; c < dv; c++) {
                w.row[c] = w.ot[o + c] * inv;
            }
        }
        return w.m[r] + (float) Math.log(sum);
    }

    private static void scores(Workspace w, int n) {
        int j = 0;
        switch (w.nv) {
            case 4 -> {
                for (; j + 6 <= n; j += 6) {
                    WideProducts.qk6x4(w.qt, w.kb, w.d, j, w.st);
                }
                for (; j + 4 <= n; j += 4) {
                    WideProducts.qk4x4(w.qt, w.kb, w.d, j, w.st);
                }
            }
            case 2 -> {
                for (; j + 8 <= n; j += 8) {
                    WideProducts.qk8x2(w.qt, w.kb, w.d, j, w.st);
                }
            }
            default -> {
                for (; j + 8 <= n; j += 8) {
                    WideProducts.qk8x1(w.qt, w.kb, w.d, j, w.st);
                }
            }
        }
        for (; j < n; j++) {
            WideProducts.qk1(w.qt, w.kb, w.d, j, w.nv, w.st);
        }
    }

    private static void dotScores(Workspace w, int n) {
        int r = 0;
        for (; r + 4 <= w.rows; r += 4) {
            int j = 0;
            for (; j + 4 <= n; j += 4) {
                WideProducts.qkDot4x4(w.qn, w.kb, w.d, r, j, w.st);
            }
            for (; j < n; j++) {
                for (int i = r; i < r + 4; i++) {
                    WideProducts.qkDot1(w.qn, w.kb, w.d, i, j, w.st);
                }
            }
        }
        for (; r < w.rows; r++) {
            for (int j = 0; j < n; j++) {
                WideProducts.qkDot1(w.qn, w.kb, w.d, r, j, w.st);
            }
        }
    }

    private static void products(Workspace w, int n, float[] v, int vStride) {
        int dv = w.dv;
        if (dv % (4 * L) != 0) {
            WideProducts.pvScalar(w.ot, dv, w.alpha, w.st, v, vStride, n, w.rows);
            return;
        }
        int whole = w.rows & ~3;
        for (int c = 0; c < dv; c += 4 * L) {
            int r = 0;
            for (; r + 6 <= whole; r += 6) {
                WideProducts.pv6x4(w.ot, dv, w.alpha, w.st, v, vStride, n, r, c);
            }
            for (; r < whole; r += 4) {
                WideProducts.pv4x4(w.ot, dv, w.alpha, w.st, v, vStride, n, r, c);
            }
        }
        for (int r = whole; r < w.rows; r++) {
            WideProducts.pv1(w.ot, dv, w.alpha, w.st, v, vStride, n, r);
        }
    }

    private static void mask(Workspace w, int n, int blockPos) {
        int padded = w.nv * L;
        for (int r = 0; r < padded; r++) {
            int visible = w.rowLimit[r] - blockPos;
            for (int j = Math.max(visible, 0); j < n; j++) {
                w.st[j * ROWS + r] = NEG_INF;
            }
        }
    }

    private static void softmax(Workspace w, int n) {
        float[] st = w.st;
        for (int v = 0; v < w.nv; v++) {
            int o = v * L;
            FloatVector old = FloatVector.fromArray(F, w.m, o);
            FloatVector max = old;
            for (int j = 0; j < n; j++) {
                max = max.max(FloatVector.fromArray(F, st, j * ROWS + o));
            }
            VectorMask<Float> empty = max.compare(VectorOperators.EQ, NEG_INF);
            FloatVector base = max.blend(0f, empty);
            FloatVector alpha = old.sub(base).lanewise(VectorOperators.EXP);
            FloatVector sum = FloatVector.zero(F);
            for (int j = 0; j < n; j++) {
                FloatVector p = FloatVector.fromArray(F, st, j * ROWS + o).sub(base).lanewise(VectorOperators.EXP);
                p.intoArray(st, j * ROWS + o);
                sum = sum.add(p);
            }
            FloatVector.fromArray(F, w.l, o).mul(alpha).add(sum).intoArray(w.l, o);
            max.intoArray(w.m, o);
            alpha.intoArray(w.alpha, o);
        }
    }
}
