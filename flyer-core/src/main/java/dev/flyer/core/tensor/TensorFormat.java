package dev.flyer.core.tensor;

import java.util.Arrays;
import java.util.Locale;

/** Renders a tensor's summary: header line, then at most 3 leading and 3 trailing entries per dimension. */
final class TensorFormat {
    private static final int EDGE = 3;

    private TensorFormat() {}

    static String summary(Tensor t) {
        StringBuilder out = new StringBuilder("Tensor(").append(t.dtype()).append(", shape=")
                .append(Arrays.toString(t.shape()));
        if (!t.isContiguous()) {
            out.append(", strides=").append(Arrays.toString(t.strides()));
        }
        out.append(")");
        if (t.numel() > 0) {
            out.append(' ');
            values(t, new long[t.rank()], 0, out);
        }
        return out.toString();
    }

    private static void values(Tensor t, long[] index, int dim, StringBuilder out) {
        if (dim == t.rank()) {
            out.append(format(t, index));
            return;
        }
        long n = t.shape()[dim];
        out.append('[');
        for (long i = 0; i < n; i++) {
            if (n > 2 * EDGE && i == EDGE) {
                out.append("..., ");
                i = n - EDGE;
            }
            index[dim] = i;
            values(t, index, dim + 1, out);
            if (i < n - 1) {
                out.append(", ");
            }
        }
        out.append(']');
    }

    private static String format(Tensor t, long[] index) {
        if (t.dtype().isFloating()) {
            return String.format(Locale.ROOT, "%.4g", t.getFloat(index));
        }
        return Long.toString(t.getLong(index));
    }
}
