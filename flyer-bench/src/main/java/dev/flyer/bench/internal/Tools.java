package dev.flyer.bench.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Finding and installing the command-line peers (iperf3, Open MPI) a bench compares against. */
public final class Tools {
    private Tools() {}

    public static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** {@code apt-get install -y} the packages (quietly; fails silently where not allowed). */
    public static void aptInstall(String... packages) {
        List<String> cmd = new ArrayList<>(List.of("apt-get", "install", "-y", "-qq"));
        cmd.addAll(List.of(packages));
        try {
            new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
                    .waitFor(300, TimeUnit.SECONDS);
        } catch (IOException e) {
            // not allowed or no apt: the caller reports the peer as missing
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
