package dev.flyer.core.trace;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class TraceRecorderTest {
    @Test
    void writesChromeTraceJsonInMicroseconds() throws Exception {
        TraceRecorder trace = TraceRecorder.enabled(3);
        trace.threadName(1, "compute");
        trace.complete("attn(F)", "compute", 1, 1_500, 4_250, Map.of("mb", 0));
        try (var span = trace.span("dispatch(mb0)", "comm", 2)) {
            assertThat(span).isNotNull();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        trace.write(out);
        JsonNode root = new ObjectMapper().readTree(out.toByteArray());
        JsonNode events = root.get("traceEvents");
        assertThat(events.size()).isEqualTo(3);
        assertThat(events.get(0).get("ph").asText()).isEqualTo("M");
        JsonNode attn = events.get(1);
        assertThat(attn.get("name").asText()).isEqualTo("attn(F)");
        assertThat(attn.get("ph").asText()).isEqualTo("X");
        assertThat(attn.get("pid").asInt()).isEqualTo(3);
        assertThat(attn.get("tid").asInt()).isEqualTo(1);
        assertThat(attn.get("ts").asDouble()).isEqualTo(1.5);
        assertThat(attn.get("dur").asDouble()).isEqualTo(2.75);
        assertThat(attn.get("args").get("mb").asInt()).isEqualTo(0);
        assertThat(events.get(2).get("name").asText()).isEqualTo("dispatch(mb0)");
    }

    @Test
    void disabledRecorderRecordsNothing() {
        TraceRecorder off = TraceRecorder.disabled();
        assertThat(off.now()).isZero();
        off.complete("x", "c", 0, 0, 10);
        try (var s = off.span("y", "c", 0)) {
            assertThat(s).isSameAs(off.span("z", "c", 1));
        }
        assertThat(off.events()).isEmpty();
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void threadSafeUnderConcurrentRecording() throws Exception {
        TraceRecorder trace = TraceRecorder.enabled(0);
        Thread[] threads = new Thread[4];
        for (int i = 0; i < threads.length; i++) {
            int tid = i;
            threads[i] = Thread.ofPlatform().start(() -> {
                for (int k = 0; k < 5000; k++) {
                    long t0 = trace.now();
                    trace.complete("op", "compute", tid, t0, trace.now());
                }
            });
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(trace.events()).hasSize(20_000);
        assertThat(trace.events()).isSortedAccordingTo(java.util.Comparator.comparingLong(TraceEvent::startNs));
    }
}
