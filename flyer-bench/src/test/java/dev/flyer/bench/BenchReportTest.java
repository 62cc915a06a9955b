package dev.flyer.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchReportTest {
    @Test
    void tableAndJsonCarryOursPeerRatioAndLimit(@TempDir Path dir) throws Exception {
        BenchReport report = new BenchReport("t");
        report.add(new BenchRow("copy", "GB/s", 20, 25, "libc memcpy", 40));
        report.add(BenchRow.of("alone", "ms", 3));
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        report.print(new PrintStream(text, true, StandardCharsets.UTF_8));
        String table = text.toString(StandardCharsets.UTF_8);
        assertThat(table).contains("ours/peer").contains("libc memcpy").contains("0.800").contains("50.00");
        Path file = dir.resolve("r.json");
        report.writeJson(file);
        JsonNode rows = new ObjectMapper().readTree(file.toFile());
        JsonNode copy = rows.get(0);
        assertThat(copy.get("name").asText()).isEqualTo("copy");
        assertThat(copy.get("ratio").asDouble()).isEqualTo(0.8);
        assertThat(copy.get("pct_of_limit").asDouble()).isEqualTo(50.0);
        assertThat(copy.get("peer_name").asText()).isEqualTo("libc memcpy");
        JsonNode alone = rows.get(1);
        assertThat(alone.get("peer").isNull()).isTrue();
        assertThat(alone.get("pct_of_limit").isNull()).isTrue();
        assertThat(alone.has("limit")).isTrue();
    }

    @Test
    void quickMachineAndNumericsRunsProduceSaneRows() {
        BenchReport machine = MachineBench.run(new MachineBench.Options(4L << 20, 200_000L, new int[] {64},
                10_000_000L, 2), Progress.quiet());
        assertThat(machine.rows()).hasSizeGreaterThanOrEqualTo(6);
        for (BenchRow r : machine.rows()) {
            assertThat(r.ours()).as(r.name()).isPositive().isFinite();
        }
        assertThat(machine.rows().get(0).peerName()).isEqualTo("libc memcpy");
        assertThat(machine.rows().get(0).peer()).as("memcpy always exists").isPositive();
    }
}
