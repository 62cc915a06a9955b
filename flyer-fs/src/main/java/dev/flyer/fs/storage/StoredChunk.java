package dev.flyer.fs.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * What a {@link ChunkEngine} keeps per chunk: its metadata and the slots of its versions
 * ({@link ChunkSlots}; 0: none). {@code pendingStored} is false while a pending version marked by
 * {@link ChunkEngine#markPending} is still being written; its {@code pendingSlot} is then the
 * earlier pending attempt's, which the write replaces.
 *
 * <pre>
 *   RocksDB value = ChunkMeta.encode() | committed slot (8 B) | pending slot (8 B)
 * </pre>
 * Only stored states are persisted, so a decoded one has {@code pendingStored}.
 */
record StoredChunk(ChunkMeta meta, long committedSlot, long pendingSlot, boolean pendingStored) {
    byte[] encode() {
        byte[] m = meta.encode();
        return ByteBuffer.allocate(m.length + 16).put(m).putLong(committedSlot).putLong(pendingSlot).array();
    }

    /** The stored chunk {@code value} describes; an {@link IOException} naming {@code dir} when it is another layout. */
    static StoredChunk decode(ChunkId id, byte[] value, Path dir) throws IOException {
        ChunkMeta m = null;
        try {
            m = ChunkMeta.decode(id, value);
        } catch (RuntimeException tooShort) {
            // reported below
        }
        if (m == null || m.encode().length != value.length - 16) {
            throw new IOException(dir + " holds chunk metadata of another layout (chunk " + id
                    + "); it was written by an older Flyer, which kept a file per version: move it away");
        }
        ByteBuffer slots = ByteBuffer.wrap(value, value.length - 16, 16);
        return new StoredChunk(m, slots.getLong(), slots.getLong(), true);
    }
}
