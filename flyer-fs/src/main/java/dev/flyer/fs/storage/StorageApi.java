package dev.flyer.fs.storage;

import java.util.List;

/**
 * What a storage node serves to clients and to its chain neighbours (3FS's StorageService):
 * chunk writes entering at the head or forwarded along a chain, reads of committed data, and the
 * re-sync calls. Implemented by {@link StorageNode}; reached in-process or over RPC.
 */
public interface StorageApi {
    /** Applies an update through the rest of the chain; returns the committed chunk's metadata. */
    ChunkMeta write(WriteRequest request);

    /** Reads committed bytes of a chunk on one target (shorter at the chunk's end). */
    byte[] read(long targetId, ChunkId chunk, int offset, int length, boolean relaxed);

    /**
     * As {@link #read}, into {@code dst} at {@code dstOffset} (which must have room for
     * {@code length} bytes); returns the number of bytes read.
     */
    default int readInto(long targetId, ChunkId chunk, int offset, int length, boolean relaxed, byte[] dst, int dstOffset) {
        byte[] b = read(targetId, chunk, offset, length, relaxed);
        System.arraycopy(b, 0, dst, dstOffset, b.length);
        return b.length;
    }

    /**
     * Reads committed [0, length) of a chunk now, for use while it stays unchanged
     * ({@link ReadAhead}: the caller releases it); null where this node cannot (only same-host local reads can
     * tell cheaply that a chunk is unchanged).
     */
    default ReadAhead readAhead(long targetId, ChunkId chunk, int length) {
        return null;
    }

    /** Whether committed reads from this node may be served from its chunk files on this host (see LocalReads). */
    default boolean readsLocally() {
        return false;
    }

    /** The metadata of every chunk on a target (re-sync), or of one file's chunks when {@code inode >= 0}. */
    List<ChunkMeta> chunkMetas(long targetId, long inode);

    /** Removes chunks of a file with index &gt;= {@code fromIndex} on every writable target of a chain (truncate, unlink). */
    void removeChunks(long targetId, int chainId, long chainVersion, long inode, long fromIndex);

    /** Tells a target that its predecessor finished re-syncing it. */
    void syncDone(long targetId, long chainVersion);

    /** Re-sync: makes {@code chunk} on {@code targetId} exactly committed {@code version} = {@code content}, or removes it when content is null. */
    void syncChunk(long targetId, long chainVersion, ChunkId chunk, long version, byte[] content);
}
