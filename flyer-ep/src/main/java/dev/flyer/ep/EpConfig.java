package dev.flyer.ep;

/**
 * How an {@link EpBuffer} is laid out and run.
 *
 * @param ranksPerNode ranks per node: a node is this many consecutive ranks (DeepEP fixes 8; one
 *        node means everything is intranode)
 * @param commThreads threads that pack, unpack and reduce (DeepEP's {@code num_sms}); transfers
 *        themselves run on the process group's per-peer threads
 * @param twoHop with more than one node, send each token once per destination node to the rank
 *        with the same local index there, which forwards it (DeepEP's internode path); otherwise
 *        every rank sends to every rank directly
 * @param normalBytes receive memory normal mode may use per call (DeepEP's {@code num_nvl_bytes})
 * @param lowLatencyBytes memory low-latency mode may use, both buffer sets together (DeepEP's
 *        {@code num_rdma_bytes}); see {@link EpBuffer#lowLatencySizeHint}
 */
public record EpConfig(int ranksPerNode, int commThreads, boolean twoHop, long normalBytes, long lowLatencyBytes) {
    public EpConfig {
        if (ranksPerNode < 1) {
            throw new IllegalArgumentException("ranksPerNode must be >= 1, got " + ranksPerNode);
        }
        if (commThreads < 1) {
            throw new IllegalArgumentException("commThreads must be >= 1, got " + commThreads);
        }
        if (normalBytes < 0 || lowLatencyBytes < 0) {
            throw new IllegalArgumentException("buffer sizes must be >= 0");
        }
    }

    /** One node, one communication thread, 1 GiB for normal mode and none for low latency. */
    public static EpConfig defaults() {
        return new EpConfig(Integer.MAX_VALUE, 1, true, 1L << 30, 0);
    }

    public EpConfig withRanksPerNode(int ranks) {
        return new EpConfig(ranks, commThreads, twoHop, normalBytes, lowLatencyBytes);
    }

    public EpConfig withCommThreads(int threads) {
        return new EpConfig(ranksPerNode, threads, twoHop, normalBytes, lowLatencyBytes);
    }

    public EpConfig withTwoHop(boolean on) {
        return new EpConfig(ranksPerNode, commThreads, on, normalBytes, lowLatencyBytes);
    }

    public EpConfig withNormalBytes(long bytes) {
        return new EpConfig(ranksPerNode, commThreads, twoHop, bytes, lowLatencyBytes);
    }

    public EpConfig withLowLatencyBytes(long bytes) {
        return new EpConfig(ranksPerNode, commThreads, twoHop, normalBytes, bytes);
    }
}
