package dev.flyer.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.flyer.core.trace.TraceRecorder;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class OverlapAnalysisTest {
    static Trace parse(String json) throws Exception {
        return TraceReader.read(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "test.json");
    }

    static String kernel(String name, int stream, double ts, double dur, long correlation) {
        return "{\"ph\":\"X\",\"cat\":\"kernel\",\"name\":\"" + name + "\",\"pid\":0,\"tid\":" + stream + ",\"ts\":" + ts
                + ",\"dur\":" + dur + ",\"args\":{\"correlation\":" + correlation + "}}";
    }

    static String cpu(String cat, String name, double ts, double dur, long correlation) {
        return "{\"ph\":\"X\",\"cat\":\"" + cat + "\",\"name\":\"" + name + "\",\"pid\":1166,\"tid\":1166,\"ts\":" + ts
                + ",\"dur\":" + dur + (correlation >= 0 ? ",\"args\":{\"correlation\":" + correlation + "}" : "") + "}";
    }

    /** Two streams, with a gap: every figure is known by hand. */
    static final String SYNTHETIC = "{\"traceEvents\":["
            + "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":7,\"args\":{\"name\":\"stream 7 \"}},"
            + cpu("user_annotation", "outer", 0, 100, -1) + ","
            + cpu("user_annotation", "attn(F)", 0, 4, -1) + ","
            + cpu("user_annotation", "dispatch(F)", 4, 2, -1) + ","
            + cpu("cuda_runtime", "cudaLaunchKernel", 1, 1, 1) + ","
            + cpu("cuda_runtime", "cudaLaunchKernel", 5, 1, 2) + ","
            + kernel("gemm", 7, 0, 10, 1) + ","
            + kernel("gemm_small", 7, 2, 3, 1) + ","
            + kernel("dpsk::ep::dispatch", 27, 5, 10, 2) + ","
            + kernel("dpsk::ep::combine", 27, 20, 5, -1) + ","
            + kernel("zero", 7, 30, 0, -1) + ","
            + "{\"ph\":\"i\",\"name\":\"marker\",\"ts\":3,\"pid\":\"\",\"tid\":\"\"}"
            + "],\"schemaVersion\":1}";

    @Test
    void syntheticTraceHasTheHandComputedFigures() throws Exception {
        OverlapReport r = OverlapAnalysis.analyze(parse(SYNTHETIC), OverlapAnalysis.Options.defaults());
        assertThat(r.commPattern()).isEqualTo(OverlapAnalysis.PYTORCH_COMM_PATTERN);
        assertThat(r.windowMs()).isCloseTo(0.030, within(1e-12));
        assertThat(r.computeMs()).as("[0,10) union nested [2,5)").isCloseTo(0.010, within(1e-12));
        assertThat(r.commMs()).isCloseTo(0.015, within(1e-12));
        assertThat(r.overlapMs()).isCloseTo(0.005, within(1e-12));
        assertThat(r.exposedCommMs()).isCloseTo(0.010, within(1e-12));
        assertThat(r.idleMs()).as("[15,20) and [25,30)").isCloseTo(0.010, within(1e-12));
        assertThat(r.overlapRatio()).isCloseTo(1.0 / 3, within(1e-12));
        assertThat(r.annotations()).extracting(OverlapReport.AnnotationTime::name)
                .containsExactly("attn(F)", "dispatch(F)", "outer");
        OverlapReport.AnnotationTime attn = r.annotations().get(0);
        assertThat(attn.events()).as("both gemms launched inside attn(F)").isEqualTo(2);
        assertThat(attn.computeMs()).isCloseTo(0.013, within(1e-12));
        OverlapReport.AnnotationTime dispatch = r.annotations().get(1);
        assertThat(dispatch.commMs()).as("dispatch kernel launched at 5, inside dispatch(F)").isCloseTo(0.010, within(1e-12));
        assertThat(r.annotations().get(2).commMs()).as("combine has no launch: contained by its own start").isCloseTo(0.005, within(1e-12));
        assertThat(r.lanes()).extracting(OverlapReport.LaneTime::lane).containsExactly("0:7", "0:27");
        assertThat(r.lanes().get(0).label()).isEqualTo("stream 7");
        assertThat(r.lanes().get(1).commMs()).isCloseTo(0.015, within(1e-12));
    }

    @Test
    void customPatternReclassifies() throws Exception {
        OverlapReport r = OverlapAnalysis.analyze(parse(SYNTHETIC),
                OverlapAnalysis.Options.defaults().withCommPattern("gemm_small"));
        assertThat(r.commMs()).isCloseTo(0.003, within(1e-12));
        assertThat(r.overlapMs()).isCloseTo(0.003, within(1e-12));
    }

    @Test
    void flyerWrittenTracesAreAnalysedWithFlyersPattern() throws Exception {
        TraceRecorder rec = TraceRecorder.enabled(0);
        rec.threadName(1, "compute");
        rec.threadName(2, "comm");
        rec.complete("mb0", "annotation", 0, 0, 40_000);
        rec.complete("attn(F)", "compute", 1, 0, 10_000);
        rec.complete("dispatch(mb0)", "comm", 2, 5_000, 20_000);
        rec.complete("mlp(F)", "compute", 1, 20_000, 30_000);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        rec.write(out);
        Trace trace = TraceReader.read(new ByteArrayInputStream(out.toByteArray()), "flyer");
        OverlapReport r = OverlapAnalysis.analyze(trace, OverlapAnalysis.Options.defaults());
        assertThat(r.commPattern()).isEqualTo(OverlapAnalysis.FLYER_COMM_PATTERN);
        assertThat(r.windowMs()).isCloseTo(0.030, within(1e-9));
        assertThat(r.commMs()).isCloseTo(0.015, within(1e-9));
        assertThat(r.overlapMs()).isCloseTo(0.005, within(1e-9));
        assertThat(r.annotations().get(0).name()).isEqualTo("mb0");
        assertThat(r.lanes()).extracting(OverlapReport.LaneTime::label).containsExactly("compute", "comm");
    }

    @Test
    void malformedTracesGiveClearErrors() {
        assertThatThrownBy(() -> parse("{\"traceEvents\": [ {\"ph\": \"X\", ")).isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("not valid JSON at line 1");
        assertThatThrownBy(() -> parse("{\"traceEvents\":[{\"ph\":\"X\",\"name\":\"k\",\"ts\":1}]}"))
                .isInstanceOf(TraceFormatException.class).hasMessageContaining("traceEvents[0] (\"k\") has ph \"X\" but no numeric \"dur\"");
        assertThatThrownBy(() -> parse("{\"traceEvents\":[{\"ph\":\"X\",\"ts\":1,\"dur\":2}]}"))
                .hasMessageContaining("no \"name\"");
        assertThatThrownBy(() -> parse("{\"events\":[]}")).hasMessageContaining("no \"traceEvents\" array");
        assertThatThrownBy(() -> parse("42")).hasMessageContaining("JSON object or array");
        assertThatThrownBy(() -> parse("{\"traceEvents\":[3]}")).hasMessageContaining("traceEvents[0] is not an object");
        assertThatThrownBy(() -> OverlapAnalysis.analyze(parse("[" + cpu("cpu_op", "x", 0, 1, -1) + "]"),
                OverlapAnalysis.Options.defaults())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no device or worker events");
    }

    @Test
    void svgIsWellFormedWithOneRectPerDeviceEvent() throws Exception {
        Trace trace = parse(SYNTHETIC);
        OverlapReport r = OverlapAnalysis.analyze(trace, OverlapAnalysis.Options.defaults());
        String svg = TimelineSvg.render(trace, r, OverlapAnalysis.Options.defaults(), "synthetic <test>");
        var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        assertThat(doc.getDocumentElement().getTagName()).isEqualTo("svg");
        assertThat(svg).contains("fill=\"#F58518\"").contains("fill=\"#4C78A8\"").contains("stream 7 (0:7)")
                .contains("synthetic &lt;test&gt;").contains(">attn(F)<");
        long rects = svg.lines().filter(l -> l.contains("<title>") && !l.contains("#ddd")).count();
        assertThat(rects).isEqualTo(5);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void deepSeeksTrainingTraceFigures() throws Exception {
        Path file = Path.of(System.getProperty("flyer.fixtures", "../../shared/fixtures")).resolve("profile/train.json");
        Assumptions.assumeTrue(Files.exists(file), "fixture at " + file);
        Trace trace = TraceReader.read(file);
        OverlapReport r = OverlapAnalysis.analyze(trace, OverlapAnalysis.Options.defaults());
        // reference figures from an independent Python computation over the same file
        assertThat(r.windowMs()).isCloseTo(129.012, within(1e-9));
        assertThat(r.computeMs()).isCloseTo(124.338, within(1e-9));
        assertThat(r.commMs()).isCloseTo(113.440, within(1e-9));
        assertThat(r.overlapMs()).isCloseTo(109.263, within(1e-9));
        assertThat(r.exposedCommMs()).isCloseTo(4.177, within(1e-9));
        assertThat(r.idleMs()).isCloseTo(0.497, within(1e-9));
        assertThat(r.lanes()).hasSize(3);
        assertThat(r.annotations().get(0)).isEqualTo(new OverlapReport.AnnotationTime("attn(B)", 404, 37.363, 0.0));
        assertThat(r.annotations()).extracting(OverlapReport.AnnotationTime::name).doesNotContain("(none)");
        int events = r.annotations().stream().mapToInt(OverlapReport.AnnotationTime::events).sum();
        assertThat(events).isEqualTo(983);
    }
}
