package dev.flyer.serve.internal;

import dev.flyer.core.quant.Fp8Quantizer;
import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.core.tensor.DType;
import dev.flyer.serve.GemmImpl;
import dev.flyer.serve.LoadOptions;
import java.lang.foreign.Arena;

/**
 * Makes the model's {@link Linear}s from a checkpoint under one {@link LoadOptions}: projections
 * follow the GEMM choice and, with {@code quantizeFp8}, BF16 ones are quantised per 128x128
 * block into memory this object owns; {@link #exact} ones (gate, head) are used as stored.
 */
public final class Projections implements AutoCloseable {
    private final SafeTensors st;
    private final LoadOptions options;
    private final Arena arena = Arena.ofShared();

    public Projections(SafeTensors st, LoadOptions options) {
        this.st = st;
        this.options = options;
    }

    public SafeTensors checkpoint() {
        return st;
    }

    /** A projection that may be FP8 (stored so, or quantised at load). */
    public Linear linear(String prefix, int out, int in) {
        Linear stored = Linear.load(st, prefix, out, in, options.gemm());
        if (!options.quantizeFp8() || stored.isFp8() || stored.weight().dtype() != DType.BF16) {
            return stored;
        }
        QuantizedTensor q = Fp8Quantizer.perBlock(stored.weight(), 128, false, arena);
        return Linear.of(prefix, q, options.gemm());
    }

    /** A projection used exactly as stored, never activation-quantised. */
    public Linear exact(String prefix, int out, int in) {
        return Linear.load(st, prefix, out, in, GemmImpl.BF16);
    }

    @Override
    public void close() {
        arena.close();
    }
}
