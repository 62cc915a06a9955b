package dev.flyer.fs.chain;

import java.util.Map;

/**
 * The cluster manager's routing view that services and clients cache (3FS RoutingInfo): every
 * chain by id, every storage node's and meta server's address, with a version bumped whenever
 * any of it changes.
 */
public record RoutingInfo(long version, Map<Integer, Chain> chains, Map<Integer, String> nodeAddresses,
        Map<Integer, String> metaAddresses) {
    public RoutingInfo {
        chains = Map.copyOf(chains);
        nodeAddresses = Map.copyOf(nodeAddresses);
        metaAddresses = Map.copyOf(metaAddresses);
    }

    public RoutingInfo(long version, Map<Integer, Chain> chains, Map<Integer, String> nodeAddresses) {
        this(version, chains, nodeAddresses, Map.of());
    }

    public Chain chain(int chainId) {
        Chain c = chains.get(chainId);
        if (c == null) {
            throw new IllegalArgumentException("no chain " + chainId + " in routing version " + version);
        }
        return c;
    }

    /** The node serving a target, or -1. */
    public int nodeOf(long targetId) {
        for (Chain c : chains.values()) {
            for (ChainTarget t : c.targets()) {
                if (t.targetId() == targetId) {
                    return t.nodeId();
                }
            }
        }
        return -1;
    }
}
