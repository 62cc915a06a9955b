package dev.flyer.dist;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Jobs of two "nodes" started by two launchers, as on two hosts: on loopback, and where the
 * machine allows it (root, iproute2) on two network namespaces joined by a veth pair, so the
 * ranks really are on different hosts as far as the network and the transport choice go.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MultiNodeTest {
    private static final String NS = "flyer-t" + ProcessHandle.current().pid();
    private static boolean namespaces;

    static List<String> rankCommand(String... prefix) {
        List<String> cmd = new ArrayList<>(List.of(prefix));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), DistCheckMain.class.getName()));
        return cmd;
    }

    static String runNodes(String master, int port, List<String> node0, List<String> node1) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            var a = pool.submit(() -> launch(new Launcher.Options(2, 2, 0, master, port), node0, out));
            var b = pool.submit(() -> launch(new Launcher.Options(2, 2, 1, master, port), node1, out));
            assertThat(a.get(150, TimeUnit.SECONDS)).as(bytes.toString(StandardCharsets.UTF_8)).isZero();
            assertThat(b.get(150, TimeUnit.SECONDS)).as(bytes.toString(StandardCharsets.UTF_8)).isZero();
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    static int launch(Launcher.Options o, List<String> cmd, PrintStream out) {
        try {
            return Launcher.run(o, cmd, out);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static int freePort() throws Exception {
        try (var s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void twoNodesOnLoopback() throws Exception {
        String out = runNodes("127.0.0.1", freePort(), rankCommand(), rankCommand());
        for (int r = 0; r < 4; r++) {
            assertThat(out).contains("[rank " + r + "] rank " + r + " of 4 ok");
        }
    }

    @Test
    void twoNodesOnNetworkNamespacesTalkTcp() throws Exception {
        Assumptions.assumeTrue(setUpNamespaces(), "network namespaces need root and iproute2");
        String out = runNodes("10.231.7.1", 29631, rankCommand("ip", "netns", "exec", NS + "a"),
                rankCommand("ip", "netns", "exec", NS + "b"));
        for (int r = 0; r < 4; r++) {
            assertThat(out).contains("[rank " + r + "] rank " + r + " of 4 ok");
        }
        assertThat(out).as("ranks 1 and 2 sit on different hosts").contains("[rank 1] rank 1 of 4 ok via tcp")
                .contains("[rank 0] rank 0 of 4 ok via shm");
    }

    private static boolean setUpNamespaces() {
        if (!System.getProperty("os.name").contains("Linux")) {
            return false;
        }
        String a = NS + "a";
        String b = NS + "b";
        String[][] steps = {
            {"ip", "netns", "add", a}, {"ip", "netns", "add", b},
            {"ip", "link", "add", NS + "va", "type", "veth", "peer", "name", NS + "vb"},
            {"ip", "link", "set", NS + "va", "netns", a}, {"ip", "link", "set", NS + "vb", "netns", b},
            {"ip", "-n", a, "addr", "add", "10.231.7.1/24", "dev", NS + "va"},
            {"ip", "-n", b, "addr", "add", "10.231.7.2/24", "dev", NS + "vb"},
            {"ip", "-n", a, "link", "set", NS + "va", "up"}, {"ip", "-n", b, "link", "set", NS + "vb", "up"},
            {"ip", "-n", a, "link", "set", "lo", "up"}, {"ip", "-n", b, "link", "set", "lo", "up"}};
        namespaces = true;
        for (String[] step : steps) {
            if (exec(step) != 0) {
                return false;
            }
        }
        return true;
    }

    private static int exec(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(20, TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    @AfterAll
    static void tearDown() {
        if (namespaces) {
            exec("ip", "netns", "del", NS + "a");
            exec("ip", "netns", "del", NS + "b");
        }
    }
}
