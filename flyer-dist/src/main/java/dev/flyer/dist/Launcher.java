package dev.flyer.dist;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts the local processes of a job with the environment {@link DistEnv} reads (torchrun
 * style), forwards their output with rank prefixes, and stops all of them when one fails.
 *
 * <p>Contract: {@link #run} returns 0 when every process exited 0, else the exit status of the
 * first process that failed (the others are terminated, then killed after a grace period). With
 * one node and no master given, the master is 127.0.0.1 on a free port.
 */
public final class Launcher {
    /**
     * Where the processes go.
     *
     * @param procsPerNode processes to start here
     * @param nodes nodes in the job
     * @param nodeRank this node's index
     * @param masterAddr rank 0's host (null: 127.0.0.1, single node only)
     * @param masterPort rank 0's store port (0: a free port, single node only)
     */
    public record Options(int procsPerNode, int nodes, int nodeRank, String masterAddr, int masterPort) {
        public Options {
            if (procsPerNode < 1) {
                throw new IllegalArgumentException("-n must be >= 1, got " + procsPerNode);
            }
            if (nodes < 1 || nodeRank < 0 || nodeRank >= nodes) {
                throw new IllegalArgumentException("node rank " + nodeRank + " is outside [0, " + nodes + ")");
            }
            if (nodes > 1 && (masterAddr == null || masterPort == 0)) {
                throw new IllegalArgumentException("a job of " + nodes + " nodes needs --master host:port");
            }
        }
    }

    private Launcher() {}

    public static int run(Options o, List<String> command, PrintStream out) throws IOException, InterruptedException {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("nothing to launch: give the command after --");
        }
        String addr = o.masterAddr() == null ? "127.0.0.1" : o.masterAddr();
        int port = o.masterPort() == 0 ? freePort() : o.masterPort();
        int world = o.procsPerNode() * o.nodes();
        List<Process> processes = new ArrayList<>();
        List<Thread> pumps = new ArrayList<>();
        try {
            for (int local = 0; local < o.procsPerNode(); local++) {
                int rank = o.nodeRank() * o.procsPerNode() + local;
                ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
                Map<String, String> env = pb.environment();
                env.put("RANK", Integer.toString(rank));
                env.put("WORLD_SIZE", Integer.toString(world));
                env.put("LOCAL_RANK", Integer.toString(local));
                env.put("LOCAL_WORLD_SIZE", Integer.toString(o.procsPerNode()));
                env.put("GROUP_RANK", Integer.toString(o.nodeRank()));
                env.put("MASTER_ADDR", addr);
                env.put("MASTER_PORT", Integer.toString(port));
                Process p = pb.start();
                processes.add(p);
                pumps.add(Thread.ofPlatform().daemon().name("flyer-launch-out-" + rank).start(() -> pump(p, rank, out)));
            }
            int status = waitAll(processes);
            for (Thread t : pumps) {
                t.join(2000);
            }
            return status;
        } finally {
            stopAll(processes);
        }
    }

    private static int waitAll(List<Process> processes) throws InterruptedException {
        List<Process> running = new ArrayList<>(processes);
        while (!running.isEmpty()) {
            for (Process p : List.copyOf(running)) {
                if (!p.isAlive()) {
                    running.remove(p);
                    if (p.exitValue() != 0) {
                        return p.exitValue();
                    }
                }
            }
            Thread.sleep(20);
        }
        return 0;
    }

    private static void stopAll(List<Process> processes) throws InterruptedException {
        processes.stream().filter(Process::isAlive).forEach(Process::destroy);
        long deadline = System.nanoTime() + 5_000_000_000L;
        for (Process p : processes) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !p.waitFor(left, java.util.concurrent.TimeUnit.NANOSECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    private static void pump(Process p, int rank, PrintStream out) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                synchronized (out) {
                    out.println("[rank " + rank + "] " + line);
                }
            }
        } catch (IOException ignored) {
            // the process ended
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
