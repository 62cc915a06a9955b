package dev.flyer.bench.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Java side of the machine yardsticks: STREAM copy and triad over off-heap floats, and an
 * FMA loop with enough independent chains to reach the FMA units' throughput.
 */
public final class Kernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** FMA operations per {@link #fmaPeak(long)} iteration. */
    public static final int FMAS_PER_ITERATION = 12 * F.length();

    private Kernels() {}

    /** {@code a[i] = b[i]} for {@code count} floats from element {@code from}. */
    public static void copy(MemorySegment a, MemorySegment b, long from, long count) {
        long i = from;
        long end = from + count;
        long bound = from + count - count % F.length();
        for (; i < bound; i += F.length()) {
            FloatVector.fromMemorySegment(F, b, i * 4, LE).intoMemorySegment(a, i * 4, LE);
        }
        for (; i < end; i++) {
            a.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, b.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i));
        }
    }

    /** STREAM triad {@code a[i] = b[i] + s * c[i]}. */
    public static void triad(MemorySegment a, MemorySegment b, MemorySegment c, float s, long from, long count) {
        long i = from;
        long end = from + count;
        long bound = from + count - count % F.length();
        for (; i < bound; i += F.length()) {
            FloatVector cv = FloatVector.fromMemorySegment(F, c, i * 4, LE);
            cv.fma(FloatVector.broadcast(F, s), FloatVector.fromMemorySegment(F, b, i * 4, LE)).intoMemorySegment(a, i * 4, LE);
        }
        for (; i < end; i++) {
            var layout = java.lang.foreign.ValueLayout.JAVA_FLOAT;
            a.setAtIndex(layout, i, b.getAtIndex(layout, i) + s * c.getAtIndex(layout, i));
        }
    }

    /** 12 independent chains of {@code acc = acc * x + y}; returns a sum so nothing is dead code. */
    public static float fmaPeak(long iterations) {
        FloatVector x = FloatVector.broadcast(F, 0.999f);
        FloatVector y = FloatVector.broadcast(F, 0.001f);
        FloatVector a0 = FloatVector.broadcast(F, 0f), a1 = FloatVector.broadcast(F, 1f);
        FloatVector a2 = FloatVector.broadcast(F, 2f), a3 = FloatVector.broadcast(F, 3f);
        FloatVector a4 = FloatVector.broadcast(F, 4f), a5 = FloatVector.broadcast(F, 5f);
        FloatVector a6 = FloatVector.broadcast(F, 6f), a7 = FloatVector.broadcast(F, 7f);
        FloatVector a8 = FloatVector.broadcast(F, 8f), a9 = FloatVector.broadcast(F, 9f);
        FloatVector a10 = FloatVector.broadcast(F, 10f), a11 = FloatVector.broadcast(F, 11f);
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(x, y);
            a1 = a1.fma(x, y);
            a2 = a2.fma(x, y);
            a3 = a3.fma(x, y);
            a4 = a4.fma(x, y);
            a5 = a5.fma(x, y);
            a6 = a6.fma(x, y);
            a7 = a7.fma(x, y);
            a8 = a8.fma(x, y);
            a9 = a9.fma(x, y);
            a10 = a10.fma(x, y);
            a11 = a11.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
