package dev.flyer.core.trace;

import java.util.Map;

/**
 * One Chrome-trace event: {@code ph} {@code 'X'} (complete, with duration) or {@code 'M'}
 * (metadata such as thread names). Times are nanoseconds from the recorder's origin; the JSON
 * writer converts them to the microseconds Chrome and Perfetto expect.
 */
public record TraceEvent(String name, String category, char phase, long startNs, long durationNs, int pid, int tid,
                         Map<String, Object> args) {
    public TraceEvent {
        args = args == null ? Map.of() : Map.copyOf(args);
    }

    /** End time in nanoseconds from the origin. */
    public long endNs() {
        return startNs + durationNs;
    }
}
