package dev.flyer.dualpipe;

import java.util.Locale;

/**
 * Draws a simulated schedule like the DualPipe README's figure: one row per rank, one cell per
 * op placed at its simulated time, coloured by kind and labelled with the chunk's direction, idle
 * time left white.
 */
public final class ScheduleChart {
    private static final int LEFT = 70;
    private static final int ROW = 26;
    private static final int TOP = 50;

    private ScheduleChart() {}

    public static String svg(Simulation sim) {
        Schedule s = sim.schedule();
        double scale = Math.max(4, Math.min(40, 1400.0 / Math.max(sim.makespan(), 1e-9)));
        int width = LEFT + (int) Math.ceil(sim.makespan() * scale) + 20;
        int height = TOP + s.ranks() * ROW + 50;
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"10\">%n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n",
                width, height));
        out.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">%s, %d ranks, "
                + "%d chunks</text>%n", s.method().cliName(), s.ranks(), s.chunks()));
        Costs c = sim.costs();
        out.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"36\">F=%s B=%s W=%s F&amp;B=%s · makespan %s · bubble "
                + "per rank %s · peak activations %s</text>%n", num(c.forward()), num(c.backward()), num(c.weight()),
                num(c.forwardBackward()), num(sim.makespan()), java.util.Arrays.toString(sim.bubble()),
                java.util.Arrays.toString(sim.peakActivations())));
        for (int r = 0; r < s.ranks(); r++) {
            int y = TOP + r * ROW;
            out.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">rank %d</text>%n",
                    LEFT - 6, y + ROW / 2 + 4, r));
            for (Simulation.Timed t : sim.timeline().get(r)) {
                double x = LEFT + t.start() * scale;
                double w = (t.end() - t.start()) * scale;
                out.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\" "
                        + "stroke=\"white\" stroke-width=\"1\"><title>%s [%s, %s]</title></rect>%n", x, y, w, ROW - 4,
                        colour(t.op()), esc(t.op().toString()), num(t.start()), num(t.end())));
                if (w >= 6.0 * t.op().toString().length()) {
                    out.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"white\">%s</text>%n",
                            x + w / 2, y + ROW / 2 + 3, esc(t.op().toString())));
                }
            }
        }
        int legendY = TOP + s.ranks() * ROW + 20;
        String[][] legend = {{"forward", colour(Op.forward(0))}, {"backward", colour(Op.backward(0, false))},
            {"backward (inputs only)", colour(Op.backward(0, true))}, {"weight", colour(Op.weight())},
            {"overlapped F&B", colour(Op.forwardBackward(0, 1))}};
        int x = LEFT;
        for (String[] item : legend) {
            out.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>%n", x, legendY, item[1], x + 16, legendY + 9, esc(item[0])));
            x += 30 + 7 * item[0].length();
        }
        return out.append("</svg>\n").toString();
    }

    private static String colour(Op op) {
        return switch (op.kind()) {
            case F -> "#4C78A8";
            case B -> op.zeroBubble() ? "#72B7B2" : "#54A24B";
            case W -> "#B279A2";
            case FB -> "#F58518";
        };
    }

    private static String num(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.3g", v);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;");
    }
}
