package dev.flyer.dist;

import java.util.Map;

/**
 * Where this process sits in a job, read from the usual launcher variables.
 *
 * <p>Contract: {@link #fromEnvironment(Map)} reads torchrun's {@code RANK}, {@code WORLD_SIZE},
 * {@code LOCAL_RANK}, {@code LOCAL_WORLD_SIZE}, {@code MASTER_ADDR}, {@code MASTER_PORT}; failing
 * those Open MPI's {@code OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK/LOCAL_SIZE}; failing those Slurm's
 * {@code SLURM_PROCID}, {@code SLURM_NTASKS}, {@code SLURM_LOCALID}, {@code SLURM_NTASKS_PER_NODE}.
 * Without any, the process is rank 0 of 1. The master defaults to {@code 127.0.0.1:29500} (torch's
 * default port). Inconsistent values throw {@link IllegalArgumentException} naming the variable.
 */
public record DistEnv(int rank, int worldSize, int localRank, int localWorldSize, String masterAddr, int masterPort) {
    public static final int DEFAULT_PORT = 29500;

    public DistEnv {
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " is outside world size " + worldSize);
        }
        if (localWorldSize < 1 || localRank < 0 || localRank >= localWorldSize) {
            throw new IllegalArgumentException("local rank " + localRank + " is outside local world size " + localWorldSize);
        }
        if (masterPort < 0 || masterPort > 65535) {
            throw new IllegalArgumentException("master port " + masterPort + " is not a TCP port");
        }
    }

    /** A single-process job. */
    public static DistEnv single() {
        return new DistEnv(0, 1, 0, 1, "127.0.0.1", DEFAULT_PORT);
    }

    public static DistEnv fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    public static DistEnv fromEnvironment(Map<String, String> env) {
        String[][] families = {
            {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"},
            {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"},
            {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"}};
        String addr = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
        int port = integer(env, "MASTER_PORT", DEFAULT_PORT);
        for (String[] f : families) {
            if (env.containsKey(f[0]) && env.containsKey(f[1])) {
                int rank = integer(env, f[0], 0);
                int world = integer(env, f[1], 1);
                int localWorld = integer(env, f[3], world);
                int localRank = integer(env, f[2], rank % localWorld);
                return new DistEnv(rank, world, localRank, localWorld, addr, port);
            }
        }
        return new DistEnv(0, 1, 0, 1, addr, port);
    }

    private static int integer(Map<String, String> env, String name, int fallback) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            // Slurm writes tasks-per-node as "2(x3)" for heterogeneous layouts: take the leading count
            return Integer.parseInt(v.trim().replaceFirst("\\(.*$", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("environment variable " + name + "=\"" + v + "\" is not an integer");
        }
    }
}
