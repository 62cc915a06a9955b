package dev.flyer.fs.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flyer.fs.mgmtd.MgmtdClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A local cluster of real processes ({@code flyer fs up}): one metadata server holding the KV (or a
 * KV service and a metadata server over it), a primary and a standby cluster manager, and N storage
 * servers, each a JVM running {@link FsServerMain} with its config under {@code DIR/conf} and its log
 * under {@code DIR/logs}.
 * {@code DIR/cluster.json} lists every process (role, id, pid, address, config, log) so operators
 * and tests can find and stop one; {@link #down} stops them all.
 */
public final class ProcessCluster {
    /** One process of the cluster. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Member(String role, int id, long pid, String address, String config, String log) {}

    /** The contents of cluster.json. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Manifest(String mgmtd, List<Member> processes) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private ProcessCluster() {}

    public static Path manifestPath(Path dir) {
        return dir.resolve("cluster.json");
    }

    public static Manifest read(Path dir) throws IOException {
        Path f = manifestPath(dir);
        if (!Files.exists(f)) {
            throw new IOException("no cluster at " + dir + " (" + f + " does not exist; run flyer fs up --dir " + dir + ")");
        }
        return JSON.readValue(f.toFile(), Manifest.class);
    }

    public static void write(Path dir, Manifest m) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(manifestPath(dir).toFile(), m);
    }

    /** Starts the cluster with the KV held by the metadata process ({@link #up(Path, int, int, int, long, long, boolean, Consumer)}). */
    public static Manifest up(Path dir, int nodes, int targetsPerNode, int replicas, long heartbeatMs, long failureMs,
            Consumer<String> progress) throws IOException {
        return up(dir, nodes, targetsPerNode, replicas, heartbeatMs, failureMs, false, progress);
    }

    /**
     * Starts the cluster and returns its manifest (also written to DIR/cluster.json). With
     * {@code kvProcess} the KV runs as a process of its own (the FoundationDB stand-in, as 3FS
     * deploys it) and the metadata server reaches it over RPC; otherwise the metadata process
     * holds the KV ({@code DIR/kv}) and serves it to the managers, which saves the metadata path
     * its network hops: stat on 2 cores went 1.8k -> 7.6k/s with 4 client threads and 7.7k ->
     * 19.4k/s with 64 (15.9k and 30.2k once stat also ran on the I/O thread).
     */
    public static Manifest up(Path dir, int nodes, int targetsPerNode, int replicas, long heartbeatMs, long failureMs,
            boolean kvProcess, Consumer<String> progress) throws IOException {
        if (Files.exists(manifestPath(dir))) {
            throw new IllegalStateException("a cluster is already described by " + manifestPath(dir) + "; run flyer fs down --dir " + dir);
        }
        if (replicas < 1 || replicas > nodes || (nodes * targetsPerNode) % replicas != 0) {
            throw new IllegalArgumentException(nodes + " nodes x " + targetsPerNode + " targets cannot form chains of " + replicas
                    + " replicas on distinct nodes");
        }
        Files.createDirectories(dir.resolve("conf"));
        Files.createDirectories(dir.resolve("logs"));
        List<Member> members = new ArrayList<>();
        int kvPort = freePort();
        int[] mgmtdPorts = {freePort(), freePort()};
        try {
            List<String> mgmtd = List.of("127.0.0.1:" + mgmtdPorts[0], "127.0.0.1:" + mgmtdPorts[1]);
            String kv = "127.0.0.1:" + kvPort;
            String kvDir = dir.resolve("kv").toString();
            if (kvProcess) {
                progress.accept("kv service");
                members.add(start(dir, new NodeConfig("kv", 1, "127.0.0.1", kvPort, kvDir, null, null, null,
                        heartbeatMs, failureMs, 0, false)));
            } else { // the managers elect through the KV, so its holder starts first; it waits for them itself
                progress.accept("metadata server (holding the kv)");
                members.add(start(dir, new NodeConfig("meta", 1, "127.0.0.1", kvPort, kvDir, null, null, mgmtd,
                        heartbeatMs, failureMs, failureMs, false)));
            }
            for (int i = 0; i < mgmtd.size(); i++) {
                progress.accept("cluster manager " + (i + 1));
                members.add(start(dir, new NodeConfig("mgmtd", i + 1, "127.0.0.1", mgmtdPorts[i], null, null, kv, mgmtd,
                        heartbeatMs, failureMs, 0, false)));
            }
            MgmtdClient client = new MgmtdClient(mgmtd, TimeUnit.SECONDS.toNanos(5), TimeUnit.SECONDS.toNanos(60));
            List<NodeConfig> rest = new ArrayList<>();
            for (int n = 1; n <= nodes; n++) {
                List<String> targets = new ArrayList<>();
                for (int t = 0; t < targetsPerNode; t++) {
                    targets.add(dir.resolve("storage").resolve("node-" + n).resolve("target-" + t).toString());
                }
                rest.add(new NodeConfig("storage", n, "127.0.0.1", 0, null, targets, null, mgmtd, heartbeatMs, failureMs, 0, false));
            }
            if (kvProcess) {
                rest.add(new NodeConfig("meta", 1, "127.0.0.1", 0, null, null, kv, mgmtd, heartbeatMs, failureMs, failureMs, false));
            }
            progress.accept(nodes + " storage nodes" + (kvProcess ? " and the metadata server" : ""));
            members.addAll(startAll(dir, rest));
            client.initChains(nodes, targetsPerNode, replicas); // after the nodes run, so none starts out as failed
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (client.refresh().nodeAddresses().size() < nodes || client.routing().metaAddresses().isEmpty()) {
                if (System.nanoTime() > end) {
                    throw new IllegalStateException("cluster did not register all services within 60 s; see " + dir.resolve("logs"));
                }
                sleepMs(20);
            }
            Manifest m = new Manifest(String.join(",", mgmtd), members);
            write(dir, m);
            return m;
        } catch (IOException | RuntimeException e) { // a half-started cluster has no manifest, so down could not stop it
            stopAll(members);
            throw e;
        } finally {
            releasePort(kvPort);
            releasePort(mgmtdPorts[0]);
            releasePort(mgmtdPorts[1]);
        }
    }

    /** Starts several processes at once (JVM start-up dominates) and waits for all of them. */
    public static List<Member> startAll(Path dir, List<NodeConfig> configs) throws IOException {
        try (var ex = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<Member>> fs = new ArrayList<>();
            for (NodeConfig c : configs) {
                fs.add(ex.submit(() -> start(dir, c)));
            }
            List<Member> out = new ArrayList<>();
            java.util.concurrent.ExecutionException failed = null;
            for (var f : fs) {
                try {
                    out.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    failed = failed == null ? e : failed;
                }
            }
            if (failed != null) { // the ones that did start would outlive a failed start-up
                stopAll(out);
                throw failed;
            }
            return out;
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    /** Starts one process from {@code config} (written to DIR/conf) and waits for its READY line. */
    public static Member start(Path dir, NodeConfig config) throws IOException {
        String name = config.role() + "-" + config.id();
        Path conf = dir.resolve("conf").resolve(name + ".json");
        Path log = dir.resolve("logs").resolve(name + ".log");
        config.write(conf);
        Files.deleteIfExists(log);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED"));
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("flyer.fs.")).sorted()
                .forEach(k -> command.add("-D" + k + "=" + System.getProperty(k))); // -Dflyer.fs.directIo=false reaches the nodes
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), FsServerMain.class.getName(), conf.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        releasePort(config.port());
        Process p = pb.start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            String text = Files.exists(log) ? Files.readString(log) : "";
            int at = text.indexOf("READY ");
            if (at >= 0) {
                String line = text.substring(at, text.indexOf('\n', at) < 0 ? text.length() : text.indexOf('\n', at));
                String address = line.substring(line.lastIndexOf(' ') + 1).trim();
                Member member = new Member(config.role(), config.id(), p.pid(), address, conf.toString(), log.toString());
                recordRestart(dir, member);
                return member;
            }
            if (!p.isAlive() || System.nanoTime() > end) {
                p.destroyForcibly();
                throw new IllegalStateException(name + " did not start (exit " + (p.isAlive() ? "timeout" : p.exitValue())
                        + "); log " + log + ":\n" + tail(text));
            }
            sleepMs(20);
        }
    }

    /**
     * A process started into a running cluster (a restarted node) replaces its role and id's entry
     * in cluster.json, so {@link #down} stops it too; during {@link #up} there is no manifest yet.
     */
    private static synchronized void recordRestart(Path dir, Member member) throws IOException {
        if (!Files.exists(manifestPath(dir))) {
            return;
        }
        Manifest m = read(dir);
        List<Member> processes = new ArrayList<>();
        for (Member p : m.processes()) {
            if (!(p.role().equals(member.role()) && p.id() == member.id())) {
                processes.add(p);
            }
        }
        processes.add(member);
        write(dir, new Manifest(m.mgmtd(), processes));
    }

    /** Stops every process of the cluster at DIR and removes cluster.json; returns how many were running. */
    public static int down(Path dir) throws IOException {
        Manifest m = read(dir);
        int stopped = stopAll(m.processes());
        Files.delete(manifestPath(dir));
        return stopped;
    }

    /** Stops the processes (TERM, then KILL after 10 s) and returns how many were running. */
    private static int stopAll(List<Member> processes) {
        int stopped = 0;
        for (Member p : processes) {
            var h = ProcessHandle.of(p.pid());
            if (h.isPresent() && h.get().isAlive()) {
                h.get().destroy();
                stopped++;
            }
        }
        for (Member p : processes) {
            ProcessHandle.of(p.pid()).ifPresent(h -> {
                try {
                    h.onExit().get(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    h.destroyForcibly();
                }
            });
        }
        return stopped;
    }

    private static String tail(String text) {
        return text.length() > 4000 ? text.substring(text.length() - 4000) : text;
    }

    /**
     * Ports chosen for processes not started yet, held bound (not listening: a process that connects
     * early is refused and retries, as before) until just before their process starts. A port let go
     * at once could be taken meanwhile as the local port of some outgoing connection; the kernel
     * picks none that a socket is bound to.
     */
    private static final java.util.Map<Integer, java.net.Socket> RESERVED = new java.util.concurrent.ConcurrentHashMap<>();

    private static int freePort() {
        try {
            java.net.Socket s = new java.net.Socket();
            s.setReuseAddress(true);
            s.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0));
            RESERVED.put(s.getLocalPort(), s);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void releasePort(int port) {
        java.net.Socket s = RESERVED.remove(port);
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // a socket that was only bound has nothing to lose
            }
        }
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }
}
