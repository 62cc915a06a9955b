package dev.flyer.ep;

import dev.flyer.core.numeric.Fp8Format;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.ep.internal.Fp8Cast;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;

/**
 * Tokens cast to FP8 the way DeepEP casts them (per token, per 128 channels, {@code amax ≥ 1e-4},
 * scale {@code amax/448}, optionally a power of two): {@code values} F8_E4M3 {@code [T, hidden]}
 * and {@code scales} F32 {@code [T, hidden/128]}, the input of an FP8 normal dispatch.
 */
public record Fp8Tokens(Tensor values, Tensor scales) {
    /** Casts BF16 {@code x} ({@code [T, hidden]}, hidden a multiple of 128). */
    public static Fp8Tokens cast(Tensor x, boolean roundScale, Arena arena) {
        Checks.tokens(x, null, "x");
        if (x.dtype() != DType.BF16 || x.size(1) % 128 != 0) {
            throw new IllegalArgumentException("cast needs BF16 [T, hidden] with hidden % 128 == 0, got " + x.dtype()
                    + " hidden " + x.size(1));
        }
        int rows = (int) x.size(0);
        int hidden = (int) x.size(1);
        Tensor values = Tensor.allocate(arena, DType.F8_E4M3, rows, hidden);
        Tensor scales = Tensor.allocate(arena, DType.F32, rows, hidden / 128);
        for (int t = 0; t < rows; t++) {
            Fp8Cast.castRow(x.data(), (long) t * hidden * 2, hidden, values.data(), (long) t * hidden, scales.data(),
                    (long) t * hidden / 32, roundScale);
        }
        return new Fp8Tokens(values, scales);
    }

    /** The float values these codes and scales stand for, {@code [T * hidden]} row-major. */
    public float[] dequantize() {
        int rows = (int) values.size(0);
        int hidden = (int) values.size(1);
        float[] out = new float[rows * hidden];
        for (int t = 0; t < rows; t++) {
            for (int c = 0; c < hidden; c++) {
                byte code = values.data().get(ValueLayout.JAVA_BYTE, (long) t * hidden + c);
                out[t * hidden + c] = Fp8Format.E4M3FN.decode(code) * scales.getFloat(t, c / 128);
            }
        }
        return out;
    }
}
