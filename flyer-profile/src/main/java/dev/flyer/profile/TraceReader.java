package dev.flyer.profile;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Streams a Chrome-trace JSON file (the object form {@code {"traceEvents": [...], ...}} that the
 * PyTorch profiler and Flyer write, or the bare array form) into {@link Span}s.
 *
 * <p>Contract: events are read one at a time, so memory grows with the retained spans only, not
 * with the file's text; other top-level fields are skipped unread. A complete event without a
 * numeric {@code ts} or {@code dur}, or a file that is not such JSON, gives a
 * {@link TraceFormatException} naming the event index and field, or the line and column.
 */
public final class TraceReader {
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build()).build());

    private TraceReader() {}

    public static Trace read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        }
    }

    public static Trace read(InputStream in, String source) throws IOException {
        List<Span> spans = new ArrayList<>();
        Map<String, String> laneNames = new LinkedHashMap<>();
        long[] other = {0};
        try (JsonParser parser = JSON.createParser(in)) {
            JsonToken first = parser.nextToken();
            if (first == JsonToken.START_ARRAY) {
                readEvents(parser, source, spans, laneNames, other);
            } else if (first == JsonToken.START_OBJECT) {
                boolean found = false;
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String field = parser.currentName();
                    JsonToken value = parser.nextToken();
                    if (field.equals("traceEvents") && value == JsonToken.START_ARRAY) {
                        readEvents(parser, source, spans, laneNames, other);
                        found = true;
                    } else {
                        parser.skipChildren();
                    }
                }
                if (!found) {
                    throw new TraceFormatException(source + ": no \"traceEvents\" array in the trace object");
                }
            } else {
                throw new TraceFormatException(source + ": a Chrome trace is a JSON object or array, found " + first);
            }
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            var where = e.getLocation();
            throw new TraceFormatException(source + ": not valid JSON at line " + (where == null ? "?" : where.getLineNr())
                    + ", column " + (where == null ? "?" : where.getColumnNr()) + ": " + e.getOriginalMessage(), e);
        }
        return new Trace(spans, laneNames, other[0]);
    }

    private static void readEvents(JsonParser parser, String source, List<Span> spans, Map<String, String> laneNames,
                                   long[] other) throws IOException {
        long index = 0;
        while (parser.nextToken() != JsonToken.END_ARRAY) {
            if (parser.currentToken() != JsonToken.START_OBJECT) {
                throw new TraceFormatException(source + ": traceEvents[" + index + "] is not an object");
            }
            JsonNode e = parser.readValueAsTree();
            String ph = text(e.get("ph"));
            if ("X".equals(ph)) {
                spans.add(span(e, source, index));
            } else if ("M".equals(ph) && "thread_name".equals(text(e.get("name")))) {
                JsonNode args = e.get("args");
                laneNames.put(text(e.get("pid")) + ":" + text(e.get("tid")), args == null ? "" : text(args.get("name")).strip());
            } else {
                other[0]++;
            }
            index++;
        }
    }

    private static Span span(JsonNode e, String source, long index) throws TraceFormatException {
        String name = text(e.get("name"));
        String where = source + ": traceEvents[" + index + "]" + (name == null ? "" : " (\"" + name + "\")");
        if (name == null) {
            throw new TraceFormatException(where + " has ph \"X\" but no \"name\"");
        }
        double ts = number(e.get("ts"), where, "ts");
        double dur = number(e.get("dur"), where, "dur");
        if (dur < 0) {
            throw new TraceFormatException(where + " has a negative \"dur\": " + dur);
        }
        JsonNode args = e.get("args");
        JsonNode correlation = args == null ? null : args.get("correlation");
        return new Span(name, e.has("cat") ? text(e.get("cat")) : "", text(e.get("pid")), text(e.get("tid")), ts, dur,
                correlation != null && correlation.canConvertToLong() ? correlation.asLong() : -1);
    }

    private static double number(JsonNode v, String where, String field) throws TraceFormatException {
        if (v == null || !(v.isNumber() || (v.isTextual() && isNumeric(v.asText())))) {
            throw new TraceFormatException(where + " has ph \"X\" but no numeric \"" + field + "\"");
        }
        return v.isNumber() ? v.asDouble() : Double.parseDouble(v.asText());
    }

    private static boolean isNumeric(String s) {
        try {
            Double.parseDouble(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static String text(JsonNode v) {
        return v == null || v.isNull() ? null : v.asText();
    }
}
