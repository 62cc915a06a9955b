package dev.flyer.core.tensor;

import dev.flyer.core.tensor.internal.Elements;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A strided n-dimensional view of typed elements in a {@link MemorySegment}.
 *
 * <p>Contract: a tensor is an immutable description (dtype, shape, strides in elements, offset
 * in elements) over memory it does not own; the {@link Arena} that made the segment owns it.
 * Views ({@link #narrow}, {@link #select}, {@link #transpose}, {@link #reshape}) share that memory
 * and never copy; only {@link #copy(Arena)} and {@link #contiguous(Arena)} allocate. Data are
 * little-endian and need no alignment (safetensors offsets are arbitrary). Bad dimensions or
 * indices throw {@link IllegalArgumentException} or {@link IndexOutOfBoundsException} naming the
 * dimension, the bound and the value.
 *
 * <p>Implementation notes: element {@code (i0..in)} sits at byte
 * {@code (offset + sum(i_d * stride_d)) * dtype.byteSize()} of {@link #segment()}; the
 * constructor checks that the largest such byte lies inside the segment, so every accessor is
 * in bounds once its indices are. Hot loops read {@link #segment()} directly with the offsets
 * from {@link #byteOffset(long...)} rather than through the boxed-free but varargs accessors.
 */
public final class Tensor {
    private final MemorySegment segment;
    private final DType dtype;
    private final long[] shape;
    private final long[] strides;
    private final long offset;

    private Tensor(MemorySegment segment, DType dtype, long[] shape, long[] strides, long offset) {
        this.segment = segment;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        checkFits();
    }

    /** A zero-filled contiguous tensor, 64-byte aligned, owned by {@code arena}. */
    public static Tensor allocate(Arena arena, DType dtype, long... shape) {
        long[] dims = checkShape(shape);
        MemorySegment memory = arena.allocate(Math.multiplyExact(numel(dims), dtype.byteSize()), 64);
        return new Tensor(memory, dtype, dims, contiguousStrides(dims), 0);
    }

    /** A contiguous tensor over exactly the bytes of {@code segment}. */
    public static Tensor wrap(MemorySegment segment, DType dtype, long... shape) {
        long[] dims = checkShape(shape);
        long bytes = Math.multiplyExact(numel(dims), dtype.byteSize());
        if (segment.byteSize() != bytes) {
            throw new IllegalArgumentException("segment holds " + segment.byteSize() + " bytes but "
                    + dtype + Arrays.toString(dims) + " needs " + bytes);
        }
        return new Tensor(segment, dtype, dims, contiguousStrides(dims), 0);
    }

    /** A tensor with explicit strides and offset (in elements) over {@code segment}. */
    public static Tensor view(MemorySegment segment, DType dtype, long[] shape, long[] strides, long offset) {
        long[] dims = checkShape(shape);
        if (strides.length != dims.length) {
            throw new IllegalArgumentException("strides has rank " + strides.length + " but shape has rank " + dims.length);
        }
        for (int d = 0; d < strides.length; d++) {
            if (strides[d] < 0) {
                throw new IllegalArgumentException("stride of dim " + d + " is negative: " + strides[d]);
            }
        }
        if (offset < 0) {
            throw new IllegalArgumentException("offset is negative: " + offset);
        }
        return new Tensor(segment, dtype, dims, strides.clone(), offset);
    }

    /** A contiguous F32 tensor holding a copy of {@code values}. */
    public static Tensor ofFloats(Arena arena, float[] values, long... shape) {
        Tensor t = allocate(arena, DType.F32, shape.length == 0 ? new long[] {values.length} : shape);
        if (t.numel() != values.length) {
            throw new IllegalArgumentException(values.length + " values do not fill shape " + Arrays.toString(shape));
        }
        MemorySegment.copy(values, 0, t.segment, Elements.F32, 0, values.length);
        return t;
    }

    public DType dtype() {
        return dtype;
    }

    public int rank() {
        return shape.length;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    /** A copy of the strides, in elements. */
    public long[] strides() {
        return strides.clone();
    }

    /** Size of dimension {@code dim} (negative counts from the end). */
    public long size(int dim) {
        return shape[checkDim(dim)];
    }

    /** Stride of dimension {@code dim} in elements. */
    public long stride(int dim) {
        return strides[checkDim(dim)];
    }

    /** Offset of element 0 in elements from the start of {@link #segment()}. */
    public long offset() {
        return offset;
    }

    /** The underlying memory (the whole of it, not only this view's elements). */
    public MemorySegment segment() {
        return segment;
    }

    public long numel() {
        return numel(shape);
    }

    /** Bytes of the elements this tensor covers ({@code numel * byteSize}). */
    public long byteSize() {
        return numel() * dtype.byteSize();
    }

    /** Whether the elements are laid out row-major without gaps. */
    public boolean isContiguous() {
        if (numel() == 0) {
            return true;
        }
        long expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && strides[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    /** The bytes of a contiguous tensor as their own segment (no copy). */
    public MemorySegment data() {
        if (!isContiguous()) {
            throw new IllegalStateException("tensor is not contiguous (shape " + Arrays.toString(shape)
                    + ", strides " + Arrays.toString(strides) + "); call contiguous(arena) first");
        }
        return segment.asSlice(offset * dtype.byteSize(), byteSize());
    }

    /** The view of {@code length} entries of {@code dim} starting at {@code start}. */
    public Tensor narrow(int dim, long start, long length) {
        int d = checkDim(dim);
        if (start < 0 || length < 0 || start + length > shape[d]) {
            throw new IndexOutOfBoundsException("narrow of dim " + d + " [" + start + ", " + (start + length)
                    + ") is outside [0, " + shape[d] + ")");
        }
        long[] dims = shape.clone();
        dims[d] = length;
        return new Tensor(segment, dtype, dims, strides, offset + start * strides[d]);
    }

    /** The view with dimension {@code dim} fixed at {@code index} (rank drops by one). */
    public Tensor select(int dim, long index) {
        int d = checkDim(dim);
        checkIndex(d, index);
        return new Tensor(segment, dtype, remove(shape, d), remove(strides, d), offset + index * strides[d]);
    }

    /** The view with dimensions {@code dim0} and {@code dim1} swapped. */
    public Tensor transpose(int dim0, int dim1) {
        int a = checkDim(dim0);
        int b = checkDim(dim1);
        long[] dims = shape.clone();
        long[] steps = strides.clone();
        dims[a] = shape[b];
        dims[b] = shape[a];
        steps[a] = strides[b];
        steps[b] = strides[a];
        return new Tensor(segment, dtype, dims, steps, offset);
    }

    /** The contiguous view with a new shape of the same element count; one entry may be -1. */
    public Tensor reshape(long... newShape) {
        if (!isContiguous()) {
            throw new IllegalStateException("reshape needs a contiguous tensor (strides "
                    + Arrays.toString(strides) + "); call contiguous(arena) first");
        }
        long[] dims = inferShape(newShape, numel());
        return new Tensor(segment, dtype, dims, contiguousStrides(dims), offset);
    }

    /** A contiguous copy in memory owned by {@code arena}. */
    public Tensor copy(Arena arena) {
        Tensor out = allocate(arena, dtype, shape);
        out.copyFrom(this);
        return out;
    }

    /** This tensor when contiguous, else a contiguous copy owned by {@code arena}. */
    public Tensor contiguous(Arena arena) {
        return isContiguous() ? this : copy(arena);
    }

    /** Copies {@code source}'s elements into this tensor (same dtype and shape). */
    public void copyFrom(Tensor source) {
        if (source.dtype != dtype || !Arrays.equals(source.shape, shape)) {
            throw new IllegalArgumentException("copyFrom needs " + dtype + Arrays.toString(shape) + ", got "
                    + source.dtype + Arrays.toString(source.shape));
        }
        int size = dtype.byteSize();
        if (isContiguous() && source.isContiguous()) {
            MemorySegment.copy(source.segment, source.offset * size, segment, offset * size, byteSize());
            return;
        }
        long[] index = new long[shape.length];
        for (long n = numel(), i = 0; i < n; i++) {
            MemorySegment.copy(source.segment, source.byteOffset(index), segment, byteOffset(index), size);
            increment(index);
        }
    }

    /** Byte offset of an element inside {@link #segment()}, after checking each index. */
    public long byteOffset(long... index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("expected " + shape.length + " indices, got " + index.length);
        }
        long element = offset;
        for (int d = 0; d < index.length; d++) {
            checkIndex(d, index[d]);
            element += index[d] * strides[d];
        }
        return element * dtype.byteSize();
    }

    /** The element as a float (any dtype). */
    public float getFloat(long... index) {
        return Elements.getFloat(dtype, segment, byteOffset(index));
    }

    /** Stores a float (floating dtypes; narrow formats round to nearest-even). */
    public void setFloat(float value, long... index) {
        Elements.setFloat(dtype, segment, byteOffset(index), value);
    }

    /** The element as a long (integer and bool dtypes). */
    public long getLong(long... index) {
        return Elements.getLong(dtype, segment, byteOffset(index));
    }

    /** Stores a long (integer and bool dtypes, range-checked). */
    public void setLong(long value, long... index) {
        Elements.setLong(dtype, segment, byteOffset(index), value);
    }

    /** All elements in row-major order as floats. */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        long[] index = new long[shape.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = Elements.getFloat(dtype, segment, elementByteOffset(index));
            increment(index);
        }
        return out;
    }

    /** A summary: dtype, shape, strides and the leading and trailing values. */
    @Override
    public String toString() {
        return TensorFormat.summary(this);
    }

    long elementByteOffset(long[] index) {
        long element = offset;
        for (int d = 0; d < index.length; d++) {
            element += index[d] * strides[d];
        }
        return element * dtype.byteSize();
    }

    void increment(long[] index) {
        for (int d = index.length - 1; d >= 0; d--) {
            if (++index[d] < shape[d]) {
                return;
            }
            index[d] = 0;
        }
    }

    private int checkDim(int dim) {
        int d = dim < 0 ? dim + shape.length : dim;
        if (d < 0 || d >= shape.length) {
            throw new IllegalArgumentException("dim " + dim + " is out of range for rank " + shape.length);
        }
        return d;
    }

    private void checkIndex(int dim, long index) {
        if (index < 0 || index >= shape[dim]) {
            throw new IndexOutOfBoundsException("index " + index + " of dim " + dim + " is outside [0, "
                    + shape[dim] + ") for shape " + Arrays.toString(shape));
        }
    }

    private void checkFits() {
        long last = offset;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 0) {
                return;
            }
            last += (shape[d] - 1) * strides[d];
        }
        long endByte = Math.multiplyExact(last + 1, (long) dtype.byteSize());
        if (endByte > segment.byteSize()) {
            throw new IndexOutOfBoundsException("tensor " + dtype + Arrays.toString(shape) + " with strides "
                    + Arrays.toString(strides) + " and offset " + offset + " reaches byte " + endByte
                    + " of a " + segment.byteSize() + "-byte segment");
        }
    }

    static long[] checkShape(long[] shape) {
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] < 0) {
                throw new IllegalArgumentException("dim " + d + " has negative size " + shape[d]
                        + " in shape " + Arrays.toString(shape));
            }
        }
        numel(shape);
        return shape.clone();
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n = Math.multiplyExact(n, s);
        }
        return n;
    }

    static long[] contiguousStrides(long[] shape) {
        long[] strides = new long[shape.length];
        long step = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            strides[d] = step;
            step *= Math.max(shape[d], 1);
        }
        return strides;
    }

    private static long[] inferShape(long[] requested, long count) {
        long[] dims = requested.clone();
        int inferred = -1;
        long known = 1;
        for (int d = 0; d < dims.length; d++) {
            if (dims[d] == -1 && inferred < 0) {
                inferred = d;
            } else if (dims[d] < 0) {
                throw new IllegalArgumentException("dim " + d + " of reshape " + Arrays.toString(requested)
                        + " is negative (only one -1 is allowed)");
            } else {
                known = Math.multiplyExact(known, dims[d]);
            }
        }
        if (inferred >= 0 && known != 0 && count % known == 0) {
            dims[inferred] = count / known;
            known = count;
        }
        if (known != count) {
            throw new IllegalArgumentException("cannot reshape " + count + " elements to " + Arrays.toString(requested));
        }
        return dims;
    }

    private static long[] remove(long[] values, int at) {
        long[] out = new long[values.length - 1];
        System.arraycopy(values, 0, out, 0, at);
        System.arraycopy(values, at + 1, out, at, values.length - at - 1);
        return out;
    }
}
