package dev.flyer.profile;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.Locale;

/** Renders an {@link OverlapReport} as a text table or as JSON. */
public final class ReportWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ReportWriter() {}

    /** The human table. */
    public static void printTable(OverlapReport r, String title, PrintStream out) {
        int events = r.lanes().stream().mapToInt(OverlapReport.LaneTime::events).sum();
        out.printf(Locale.ROOT, "%s: %d device events on %d lanes, window %.3f ms%n", title, events, r.lanes().size(),
                r.windowMs());
        out.printf(Locale.ROOT, "communication = event names matching /%s/%n%n", r.commPattern());
        out.printf(Locale.ROOT, "  %-15s %10.3f ms  %5.1f%% of window%n", "compute", r.computeMs(), pct(r.computeMs(), r.windowMs()));
        out.printf(Locale.ROOT, "  %-15s %10.3f ms  %5.1f%% of window%n", "communication", r.commMs(), pct(r.commMs(), r.windowMs()));
        out.printf(Locale.ROOT, "  %-15s %10.3f ms  %5.1f%% of communication (overlap ratio %.4f)%n", "overlapped",
                r.overlapMs(), 100 * r.overlapRatio(), r.overlapRatio());
        out.printf(Locale.ROOT, "  %-15s %10.3f ms  %5.1f%% of window%n", "exposed comm", r.exposedCommMs(),
                pct(r.exposedCommMs(), r.windowMs()));
        out.printf(Locale.ROOT, "  %-15s %10.3f ms  %5.1f%% of window%n%n", "idle", r.idleMs(), pct(r.idleMs(), r.windowMs()));
        int width = Math.max(10, r.annotations().stream().mapToInt(a -> a.name().length()).max().orElse(10));
        out.printf(Locale.ROOT, "%-" + width + "s  %6s  %10s  %10s%n", "annotation", "events", "compute ms", "comm ms");
        for (OverlapReport.AnnotationTime a : r.annotations()) {
            out.printf(Locale.ROOT, "%-" + width + "s  %6d  %10.3f  %10.3f%n", a.name(), a.events(), a.computeMs(), a.commMs());
        }
        out.println();
        out.printf(Locale.ROOT, "%-12s %-14s %6s  %10s  %10s  %10s  %6s%n", "lane", "name", "events", "compute ms",
                "comm ms", "busy ms", "busy %");
        for (OverlapReport.LaneTime l : r.lanes()) {
            out.printf(Locale.ROOT, "%-12s %-14s %6d  %10.3f  %10.3f  %10.3f  %5.1f%%%n", l.lane(), l.label(), l.events(),
                    l.computeMs(), l.commMs(), l.busyMs(), pct(l.busyMs(), r.windowMs()));
        }
    }

    /** The JSON object: headline figures, then {@code annotations} and {@code lanes}. */
    public static ObjectNode toJson(OverlapReport r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("window_ms", r.windowMs());
        o.put("compute_ms", r.computeMs());
        o.put("comm_ms", r.commMs());
        o.put("overlap_ms", r.overlapMs());
        o.put("exposed_comm_ms", r.exposedCommMs());
        o.put("idle_ms", r.idleMs());
        o.put("overlap_ratio", r.overlapRatio());
        o.put("comm_pattern", r.commPattern());
        ArrayNode annotations = o.putArray("annotations");
        for (OverlapReport.AnnotationTime a : r.annotations()) {
            annotations.addObject().put("name", a.name()).put("events", a.events()).put("compute_ms", a.computeMs())
                    .put("comm_ms", a.commMs());
        }
        ArrayNode lanes = o.putArray("lanes");
        for (OverlapReport.LaneTime l : r.lanes()) {
            lanes.addObject().put("lane", l.lane()).put("name", l.label()).put("events", l.events())
                    .put("compute_ms", l.computeMs()).put("comm_ms", l.commMs()).put("busy_ms", l.busyMs());
        }
        return o;
    }

    public static String json(OverlapReport r) throws java.io.IOException {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson(r));
    }

    private static double pct(double part, double whole) {
        return whole == 0 ? 0 : 100 * part / whole;
    }
}
