package dev.flyer.fs.storage;

import dev.flyer.fs.rpc.SharedBuffers;

/**
 * An update of one chunk on one chain. From a client ({@code updateVersion == 0}) it goes to the
 * chain's head; the head assigns update version u = committed + 1 and forwards the same request
 * with u down the chain. {@code fullReplace} means {@code data} is the whole chunk (re-sync, or a
 * successor that missed updates). {@code clientId}/{@code seq} make a client's retries idempotent.
 * {@code source}, when not null, is the shared-memory slot {@code data} arrived in (see
 * {@code RemoteStorage}): a forward of the same bytes names that slot again instead of copying.
 */
public record WriteRequest(long targetId, int chainId, long chainVersion, ChunkId chunk, int offset, byte[] data,
        boolean fullReplace, long updateVersion, long clientId, long seq, long signature, Source source) {
    /** A caller's slot holding {@code data}, and the bytes' CRC32C. */
    public record Source(SharedBuffers.Ref ref, int crc) {}

    /** A request whose bytes came over the socket (or from this process). */
    public WriteRequest(long targetId, int chainId, long chainVersion, ChunkId chunk, int offset, byte[] data,
            boolean fullReplace, long updateVersion, long clientId, long seq, long signature) {
        this(targetId, chainId, chainVersion, chunk, offset, data, fullReplace, updateVersion, clientId, seq, signature,
                null);
    }

    /** A client's request (no update version, no expected signature yet). */
    public WriteRequest(long targetId, int chainId, long chainVersion, ChunkId chunk, int offset, byte[] data,
            boolean fullReplace, long updateVersion, long clientId, long seq) {
        this(targetId, chainId, chainVersion, chunk, offset, data, fullReplace, updateVersion, clientId, seq, 0);
    }

    /**
     * The same update for the successor: version {@code version}, and the {@code signature} of the
     * chunk it must end up with, so a successor can tell a repeated forward from a stale replica
     * that happens to hold the same version number.
     */
    public WriteRequest forward(long successorTarget, long chainVer, long version, byte[] payload, boolean full, long sig) {
        return new WriteRequest(successorTarget, chainId, chainVer, chunk, full ? 0 : offset, payload, full, version,
                clientId, seq, sig, payload == data ? source : null);
    }

    /** This request, its bytes received through {@code slot}. */
    public WriteRequest withSource(Source slot) {
        return new WriteRequest(targetId, chainId, chainVersion, chunk, offset, data, fullReplace, updateVersion, clientId,
                seq, signature, slot);
    }
}
