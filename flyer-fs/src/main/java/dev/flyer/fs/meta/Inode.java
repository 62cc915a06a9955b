package dev.flyer.fs.meta;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * An inode record (3FS src/meta/store/Inode.h): common attributes, then per type the file's
 * length and layout, the directory's parent (for loop checks on rename), or the symlink's target.
 * {@code length} of a file is a hint while writers are open and exact after close.
 */
public record Inode(long id, InodeType type, int mode, long mtimeNs, long ctimeNs, int nlink,
        long length, Layout layout, long parent, String symlinkTarget) {

    public boolean isDirectory() {
        return type == InodeType.DIRECTORY;
    }

    public Inode withLength(long newLength, long nowNs) {
        return new Inode(id, type, mode, nowNs, nowNs, nlink, newLength, layout, parent, symlinkTarget);
    }

    public Inode withParent(long newParent, long nowNs) {
        return new Inode(id, type, mode, mtimeNs, nowNs, nlink, length, layout, newParent, symlinkTarget);
    }

    public Inode withNlink(int n, long nowNs) {
        return new Inode(id, type, mode, mtimeNs, nowNs, n, length, layout, parent, symlinkTarget);
    }

    public byte[] encode() {
        byte[] target = symlinkTarget == null ? new byte[0] : symlinkTarget.getBytes(StandardCharsets.UTF_8);
        ByteBuffer bb = ByteBuffer.allocate(64 + 28 + target.length);
        bb.put((byte) type.ordinal()).putInt(mode).putLong(mtimeNs).putLong(ctimeNs).putInt(nlink).putLong(length).putLong(parent);
        bb.put((byte) (layout == null ? 0 : 1));
        if (layout != null) {
            bb.putInt(layout.chunkSize()).putInt(layout.chainBase()).putInt(layout.stripe()).putLong(layout.seed()).putInt(layout.tableSize());
        }
        bb.putInt(target.length).put(target);
        return java.util.Arrays.copyOf(bb.array(), bb.position());
    }

    public static Inode decode(long id, byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b);
        InodeType type = InodeType.values()[bb.get()];
        int mode = bb.getInt();
        long mtime = bb.getLong();
        long ctime = bb.getLong();
        int nlink = bb.getInt();
        long length = bb.getLong();
        long parent = bb.getLong();
        Layout layout = bb.get() == 0 ? null
                : new Layout(bb.getInt(), bb.getInt(), bb.getInt(), bb.getLong(), bb.getInt());
        byte[] target = new byte[bb.getInt()];
        bb.get(target);
        return new Inode(id, type, mode, mtime, ctime, nlink, length, layout, parent,
                type == InodeType.SYMLINK ? new String(target, StandardCharsets.UTF_8) : null);
    }
}
