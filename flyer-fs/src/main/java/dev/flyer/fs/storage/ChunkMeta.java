package dev.flyer.fs.storage;

import java.nio.ByteBuffer;

/**
 * A chunk replica's metadata (3FS ChunkMetadata): the committed version v and, while an update is
 * in flight, the pending version u = v + 1; the chain version the committed data was written under;
 * each version's length and CRC32C per {@link #BLOCK_BYTES} block.
 */
public record ChunkMeta(ChunkId id, long committedVersion, long pendingVersion, long chainVersion,
        int committedLength, int[] committedCrcs, int pendingLength, int[] pendingCrcs) {
    /**
     * Checksum granularity: reads verify only the blocks they touch. 4 KiB, the page and direct-I/O
     * unit (btrfs and ZFS keep a checksum per 4 KiB block too): a 4 KiB read at an aligned offset
     * reads and checks exactly its own block. 3FS keeps one checksum per chunk and checks it only
     * when a whole chunk is read; with 64 KiB blocks a 4 KiB random read cost a 64 KiB disk read.
     */
    public static final int BLOCK_BYTES = 4 << 10;

    public boolean hasPending() {
        return pendingVersion != 0;
    }

    /** A 64-bit digest of the committed content (its length and block CRCs): equal content, equal signature. */
    public long committedSignature() {
        return signature(committedLength, committedCrcs);
    }

    public long pendingSignature() {
        return signature(pendingLength, pendingCrcs);
    }

    static long signature(int length, int[] crcs) {
        long h = 0x9E3779B97F4A7C15L ^ length;
        for (int c : crcs) {
            h = (h ^ (c & 0xffffffffL)) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 29;
        }
        return h;
    }

    public byte[] encode() {
        ByteBuffer bb = ByteBuffer.allocate(8 * 3 + 4 * 4 + 4 * (committedCrcs.length + pendingCrcs.length));
        bb.putLong(committedVersion).putLong(pendingVersion).putLong(chainVersion);
        bb.putInt(committedLength).putInt(committedCrcs.length);
        for (int c : committedCrcs) {
            bb.putInt(c);
        }
        bb.putInt(pendingLength).putInt(pendingCrcs.length);
        for (int c : pendingCrcs) {
            bb.putInt(c);
        }
        return bb.array();
    }

    public static ChunkMeta decode(ChunkId id, byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b);
        long cv = bb.getLong();
        long pv = bb.getLong();
        long chain = bb.getLong();
        int cl = bb.getInt();
        int[] cc = new int[bb.getInt()];
        for (int i = 0; i < cc.length; i++) {
            cc[i] = bb.getInt();
        }
        int pl = bb.getInt();
        int[] pc = new int[bb.getInt()];
        for (int i = 0; i < pc.length; i++) {
            pc[i] = bb.getInt();
        }
        return new ChunkMeta(id, cv, pv, chain, cl, cc, pl, pc);
    }
}
