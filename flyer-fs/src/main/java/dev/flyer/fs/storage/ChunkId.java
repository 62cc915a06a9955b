package dev.flyer.fs.storage;

import java.nio.ByteBuffer;

/** A chunk: the file's inode id and the chunk's index in the file (3FS concatenates the two). */
public record ChunkId(long inode, long index) implements Comparable<ChunkId> {
    /** 16 bytes, big-endian, so byte order equals {@link #compareTo} order. */
    public byte[] encode() {
        return ByteBuffer.allocate(16).putLong(inode).putLong(index).array();
    }

    public static ChunkId decode(byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b);
        return new ChunkId(bb.getLong(), bb.getLong());
    }

    @Override
    public int compareTo(ChunkId o) {
        int c = Long.compareUnsigned(inode, o.inode);
        return c != 0 ? c : Long.compareUnsigned(index, o.index);
    }

    @Override
    public String toString() {
        return Long.toHexString(inode) + "." + index;
    }
}
