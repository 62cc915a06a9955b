package dev.flyer.gemm;

import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;

/** Transposes a K segment of a K-major FP8 operand ({@code [K, cols]}, 128x1 scales) into NT form ({@code [cols, K]}, 1x128 scales). */
final class KGrouped {
    private KGrouped() {}

    static QuantizedTensor transpose(QuantizedTensor q, long k0, int len, Arena arena) {
        long cols = q.values().size(1);
        Tensor values = Tensor.allocate(arena, DType.F8_E4M3, cols, len);
        Tensor scales = Tensor.allocate(arena, DType.F32, cols, len / 128);
        Tensor src = q.values();
        for (int kk = 0; kk < len; kk++) {
            for (long col = 0; col < cols; col++) {
                values.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, values.byteOffset(col, kk),
                        src.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, src.byteOffset(k0 + kk, col)));
            }
        }
        for (int kb = 0; kb < len / 128; kb++) {
            for (long col = 0; col < cols; col++) {
                scales.setFloat(q.scale(k0 + (long) kb * 128, col), col, kb);
            }
        }
        return new QuantizedTensor(values, scales, 1, 128);
    }
}
