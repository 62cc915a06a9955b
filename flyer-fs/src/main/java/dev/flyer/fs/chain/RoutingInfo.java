package dev.flyer.fs.chain;

import java.util.Map;

/**
 * The cluster manager's routing view that services and clients cache (3FS RoutingInfo): every
 * chain by id and every node's address, with a version bumped whenever any of it changes.
 */
public record RoutingInfo(long version, Map<Integer, Chain> chains, Map<Integer, String> nodeAddresses) {
    public RoutingInfo {
        chains = Map.copyOf(chains);
        nodeAddresses = Map.copyOf(nodeAddresses);
    }

    public Chain chain(int chainId) {
        Chain c = chains.get(chainId);
        if (c == null) {
            throw new IllegalArgumentException("no chain " + chainId + " in routing version " + version);
        }
        return c;
    }
}
