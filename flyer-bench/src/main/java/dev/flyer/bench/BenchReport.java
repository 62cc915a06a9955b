package dev.flyer.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The rows a bench command produced, as a text table and as JSON with the fields
 * {@code name, unit, ours, peer, peer_name, ratio, limit, pct_of_limit} (absent figures are
 * {@code null}).
 */
public final class BenchReport {
    private final String title;
    private final List<BenchRow> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    public BenchReport(String title) {
        this.title = title;
    }

    public void add(BenchRow row) {
        rows.add(row);
    }

    /** A line printed under the table (how to read it, what limited it). */
    public void note(String line) {
        notes.add(line);
    }

    public List<String> notes() {
        return List.copyOf(notes);
    }

    public List<BenchRow> rows() {
        return List.copyOf(rows);
    }

    /** Prints the table. */
    public void print(PrintStream out) {
        String[] header = {"benchmark", "unit", "ours", "peer", "peer name", "ours/peer", "limit", "% of limit"};
        List<String[]> cells = new ArrayList<>();
        cells.add(header);
        for (BenchRow r : rows) {
            cells.add(new String[] {r.name(), r.unit(), fmt(r.ours()), fmt(r.peer()), r.peerName(),
                fmt(r.ratio()), fmt(r.limit()), fmt(r.pctOfLimit())});
        }
        int[] width = new int[header.length];
        for (String[] row : cells) {
            for (int c = 0; c < row.length; c++) {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        out.println(title);
        for (int i = 0; i < cells.size(); i++) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < header.length; c++) {
                String cell = cells.get(i)[c];
                boolean left = c == 0 || c == 1 || c == 4;
                line.append(left ? String.format("%-" + width[c] + "s", cell) : String.format("%" + width[c] + "s", cell));
                line.append(c + 1 < header.length ? "  " : "");
            }
            out.println(line.toString().stripTrailing());
            if (i == 0) {
                out.println("-".repeat(line.toString().stripTrailing().length()));
            }
        }
        for (String note : notes) {
            out.println("note: " + note);
        }
    }

    /** Writes the rows as a JSON array. */
    public void writeJson(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ArrayNode array = json.createArrayNode();
        for (BenchRow r : rows) {
            ObjectNode o = array.addObject();
            o.put("name", r.name());
            o.put("unit", r.unit());
            number(o, "ours", r.ours());
            number(o, "peer", r.peer());
            o.put("peer_name", r.peerName().isEmpty() ? null : r.peerName());
            number(o, "ratio", r.ratio());
            number(o, "limit", r.limit());
            number(o, "pct_of_limit", r.pctOfLimit());
        }
        json.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), array);
    }

    private static void number(ObjectNode o, String field, double value) {
        if (Double.isFinite(value)) {
            o.put(field, value);
        } else {
            o.putNull(field);
        }
    }

    static String fmt(double v) {
        if (!Double.isFinite(v)) {
            return "-";
        }
        double a = Math.abs(v);
        return String.format(Locale.ROOT, a >= 1000 ? "%.0f" : a >= 100 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f", v);
    }
}
