package dev.flyer.fs.meta;

import java.util.List;

/**
 * The metadata service as clients see it (3FS's MetaClient operations). Mutations take the
 * caller's (client, request) ids so a retried request returns the first result. Implemented by
 * the server ({@code MetaServer}) and by its RPC stub ({@link MetaService#remote}).
 */
public interface MetaApi {
    Inode stat(String path);

    Inode statInode(long inode);

    List<DirEntry> list(String path, String after, int limit);

    Inode create(String path, int mode, int chunkSize, long client, long request);

    Inode mkdir(String path, int mode, long client, long request);

    Inode mkdirs(String path, int mode);

    Inode symlink(String path, String target, long client, long request);

    Inode unlink(String path, long client, long request);

    void rmdir(String path, long client, long request);

    void rename(String from, String to, long client, long request);

    /** Opens a write session; returns its id. */
    long openWrite(long inode, long client);

    /** A writer's length hint (never shrinks the file). */
    Inode extendLength(long inode, long length);

    /** A live writer's renewal of its session, with its length hint. */
    Inode renewWrite(long inode, long session, long length);

    /** fsync: the server sets the exact length from storage now. */
    Inode sync(long inode);

    /** Closes a write session; the server sets the exact length from storage. */
    Inode closeWrite(long inode, long session);

    /** Sets the length; chunks past it are removed or cut on storage. */
    Inode truncate(String path, long length);
}
