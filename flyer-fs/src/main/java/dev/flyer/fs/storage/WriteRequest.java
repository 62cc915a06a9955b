package dev.flyer.fs.storage;

/**
 * An update of one chunk on one chain. From a client ({@code updateVersion == 0}) it goes to the
 * chain's head; the head assigns update version u = committed + 1 and forwards the same request
 * with u down the chain. {@code fullReplace} means {@code data} is the whole chunk (re-sync, or a
 * successor that missed updates). {@code clientId}/{@code seq} make a client's retries idempotent.
 */
public record WriteRequest(long targetId, int chainId, long chainVersion, ChunkId chunk, int offset, byte[] data,
        boolean fullReplace, long updateVersion, long clientId, long seq) {
    public WriteRequest forward(long successorTarget, long chainVer, long version, byte[] payload, boolean full) {
        return new WriteRequest(successorTarget, chainId, chainVer, chunk, full ? 0 : offset, payload, full, version,
                clientId, seq);
    }
}
