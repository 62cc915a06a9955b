package dev.flyer.fs.meta;

import dev.flyer.fs.kv.Keys;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The metadata key layout, as 3FS lays it out (src/common/kv/KeyPrefix-def.h, docs/design_notes.md):
 *
 * <pre>
 *   "INOD" id(8, little-endian)                  -> Inode       (little-endian spreads ids over shards)
 *   "DENT" parent(8, LE) name(UTF-8)             -> DirEntry    (one directory = one contiguous range)
 *   "INOS" inode(8, LE) session(8, BE)           -> client id   (open write sessions)
 *   "IDEM" client(8, BE) request(8, BE)          -> result      (idempotency of retried mutations)
 *   "GCIN" inode(8, LE)                          -> unlink time (unlinked files awaiting chunk removal)
 *   "SING" "inode-next"                          -> next free inode id (allocated in blocks)
 * </pre>
 */
final class MetaKeys {
    static final byte[] INODE = ascii("INOD");
    static final byte[] DENTRY = ascii("DENT");
    static final byte[] SESSION = ascii("INOS");
    static final byte[] IDEMPOTENT = ascii("IDEM");
    static final byte[] GC = ascii("GCIN");
    static final byte[] NEXT_INODE = ascii("SINGinode-next");

    private MetaKeys() {}

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] le(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    static byte[] be(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    static long leAt(byte[] b, int at) {
        return ByteBuffer.wrap(b, at, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static byte[] inode(long id) {
        return Keys.concat(INODE, le(id));
    }

    static byte[] dentries(long parent) {
        return Keys.concat(DENTRY, le(parent));
    }

    static byte[] dentry(long parent, String name) {
        return Keys.concat(DENTRY, le(parent), name.getBytes(StandardCharsets.UTF_8));
    }

    static String dentryName(byte[] key) {
        return new String(key, 12, key.length - 12, StandardCharsets.UTF_8);
    }

    static byte[] sessions(long inode) {
        return Keys.concat(SESSION, le(inode));
    }

    static byte[] session(long inode, long session) {
        return Keys.concat(SESSION, le(inode), be(session));
    }

    static byte[] idempotent(long client, long request) {
        return Keys.concat(IDEMPOTENT, be(client), be(request));
    }

    static byte[] gc(long inode) {
        return Keys.concat(GC, le(inode));
    }

    static byte[] encodeEntry(DirEntry e) {
        return ByteBuffer.allocate(9).putLong(e.inode()).put((byte) e.type().ordinal()).array();
    }

    static DirEntry decodeEntry(long parent, byte[] key, byte[] value) {
        ByteBuffer bb = ByteBuffer.wrap(value);
        return new DirEntry(parent, dentryName(key), bb.getLong(), InodeType.values()[bb.get()]);
    }
}
