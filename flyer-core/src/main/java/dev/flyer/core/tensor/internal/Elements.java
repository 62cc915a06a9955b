package dev.flyer.core.tensor.internal;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.numeric.Fp8Format;
import dev.flyer.core.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Reads and writes one element of any {@link DType} at a byte offset (little-endian, unaligned).
 */
public final class Elements {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    public static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(LE);
    public static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    public static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    public static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    public static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    private Elements() {}

    /** The element as a float (integers widen, exactly where they fit). */
    public static float getFloat(DType dtype, MemorySegment segment, long offsetBytes) {
        return switch (dtype) {
            case F32 -> segment.get(F32, offsetBytes);
            case F64 -> (float) segment.get(F64, offsetBytes);
            case BF16 -> Bf16.decode(segment.get(I16, offsetBytes));
            case F16 -> Float.float16ToFloat(segment.get(I16, offsetBytes));
            case F8_E4M3 -> Fp8Format.E4M3FN.decode(segment.get(I8, offsetBytes));
            case F8_E5M2 -> Fp8Format.E5M2.decode(segment.get(I8, offsetBytes));
            default -> getLong(dtype, segment, offsetBytes);
        };
    }

    /** Stores a float, rounding to nearest-even for the narrow float formats. */
    public static void setFloat(DType dtype, MemorySegment segment, long offsetBytes, float value) {
        switch (dtype) {
            case F32 -> segment.set(F32, offsetBytes, value);
            case F64 -> segment.set(F64, offsetBytes, value);
            case BF16 -> segment.set(I16, offsetBytes, Bf16.encode(value));
            case F16 -> segment.set(I16, offsetBytes, Float.floatToFloat16(value));
            case F8_E4M3 -> segment.set(I8, offsetBytes, Fp8Format.E4M3FN.encode(value));
            case F8_E5M2 -> segment.set(I8, offsetBytes, Fp8Format.E5M2.encode(value));
            default -> throw new IllegalArgumentException(
                    "setFloat needs a floating dtype, the tensor is " + dtype + "; use setLong");
        }
    }

    /** The element as a long; {@code U8} and {@code BOOL} are unsigned. */
    public static long getLong(DType dtype, MemorySegment segment, long offsetBytes) {
        return switch (dtype) {
            case BOOL, U8 -> segment.get(I8, offsetBytes) & 0xFF;
            case I8 -> segment.get(I8, offsetBytes);
            case I16 -> segment.get(I16, offsetBytes);
            case I32 -> segment.get(I32, offsetBytes);
            case I64 -> segment.get(I64, offsetBytes);
            default -> throw new IllegalArgumentException(
                    "getLong needs an integer dtype, the tensor is " + dtype + "; use getFloat");
        };
    }

    /** Stores a long, checking that it fits the integer dtype. */
    public static void setLong(DType dtype, MemorySegment segment, long offsetBytes, long value) {
        long min = switch (dtype) {
            case BOOL, U8, I64 -> dtype == DType.I64 ? Long.MIN_VALUE : 0;
            case I8 -> Byte.MIN_VALUE;
            case I16 -> Short.MIN_VALUE;
            case I32 -> Integer.MIN_VALUE;
            default -> throw new IllegalArgumentException(
                    "setLong needs an integer dtype, the tensor is " + dtype + "; use setFloat");
        };
        long max = switch (dtype) {
            case BOOL -> 1;
            case U8 -> 255;
            case I8 -> Byte.MAX_VALUE;
            case I16 -> Short.MAX_VALUE;
            case I32 -> Integer.MAX_VALUE;
            default -> Long.MAX_VALUE;
        };
        if (value < min || value > max) {
            throw new IllegalArgumentException("value " + value + " does not fit " + dtype
                    + " [" + min + ", " + max + "]");
        }
        switch (dtype) {
            case BOOL, U8, I8 -> segment.set(I8, offsetBytes, (byte) value);
            case I16 -> segment.set(I16, offsetBytes, (short) value);
            case I32 -> segment.set(I32, offsetBytes, (int) value);
            default -> segment.set(I64, offsetBytes, value);
        }
    }
}
