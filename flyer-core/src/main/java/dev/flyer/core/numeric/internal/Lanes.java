package dev.flyer.core.numeric.internal;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species the bulk number-format kernels share.
 *
 * <p>Implementation notes: a conversion works on {@code FLOATS.length()} lanes at once; the
 * narrow side (16-bit BF16, 8-bit FP8/UE8M0) uses a species with the same lane count and a
 * half or quarter of the bit size, so one {@code castShape(..., 0)} moves every lane. When the
 * preferred shape is too small for a quarter-size byte species (128-bit vectors give 32-bit
 * byte vectors, which do not exist) {@link #BYTES} is {@code null} and the 8-bit kernels fall
 * back to their scalar loops.
 */
public final class Lanes {
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    public static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    public static final VectorSpecies<Integer> INTS =
            VectorSpecies.of(int.class, VectorShape.forBitSize(FLOATS.vectorBitSize()));
    public static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));
    public static final VectorSpecies<Byte> BYTES = byteSpecies();
    public static final int LANES = FLOATS.length();

    private Lanes() {}

    private static VectorSpecies<Byte> byteSpecies() {
        int bits = FLOATS.vectorBitSize() / 4;
        if (bits < 64) {
            return null;
        }
        VectorSpecies<Byte> species = VectorSpecies.of(byte.class, VectorShape.forBitSize(bits));
        return species.length() == FLOATS.length() ? species : null;
    }
}
