package dev.flyer.bench.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's Open MPI doing {@code flyer bench ep}'s exchanges: {@code ep_mpi_peer.c} compiled with
 * {@code mpicc} into {@code ~/.cache/flyer/} (installed with apt-get when absent and allowed) and
 * run with {@code mpirun}, shared memory ({@code btl self,vader}) or TCP ({@code btl self,tcp}).
 */
public final class EpMpiPeer {
    /** One run's medians (seconds) and mean bytes received per rank. */
    public record Result(double dispatchSeconds, double combineSeconds, double dispatchBytes, double combineBytes) {}

    private static Optional<Path> binary;

    private EpMpiPeer() {}

    /** Runs the peer over {@code ranks} processes; empty when Open MPI is unavailable (reason on stderr). */
    public static Optional<Result> run(Path routingDir, String mode, int ranks, boolean tcp, int tokens, int hidden,
                                       int topk, int experts, int iters) {
        Optional<Path> exe = binary();
        if (exe.isEmpty()) {
            return Optional.empty();
        }
        List<String> cmd = new ArrayList<>(List.of("mpirun", "--allow-run-as-root", "--oversubscribe", "-np",
                Integer.toString(ranks), "--mca", "btl", tcp ? "self,tcp" : "self,vader"));
        if (tcp) {
            cmd.addAll(List.of("--mca", "btl_tcp_if_include", "lo"));
        }
        cmd.addAll(List.of(exe.get().toString(), routingDir.toString(), mode, Integer.toString(tokens),
                Integer.toString(hidden), Integer.toString(topk), Integer.toString(experts), Integer.toString(iters)));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                System.err.println("flyer bench ep: mpirun failed: " + new String(out, StandardCharsets.UTF_8));
                return Optional.empty();
            }
            Matcher m = Pattern.compile("dispatch_s=([0-9.]+) combine_s=([0-9.]+) recv_bytes=([0-9.]+) combine_bytes=([0-9.]+)")
                    .matcher(new String(out, StandardCharsets.UTF_8));
            if (!m.find()) {
                System.err.println("flyer bench ep: unexpected mpirun output: " + new String(out, StandardCharsets.UTF_8));
                return Optional.empty();
            }
            return Optional.of(new Result(Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)),
                    Double.parseDouble(m.group(3)), Double.parseDouble(m.group(4))));
        } catch (IOException e) {
            System.err.println("flyer bench ep: cannot run mpirun: " + e.getMessage());
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static synchronized Optional<Path> binary() {
        if (binary == null) {
            binary = compile();
        }
        return binary;
    }

    private static Optional<Path> compile() {
        try (InputStream in = EpMpiPeer.class.getResourceAsStream("/dev/flyer/bench/ep_mpi_peer.c")) {
            if (in == null) {
                throw new IOException("ep_mpi_peer.c resource missing");
            }
            if (!Tools.onPath("mpicc")) {
                Tools.aptInstall("openmpi-bin", "libopenmpi-dev");
            }
            if (!Tools.onPath("mpicc") || !Tools.onPath("mpirun")) {
                System.err.println("flyer bench ep: Open MPI is not installed (apt-get install openmpi-bin libopenmpi-dev)");
                return Optional.empty();
            }
            byte[] source = in.readAllBytes();
            String key = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(source)).substring(0, 16);
            Path dir = Path.of(System.getProperty("user.home"), ".cache", "flyer");
            Files.createDirectories(dir);
            Path exe = dir.resolve("ep_mpi_peer-" + key);
            if (!Files.exists(exe)) {
                Path src = dir.resolve("ep_mpi_peer-" + key + ".c");
                Files.write(src, source);
                Process p = new ProcessBuilder("mpicc", "-O3", "-march=native", "-o", exe.toString(), src.toString())
                        .redirectErrorStream(true).start();
                String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    System.err.println("flyer bench ep: mpicc failed: " + log);
                    return Optional.empty();
                }
            }
            return Optional.of(exe);
        } catch (IOException | NoSuchAlgorithmException e) {
            System.err.println("flyer bench ep: cannot build the MPI peer: " + e.getMessage());
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
