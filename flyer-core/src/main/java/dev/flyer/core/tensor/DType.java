package dev.flyer.core.tensor;

import java.util.Locale;

/**
 * Element types of tensors, named as safetensors names them.
 *
 * <p>{@link #F8_E4M3} is OCP E4M3FN and {@link #F8_E5M2} OCP E5M2 (see
 * {@link dev.flyer.core.numeric.Fp8Format}); {@link #BOOL} stores one byte per element.
 */
public enum DType {
    BOOL(1, false),
    U8(1, false),
    I8(1, false),
    I16(2, false),
    I32(4, false),
    I64(8, false),
    F16(2, true),
    BF16(2, true),
    F32(4, true),
    F64(8, true),
    F8_E4M3(1, true),
    F8_E5M2(1, true);

    private final int byteSize;
    private final boolean floating;

    DType(int byteSize, boolean floating) {
        this.byteSize = byteSize;
        this.floating = floating;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether elements are floating-point numbers. */
    public boolean isFloating() {
        return floating;
    }

    /** The safetensors name ({@code "F32"}, {@code "F8_E4M3"}, ...). */
    public String safetensorsName() {
        return name();
    }

    /**
     * The dtype a safetensors header names.
     *
     * @throws IllegalArgumentException naming the unknown dtype and the known ones
     */
    public static DType fromSafetensorsName(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown dtype \"" + name + "\"; expected one of "
                + java.util.Arrays.toString(values()).toUpperCase(Locale.ROOT));
    }
}
