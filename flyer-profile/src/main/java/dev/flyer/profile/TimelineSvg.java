package dev.flyer.profile;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Draws a trace as an SVG timeline: annotation rows on top (nested annotations one row deeper,
 * labelled where they fit), then one lane per stream or worker with compute events in blue and
 * communication events in orange, a millisecond axis, a legend and the headline figures.
 *
 * <p>Implementation notes: times map linearly from the report window onto the plot width; events
 * narrower than a pixel are still drawn (0.5 px) so short kernels stay visible.
 */
public final class TimelineSvg {
    private static final int WIDTH = 1600;
    private static final int LEFT = 170;
    private static final int RIGHT = 20;
    private static final int ROW = 22;
    private static final String COMPUTE = "#4C78A8";
    private static final String COMM = "#F58518";

    private TimelineSvg() {}

    public static String render(Trace trace, OverlapReport report, OverlapAnalysis.Options options, String title) {
        Set<String> deviceCats = options.deviceCategories();
        Pattern comm = Pattern.compile(report.commPattern());
        List<Span> device = new ArrayList<>();
        List<Span> annotations = new ArrayList<>();
        for (Span s : trace.spans()) {
            if (deviceCats.contains(s.category())) {
                device.add(s);
            } else if (options.annotationCategories().contains(s.category())) {
                annotations.add(s);
            }
        }
        double t0 = device.stream().mapToDouble(Span::startUs).min().orElse(0);
        double span = Math.max(report.windowMs() * 1e3, 1e-9);
        double plot = WIDTH - LEFT - RIGHT;
        List<List<Span>> annotationRows = nest(annotations, t0, t0 + span);
        Map<String, Integer> laneRow = new LinkedHashMap<>();
        for (OverlapReport.LaneTime l : report.lanes()) {
            laneRow.put(l.lane(), laneRow.size());
        }
        int top = 70;
        int lanesTop = top + annotationRows.size() * ROW + 10;
        int height = lanesTop + laneRow.size() * ROW + 60;
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"11\">%n", WIDTH, height));
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">%s</text>%n", esc(title)));
        svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"40\">window %.3f ms · compute %.3f ms · communication %.3f ms"
                + " · overlapped %.3f ms (%.1f%%) · exposed communication %.3f ms · idle %.3f ms</text>%n",
                report.windowMs(), report.computeMs(), report.commMs(), report.overlapMs(), 100 * report.overlapRatio(),
                report.exposedCommMs(), report.idleMs()));
        legend(svg);
        for (int row = 0; row < annotationRows.size(); row++) {
            int y = top + row * ROW;
            svg.append(label(row == 0 ? "annotations" : "", y));
            for (Span a : annotationRows.get(row)) {
                double from = Math.max(a.startUs(), t0);
                double to = Math.min(a.endUs(), t0 + span);
                double x = LEFT + (from - t0) / span * plot;
                double w = Math.max(0.5, (to - from) / span * plot);
                svg.append(String.format(Locale.ROOT, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"#ddd\" "
                        + "stroke=\"#888\" stroke-width=\"0.5\"><title>%s %.3f ms</title></rect>%n", x, y, w, ROW - 4,
                        esc(a.name()), a.durationUs() / 1e3));
                if (w > 5.5 * a.name().length() + 4) {
                    svg.append(String.format(Locale.ROOT, "<text x=\"%.2f\" y=\"%d\" font-size=\"10\">%s</text>%n",
                            x + 2, y + ROW - 9, esc(a.name())));
                }
            }
        }
        for (OverlapReport.LaneTime l : report.lanes()) {
            int y = lanesTop + laneRow.get(l.lane()) * ROW;
            svg.append(label(l.label().isEmpty() ? l.lane() : l.label() + " (" + l.lane() + ")", y));
        }
        device.sort(Comparator.comparingDouble(Span::startUs));
        for (Span s : device) {
            int y = lanesTop + laneRow.get(s.lane()) * ROW;
            double x = LEFT + (s.startUs() - t0) / span * plot;
            double w = Math.max(0.5, s.durationUs() / span * plot);
            svg.append(String.format(Locale.ROOT, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\">"
                    + "<title>%s %.3f ms</title></rect>%n", x, y, w, ROW - 4, comm.matcher(s.name()).find() ? COMM : COMPUTE,
                    esc(shorten(s.name())), s.durationUs() / 1e3));
        }
        axis(svg, lanesTop + laneRow.size() * ROW + 5, span, plot);
        svg.append("</svg>\n");
        return svg.toString();
    }

    /** Rows of non-overlapping annotations: an annotation inside another goes one row deeper. */
    private static List<List<Span>> nest(List<Span> annotations, double from, double to) {
        annotations.sort(Comparator.comparingDouble(Span::startUs).thenComparingDouble(s -> -s.durationUs()));
        List<List<Span>> rows = new ArrayList<>();
        List<Double> rowEnd = new ArrayList<>();
        for (Span a : annotations) {
            if (a.endUs() < from || a.startUs() > to) {
                continue;
            }
            int row = 0;
            while (row < rows.size() && rowEnd.get(row) > a.startUs()) {
                row++;
            }
            if (row == rows.size()) {
                rows.add(new ArrayList<>());
                rowEnd.add(Double.NEGATIVE_INFINITY);
            }
            rows.get(row).add(a);
            rowEnd.set(row, a.endUs());
        }
        return rows;
    }

    private static void legend(StringBuilder svg) {
        svg.append(String.format("<rect x=\"%d\" y=\"48\" width=\"12\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"57\">compute</text>%n",
                LEFT, COMPUTE, LEFT + 16));
        svg.append(String.format("<rect x=\"%d\" y=\"48\" width=\"12\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"57\">communication</text>%n",
                LEFT + 80, COMM, LEFT + 96));
    }

    private static void axis(StringBuilder svg, int y, double spanUs, double plot) {
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>%n",
                LEFT, y, LEFT + plot, y));
        double spanMs = spanUs / 1e3;
        double step = Math.pow(10, Math.floor(Math.log10(spanMs / 10)));
        if (spanMs / step > 20) {
            step *= 5;
        } else if (spanMs / step > 10) {
            step *= 2;
        }
        for (double t = 0; t <= spanMs + 1e-9; t += step) {
            double x = LEFT + t / spanMs * plot;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>"
                    + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", x, y, x, y + 5, x, y + 18,
                    String.format(Locale.ROOT, step < 1 ? "%.2f" : "%.0f", t)));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\">ms</text>%n", LEFT + plot, y + 34));
    }

    private static String label(String text, int y) {
        return String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n", LEFT - 8, y + ROW - 9,
                esc(text));
    }

    private static String shorten(String name) {
        return name.length() > 160 ? name.substring(0, 157) + "..." : name;
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
