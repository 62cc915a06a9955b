package dev.flyer.serve.internal;

import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.core.tensor.Tensor;

/** Checkpoint look-ups with the missing name in the error. */
public final class Weights {
    private Weights() {}

    /** The tensor {@code name}, or an {@link IllegalArgumentException} naming it. */
    public static Tensor require(SafeTensors st, String name) {
        if (!st.contains(name)) {
            throw new IllegalArgumentException("checkpoint lacks tensor " + name);
        }
        return st.get(name);
    }

    /** A 1-D tensor as floats, checked to have {@code size} entries. */
    public static float[] vector(SafeTensors st, String name, int size) {
        Tensor t = require(st, name);
        if (t.rank() != 1 || t.size(0) != size) {
            throw new IllegalArgumentException(name + " must have " + size + " entries, got "
                    + java.util.Arrays.toString(t.shape()));
        }
        return t.toFloatArray();
    }
}
