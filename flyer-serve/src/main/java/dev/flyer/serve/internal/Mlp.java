package dev.flyer.serve.internal;

import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.serve.GemmImpl;

/** The gated MLP {@code down(silu(gate(x)) · up(x))}: dense layers, experts and shared experts alike. */
public final class Mlp {
    private final Linear gate;
    private final Linear up;
    private final Linear down;

    public Mlp(SafeTensors st, String prefix, int hidden, int intermediate, GemmImpl impl) {
        gate = Linear.load(st, prefix + ".gate_proj", intermediate, hidden, impl);
        up = Linear.load(st, prefix + ".up_proj", intermediate, hidden, impl);
        down = Linear.load(st, prefix + ".down_proj", hidden, intermediate, impl);
    }

    /** The MLP of {@code rows} rows. */
    public float[] forward(float[] x, int rows) {
        float[] g = Rows.project(gate, x, rows);
        Rows.siluMul(g, Rows.project(up, x, rows));
        return Rows.project(down, g, rows);
    }
}
