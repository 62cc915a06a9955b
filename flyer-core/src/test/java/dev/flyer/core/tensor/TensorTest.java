package dev.flyer.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TensorTest {
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close() {
        arena.close();
    }

    private Tensor iota(long... shape) {
        Tensor t = Tensor.allocate(arena, DType.F32, shape);
        float[] values = new float[(int) t.numel()];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        return Tensor.ofFloats(arena, values, shape);
    }

    @Test
    void contiguousLayoutAndAccessors() {
        Tensor t = iota(2, 3, 4);
        assertThat(t.strides()).containsExactly(12, 4, 1);
        assertThat(t.isContiguous()).isTrue();
        assertThat(t.getFloat(1, 2, 3)).isEqualTo(23f);
        t.setFloat(-1f, 0, 1, 0);
        assertThat(t.getFloat(0, 1, 0)).isEqualTo(-1f);
        assertThat(t.byteSize()).isEqualTo(96);
    }

    @Test
    void viewsShareMemoryAndNeverCopy() {
        Tensor t = iota(3, 4);
        Tensor tt = t.transpose(0, 1);
        assertThat(tt.shape()).containsExactly(4, 3);
        assertThat(tt.isContiguous()).isFalse();
        assertThat(tt.getFloat(3, 2)).isEqualTo(11f);
        Tensor row = t.select(0, 1);
        assertThat(row.toFloatArray()).containsExactly(4f, 5f, 6f, 7f);
        Tensor cols = t.narrow(1, 1, 2);
        assertThat(cols.toFloatArray()).containsExactly(1f, 2f, 5f, 6f, 9f, 10f);
        cols.setFloat(100f, 2, 1);
        assertThat(t.getFloat(2, 2)).as("write through a view").isEqualTo(100f);
        assertThat(tt.segment()).isSameAs(t.segment());
        Tensor r = t.reshape(2, -1);
        assertThat(r.shape()).containsExactly(2, 6);
        assertThat(r.getFloat(1, 4)).isEqualTo(100f);
    }

    @Test
    void copyAndContiguousMaterialiseStridedViews() {
        Tensor t = iota(3, 4);
        Tensor c = t.transpose(0, 1).contiguous(arena);
        assertThat(c.isContiguous()).isTrue();
        assertThat(c.segment()).isNotSameAs(t.segment());
        assertThat(c.toFloatArray()).containsExactly(0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11);
        assertThat(t.contiguous(arena)).isSameAs(t);
        assertThat(t.data().byteSize()).isEqualTo(48);
    }

    @Test
    void typedAccessorsConvertNarrowFormats() {
        Tensor b = Tensor.allocate(arena, DType.BF16, 2);
        b.setFloat(1.00390625f, 0); // halfway between 1 and 1+2^-7: ties to even 1.0
        assertThat(b.getFloat(0)).isEqualTo(1.0f);
        Tensor f8 = Tensor.allocate(arena, DType.F8_E4M3, 1);
        f8.setFloat(1000f, 0);
        assertThat(f8.getFloat(0)).isEqualTo(448f);
        Tensor h = Tensor.allocate(arena, DType.F16, 1);
        h.setFloat(0.1f, 0);
        assertThat(h.getFloat(0)).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(0.1f)));
        Tensor i = Tensor.allocate(arena, DType.U8, 1);
        i.setLong(255, 0);
        assertThat(i.getLong(0)).isEqualTo(255);
        assertThatThrownBy(() -> i.setLong(256, 0)).hasMessageContaining("does not fit U8");
        assertThatThrownBy(() -> i.setFloat(1f, 0)).hasMessageContaining("use setLong");
    }

    @Test
    void badShapesAndIndicesNameTheDimension() {
        Tensor t = iota(2, 3);
        assertThatThrownBy(() -> t.getFloat(0, 3)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("index 3 of dim 1");
        assertThatThrownBy(() -> t.getFloat(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected 2 indices");
        assertThatThrownBy(() -> t.narrow(0, 1, 2)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("dim 0");
        assertThatThrownBy(() -> t.transpose(0, 2)).hasMessageContaining("dim 2 is out of range for rank 2");
        assertThatThrownBy(() -> t.reshape(4, 2)).hasMessageContaining("cannot reshape 6 elements");
        assertThatThrownBy(() -> t.transpose(0, 1).reshape(6)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> Tensor.allocate(arena, DType.F32, 2, -1)).hasMessageContaining("dim 1 has negative size");
        assertThatThrownBy(() -> Tensor.wrap(arena.allocate(10), DType.F32, 3)).hasMessageContaining("needs 12");
        assertThatThrownBy(() -> Tensor.view(arena.allocate(16), DType.F32, new long[] {2, 2}, new long[] {2, 1}, 1))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("reaches byte 20");
    }

    @Test
    void toStringSummarises() {
        Tensor t = iota(2, 10);
        assertThat(t.toString()).startsWith("Tensor(F32, shape=[2, 10]) [[0.000, 1.000, 2.000, ..., 7.000, 8.000, 9.000], [");
        assertThat(t.transpose(0, 1).toString()).contains("strides=[1, 10]");
    }
}
