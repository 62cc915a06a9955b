package dev.flyer.dualpipe;

import java.util.Locale;

/** The pipeline schedules Flyer builds. */
public enum Method {
    /** Bidirectional DualPipe: even ranks, two copies of the stages, chunks fed from both ends. */
    DUALPIPE,
    /** DualPipeV: the "cut-in-half" V-shape, each rank holds stages r and 2P-1-r. */
    DUALPIPEV,
    /** One-forward-one-backward. */
    ONE_F_ONE_B,
    /** Zero-bubble ZB-H1: 1F1B with weight gradients deferred to fill bubbles. */
    ZB1P;

    /** The CLI name: {@code dualpipe}, {@code dualpipev}, {@code 1f1b}, {@code zb1p}. */
    public String cliName() {
        return this == ONE_F_ONE_B ? "1f1b" : name().toLowerCase(Locale.ROOT);
    }

    public static Method fromCliName(String name) {
        for (Method m : values()) {
            if (m.cliName().equalsIgnoreCase(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown method \"" + name + "\"; expected dualpipe, dualpipev, 1f1b or zb1p");
    }

    /** Pipeline stages the schedule spans on {@code ranks} ranks. */
    public int stages(int ranks) {
        return this == DUALPIPEV ? 2 * ranks : ranks;
    }
}
