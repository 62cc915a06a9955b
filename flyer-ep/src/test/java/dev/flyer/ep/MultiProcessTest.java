package dev.flyer.ep;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.dist.Launcher;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Ranks as real processes: four JVMs as two "nodes" of two (shared memory within, TCP across). */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MultiProcessTest {
    @Test
    void fourProcessesAsTwoNodes() throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), EpCheckMain.class.getName(), "2");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int status = Launcher.run(new Launcher.Options(4, 1, 0, null, 0), cmd,
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(status).as(out).isZero();
        for (int r = 0; r < 4; r++) {
            assertThat(out).contains("[rank " + r + "] rank " + r + " of 4 ep ok");
        }
        assertThat(out).contains("via tcp");
    }
}
