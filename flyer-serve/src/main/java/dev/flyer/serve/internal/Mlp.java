package dev.flyer.serve.internal;


/** The gated MLP {@code down(silu(gate(x)) · up(x))}: dense layers, experts and shared experts alike. */
public final class Mlp {
    private final Linear gate;
    private final Linear up;
    private final Linear down;

    public Mlp(Projections w, String prefix, int hidden, int intermediate) {
        gate = w.linear(prefix + ".gate_proj", intermediate, hidden);
        up = w.linear(prefix + ".up_proj", intermediate, hidden);
        down = w.linear(prefix + ".down_proj", hidden, intermediate);
    }

    /** The MLP of {@code rows} rows. */
    public float[] forward(float[] x, int rows) {
        float[] g = Rows.project(gate, x, rows);
        Rows.siluMul(g, Rows.project(up, x, rows));
        return Rows.project(down, g, rows);
    }
}
