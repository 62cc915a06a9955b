package dev.flyer.serve.internal;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The per-head products of the absorbed MLA: the nope query into the latent space through
 * {@code wkv_b}'s key half ({@code out[c] = Σ_i q[i] · W[i][c]}, rows of W contiguous), and the
 * latent output back through its value half ({@code Σ_c o[c] · W[e][c]}).
 *
 * <p>Implementation notes: the first is a sum of scaled rows, four channel vectors per pass; the
 * second a dot product with four accumulators; scalar tails for widths that are not whole vectors.
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

    /** {@code Σ_{c < n} a[ao + c] · b[bo + c]}. */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        int c = 0;
        for (; c + 4 * L <= n; c += 4 * L) {
            s0 = FloatVector.fromArray(F, a, ao + c).fma(FloatVector.fromArray(F, b, bo + c), s0);
            s1 = FloatVector.fromArray(F, a, ao + c + L).fma(FloatVector.fromArray(F, b, bo + c + L), s1);
            s2 = FloatVector.fromArray(F, a, ao + c + 2 * L).fma(FloatVector.fromArray(F, b, bo + c + 2 * L), s2);
            s3 = FloatVector.fromArray(F, a, ao + c + 3 * L).fma(FloatVector.fromArray(F, b, bo + c + 3 * L), s3);
        }
        float s = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        for (; c < n; c++) {
            s += a[ao + c] * b[bo + c];
        }
        return s;
    }
}
