package dev.flyer.fs.chain;

/** One replica slot of a chain: the target, the node that serves it, and its public state. */
public record ChainTarget(long targetId, int nodeId, PublicState state) {
    public ChainTarget with(PublicState newState) {
        return new ChainTarget(targetId, nodeId, newState);
    }
}
