package dev.flyer.core.quant;

import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.util.Arrays;

/**
 * FP8 codes with one float32 scale per {@code groupRows x groupCols} tile: the value of element
 * {@code (i, j)} is {@code values[i, j] * scales[i / groupRows, j / groupCols]}.
 *
 * <p>Per-token groups are {@code 1 x 128} (activations, scales {@code [m, ceil(k/128)]}); blocks
 * are {@code 128 x 128} (weights, scales {@code [ceil(n/128), ceil(k/128)]}, the HF checkpoints'
 * {@code weight_scale_inv}). Edge groups may be partial. Scales are float32, or UE8M0 exponent bytes
 * (dtype {@code U8}) as DeepGEMM packs them for its newest kernels.
 */
public record QuantizedTensor(Tensor values, Tensor scales, int groupRows, int groupCols) {
    /** The scale of element {@code (row, col)}'s group. */
    public float scale(long row, long col) {
        long i = row / groupRows;
        long j = col / groupCols;
        return scales.dtype() == DType.U8 ? dev.flyer.core.numeric.Ue8m0.decode((byte) scales.getLong(i, j))
                : scales.getFloat(i, j);
    }

    /** A copy whose scales are UE8M0 exponents (each scale rounded up to a power of two). */
    public QuantizedTensor withUe8m0Scales(java.lang.foreign.Arena arena) {
        Tensor codes = Tensor.allocate(arena, DType.U8, scales.shape());
        for (long i = 0; i < scales.size(0); i++) {
            for (long j = 0; j < scales.size(1); j++) {
                codes.setLong(dev.flyer.core.numeric.Ue8m0.encodeCeil(scales.getFloat(i, j)) & 0xFF, i, j);
            }
        }
        return new QuantizedTensor(values, codes, groupRows, groupCols);
    }

    public QuantizedTensor {
        if (values.rank() != 2 || scales.rank() != 2) {
            throw new IllegalArgumentException("values and scales must be 2-D, got " + Arrays.toString(values.shape())
                    + " and " + Arrays.toString(scales.shape()));
        }
        if (values.dtype() != DType.F8_E4M3 && values.dtype() != DType.F8_E5M2) {
            throw new IllegalArgumentException("values must be F8_E4M3 or F8_E5M2, got " + values.dtype());
        }
        if (scales.dtype() != DType.F32 && scales.dtype() != DType.U8) {
            throw new IllegalArgumentException("scales must be F32 or U8 (UE8M0 exponents), got " + scales.dtype());
        }
        if (groupRows <= 0 || groupCols <= 0) {
            throw new IllegalArgumentException("group must be positive, got " + groupRows + "x" + groupCols);
        }
        long rows = Math.ceilDiv(values.size(0), groupRows);
        long cols = Math.ceilDiv(values.size(1), groupCols);
        if (scales.size(0) != rows || scales.size(1) != cols) {
            throw new IllegalArgumentException("scales for " + Arrays.toString(values.shape()) + " in "
                    + groupRows + "x" + groupCols + " groups must be [" + rows + ", " + cols + "], got "
                    + Arrays.toString(scales.shape()));
        }
    }
}
