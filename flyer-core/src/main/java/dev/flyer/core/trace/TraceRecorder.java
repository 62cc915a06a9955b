package dev.flyer.core.trace;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Records Chrome-trace events ({@code traceEvents}, {@code ph:"X"}, microsecond {@code ts} and
 * {@code dur}, {@code pid} = rank, {@code tid} = compute or communication worker) that Perfetto and
 * {@code chrome://tracing} open and flyer-profile analyses.
 *
 * <p>Contract: a {@link #disabled()} recorder does nothing and costs a field read per call; spans
 * from it are one shared no-op object. An enabled recorder is thread-safe: any thread may add
 * events while another writes the file (the writer takes a snapshot).
 *
 * <p>Implementation notes: events go to a lock-free queue as immutable records; times are
 * {@link System#nanoTime()} relative to the recorder's origin, written as microseconds with
 * nanosecond precision (three decimals). Typical use:
 * <pre>{@code
 * long t0 = trace.now();
 * ... work ...
 * trace.complete("attn(F)", "compute", TID_COMPUTE, t0, trace.now());
 * }</pre>
 */
public final class TraceRecorder {
    private static final TraceRecorder DISABLED = new TraceRecorder(false, 0);
    private static final Span NO_SPAN = () -> { };

    private final boolean enabled;
    private final int pid;
    private final long originNs;
    private final ConcurrentLinkedQueue<TraceEvent> events = new ConcurrentLinkedQueue<>();

    /** An open span; closing it records a complete event. */
    @FunctionalInterface
    public interface Span extends AutoCloseable {
        @Override
        void close();
    }

    private TraceRecorder(boolean enabled, int pid) {
        this.enabled = enabled;
        this.pid = pid;
        this.originNs = System.nanoTime();
    }

    /** The recorder that records nothing. */
    public static TraceRecorder disabled() {
        return DISABLED;
    }

    /** A recording recorder whose events carry {@code pid} (the rank). */
    public static TraceRecorder enabled(int pid) {
        return new TraceRecorder(true, pid);
    }

    public boolean isEnabled() {
        return enabled;
    }

    public int pid() {
        return pid;
    }

    /** Nanoseconds since the origin (0 when disabled, so callers pay no clock read). */
    public long now() {
        return enabled ? System.nanoTime() - originNs : 0;
    }

    /** Records a complete event from {@code startNs} to {@code endNs} (values of {@link #now()}). */
    public void complete(String name, String category, int tid, long startNs, long endNs) {
        if (enabled) {
            events.add(new TraceEvent(name, category, 'X', startNs, Math.max(0, endNs - startNs), pid, tid, null));
        }
    }

    /** As {@link #complete(String, String, int, long, long)} with {@code args}. */
    public void complete(String name, String category, int tid, long startNs, long endNs, Map<String, Object> args) {
        if (enabled) {
            events.add(new TraceEvent(name, category, 'X', startNs, Math.max(0, endNs - startNs), pid, tid, args));
        }
    }

    /** Opens a span that records a complete event when closed. */
    public Span span(String name, String category, int tid) {
        if (!enabled) {
            return NO_SPAN;
        }
        long start = now();
        return () -> complete(name, category, tid, start, now());
    }

    /** Names lane {@code tid} in viewers ({@code thread_name} metadata). */
    public void threadName(int tid, String name) {
        if (enabled) {
            events.add(new TraceEvent("thread_name", "__metadata", 'M', 0, 0, pid, tid, Map.of("name", name)));
        }
    }

    /** Names this recorder's process in viewers ({@code process_name} metadata). */
    public void processName(String name) {
        if (enabled) {
            events.add(new TraceEvent("process_name", "__metadata", 'M', 0, 0, pid, 0, Map.of("name", name)));
        }
    }

    /** A snapshot of the events so far, in start-time order (metadata first). */
    public List<TraceEvent> events() {
        List<TraceEvent> out = new ArrayList<>(events);
        out.sort(Comparator.comparing((TraceEvent e) -> e.phase() != 'M').thenComparingLong(TraceEvent::startNs));
        return out;
    }

    /** Writes the events as Chrome-trace JSON to {@code file}. */
    public void write(Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            write(out);
        }
    }

    /** Writes the events as Chrome-trace JSON ({@code {"traceEvents": [...]}}). */
    public void write(OutputStream out) throws IOException {
        writeJson(events(), out);
    }

    /** Writes any events (for example several ranks' merged) as Chrome-trace JSON. */
    public static void writeJson(List<TraceEvent> events, OutputStream out) throws IOException {
        try (JsonGenerator json = new JsonFactory().createGenerator(out, JsonEncoding.UTF8)) {
            json.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            json.writeStartObject();
            json.writeStringField("displayTimeUnit", "ms");
            json.writeArrayFieldStart("traceEvents");
            for (TraceEvent e : events) {
                writeEvent(json, e);
            }
            json.writeEndArray();
            json.writeEndObject();
        }
    }

    private static void writeEvent(JsonGenerator json, TraceEvent e) throws IOException {
        json.writeStartObject();
        json.writeStringField("name", e.name());
        json.writeStringField("cat", e.category());
        json.writeStringField("ph", String.valueOf(e.phase()));
        json.writeNumberField("pid", e.pid());
        json.writeNumberField("tid", e.tid());
        if (e.phase() == 'X') {
            json.writeFieldName("ts");
            json.writeNumber(micros(e.startNs()));
            json.writeFieldName("dur");
            json.writeNumber(micros(e.durationNs()));
        }
        if (!e.args().isEmpty()) {
            json.writeObjectFieldStart("args");
            for (Map.Entry<String, Object> a : e.args().entrySet()) {
                writeArg(json, a.getKey(), a.getValue());
            }
            json.writeEndObject();
        }
        json.writeEndObject();
    }

    private static void writeArg(JsonGenerator json, String key, Object value) throws IOException {
        json.writeFieldName(key);
        switch (value) {
            case Integer i -> json.writeNumber(i);
            case Long l -> json.writeNumber(l);
            case Double d -> json.writeNumber(d);
            case Float f -> json.writeNumber(f);
            case Boolean b -> json.writeBoolean(b);
            default -> json.writeString(String.valueOf(value));
        }
    }

    private static String micros(long ns) {
        long whole = ns / 1000;
        long frac = ns % 1000;
        return whole + "." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + frac;
    }
}
