package dev.flyer.serve.internal;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The per-head products of the absorbed MLA: the nope query into the latent space through
 * {@code wkv_b}'s key half ({@code out[c] = Σ_i q[i] · W[i][c]}, rows of W contiguous), and the
 * latent output back through its value half ({@code Σ_c o[c] · W[e][c]}, core's {@code VectorOps.dot}).
 *
 * <p>Implementation notes: a sum of scaled rows, four channel vectors per pass; a scalar tail for
 * widths that are not whole vectors.
 */
final class Absorb {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private Absorb() {}

    /** {@code out[o .. o + width) = Σ_{i < rowsN} q[qo + i] · w[wo + i·width ..]}. */
    static void rows(float[] q, int qo, int rowsN, float[] w, int wo, int width, float[] out, int o) {
        int c = 0;
        for (; c + 4 * L <= width; c += 4 * L) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int i = 0, r = wo + c; i < rowsN; i++, r += width) {
                FloatVector s = FloatVector.broadcast(F, q[qo + i]);
                a0 = FloatVector.fromArray(F, w, r).fma(s, a0);
                a1 = FloatVector.fromArray(F, w, r + L).fma(s, a1);
                a2 = FloatVector.fromArray(F, w, r + 2 * L).fma(s, a2);
                a3 = FloatVector.fromArray(F, w, r + 3 * L).fma(s, a3);
            }
            a0.intoArray(out, o + c);
            a1.intoArray(out, o + c + L);
            a2.intoArray(out, o + c + 2 * L);
            a3.intoArray(out, o + c + 3 * L);
        }
        for (; c < width; c++) {
            float s = 0;
            for (int i = 0; i < rowsN; i++) {
                s += q[qo + i] * w[wo + i * width + c];
            }
            out[o + c] = s;
        }
    }
}
