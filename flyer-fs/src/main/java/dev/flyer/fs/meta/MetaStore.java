package dev.flyer.fs.meta;

import dev.flyer.fs.kv.KeySelector;
import dev.flyer.fs.kv.KeyValue;
import dev.flyer.fs.kv.Keys;
import dev.flyer.fs.kv.KvEngine;
import dev.flyer.fs.kv.ReadOnlyTransaction;
import dev.flyer.fs.kv.Transaction;
import dev.flyer.fs.kv.TransactionRunner;
import dev.flyer.fs.meta.FsException.Code;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntSupplier;

/**
 * The metadata service's operations over the transactional KV (3FS src/meta/store/MetaStore.cc and
 * ops/*.cc). Stateless apart from a block of reserved inode ids: any number of these may serve one
 * KV. Every operation is one transaction run by a {@link TransactionRunner}; mutating operations
 * take a (client, request) pair and record their result, so a retry after "maybe committed"
 * returns the first result instead of failing (EEXIST, ENOENT).
 *
 * <p>Conflict sets (what each transaction reads with conflicts, then writes):
 * <ul>
 *   <li>path resolution: DENT(parent, name) of every component (the entry's type says whether it is a
 *       directory, so intermediate inodes are not read); INOD of the final inode where the operation needs it;
 *   <li>create/mkdir/symlink: + DENT(parent, name) absent; writes DENT, INOD(new);
 *   <li>unlink: DENT, INOD(file); writes DENT cleared, INOD (nlink 0) and GCIN(file);
 *   <li>rmdir: DENT, INOD(dir), the whole DENT(dir, *) range (empty); clears both. A create in that
 *       directory read the directory's own entry and writes inside the range, so exactly one of the two commits;
 *   <li>rename: both DENTs, the moved INOD, the replaced target's INOD and (for a directory) its
 *       child range, and INOD of every ancestor of the destination up to the root, so two renames that
 *       could form a loop conflict;
 *   <li>length updates: INOD(file).
 * </ul>
 */
public final class MetaStore {
    /** The root directory's inode id. */
    public static final long ROOT = 1;
    private static final int MAX_NAME_BYTES = 255;
    private static final int ID_BLOCK = 256;

    private final TransactionRunner runner;
    private final IntSupplier chainTableSize;
    private final int defaultChunkSize;
    private final int defaultStripe;
    private long nextId;
    private long idLimit;

    public MetaStore(TransactionRunner runner, IntSupplier chainTableSize, int defaultChunkSize, int defaultStripe) {
        this.runner = runner;
        this.chainTableSize = chainTableSize;
        this.defaultChunkSize = defaultChunkSize;
        this.defaultStripe = defaultStripe;
        runner.run(t -> {
            if (t.get(MetaKeys.inode(ROOT)).isEmpty()) {
                long now = now();
                t.set(MetaKeys.inode(ROOT), new Inode(ROOT, InodeType.DIRECTORY, 0755, now, now, 1, 0, null, ROOT, null).encode());
                t.set(MetaKeys.NEXT_INODE, MetaKeys.be(ROOT + 1));
            }
            return null;
        });
    }

    public TransactionRunner runner() {
        return runner;
    }

    // ---- reads ----

    /** The inode at {@code path} (a symlink itself, not its target). */
    public Inode stat(String path) {
        try (ReadOnlyTransaction t = runner.engine().readOnly()) {
            return resolve(t, Paths.parse(path));
        }
    }

    public Inode statInode(long id) {
        try (ReadOnlyTransaction t = runner.engine().readOnly()) {
            return loadInode(t, id).orElseThrow(() -> new FsException(Code.NOT_FOUND, "no inode " + id));
        }
    }

    /** Up to {@code limit} entries of a directory with names after {@code after} ("" = from the start). */
    public List<DirEntry> list(String path, String after, int limit) {
        try (ReadOnlyTransaction t = runner.engine().readOnly()) {
            Inode dir = resolve(t, Paths.parse(path));
            if (!dir.isDirectory()) {
                throw new FsException(Code.NOT_DIRECTORY, path);
            }
            return children(t, dir.id(), after, limit);
        }
    }

    // ---- namespace mutations ----

    /** Creates a file exclusively (EEXIST when the name exists). */
    public Inode create(String path, int mode, int chunkSize, long client, long request) {
        int cs = chunkSize > 0 ? chunkSize : defaultChunkSize;
        return makeNode(path, client, request, (t, id, parent, now) -> {
            int table = chainTableSize.getAsInt();
            Layout layout = new Layout(cs, Math.floorMod(id * 7919, table), Math.min(defaultStripe, table),
                    ThreadLocalRandom.current().nextLong(), table);
            return new Inode(id, InodeType.FILE, mode, now, now, 1, 0, layout, parent, null);
        });
    }

    public Inode mkdir(String path, int mode, long client, long request) {
        return makeNode(path, client, request, (t, id, parent, now) ->
                new Inode(id, InodeType.DIRECTORY, mode, now, now, 1, 0, null, parent, null));
    }

    /** mkdir -p: creates missing directories; an existing directory is fine, an existing file is ENOTDIR. */
    public Inode mkdirs(String path, int mode) {
        List<String> parts = Paths.parse(path);
        Inode last = statInode(ROOT);
        for (int i = 1; i <= parts.size(); i++) {
            String p = Paths.join(parts.subList(0, i));
            try {
                last = mkdir(p, mode, 0, 0);
            } catch (FsException e) {
                if (e.code() != Code.EXISTS) {
                    throw e;
                }
                last = stat(p);
                if (!last.isDirectory()) {
                    throw new FsException(Code.NOT_DIRECTORY, p);
                }
            }
        }
        return last;
    }

    public Inode symlink(String path, String target, long client, long request) {
        return makeNode(path, client, request, (t, id, parent, now) ->
                new Inode(id, InodeType.SYMLINK, 0777, now, now, 1, target.length(), null, parent, target));
    }

    private interface NodeFactory {
        Inode make(Transaction t, long id, long parent, long nowNs);
    }

    private Inode makeNode(String path, long client, long request, NodeFactory factory) {
        List<String> parts = Paths.parse(path);
        if (parts.isEmpty()) {
            throw new FsException(Code.EXISTS, "/");
        }
        String name = parts.getLast();
        checkName(name);
        long id = allocateId();
        return runner.run(t -> {
            Optional<Long> done = idempotent(t, client, request);
            if (done.isPresent()) {
                return loadInode(t, done.get()).orElseThrow(() -> new FsException(Code.NOT_FOUND, path));
            }
            long parent = resolveDir(t, parts.subList(0, parts.size() - 1), path);
            if (t.get(MetaKeys.dentry(parent, name)).isPresent()) {
                throw new FsException(Code.EXISTS, path);
            }
            Inode inode = factory.make(t, id, parent, now());
            t.set(MetaKeys.inode(id), inode.encode());
            t.set(MetaKeys.dentry(parent, name), MetaKeys.encodeEntry(new DirEntry(parent, name, id, inode.type())));
            record(t, client, request, id);
            return inode;
        });
    }

    /** Removes a file or symlink; a file's inode goes to the collection queue. Returns the removed inode. */
    public Inode unlink(String path, long client, long request) {
        List<String> parts = Paths.parse(path);
        return runner.run(t -> {
            Optional<Long> done = idempotent(t, client, request);
            if (done.isPresent()) {
                return loadInode(t, done.get()).orElse(null);
            }
            long parent = resolveDir(t, parts.subList(0, Math.max(0, parts.size() - 1)), path);
            DirEntry e = entry(t, parent, parts, path);
            if (e.type() == InodeType.DIRECTORY) {
                throw new FsException(Code.IS_DIRECTORY, path);
            }
            Inode victim = loadInode(t, e.inode()).orElseThrow(() -> new FsException(Code.NOT_FOUND, path));
            t.clear(MetaKeys.dentry(parent, e.name()));
            drop(t, victim);
            record(t, client, request, victim.id());
            return victim;
        });
    }

    /** Removes an empty directory. */
    public void rmdir(String path, long client, long request) {
        List<String> parts = Paths.parse(path);
        if (parts.isEmpty()) {
            throw new FsException(Code.INVALID_ARGUMENT, "cannot remove the root directory");
        }
        runner.run(t -> {
            if (idempotent(t, client, request).isPresent()) {
                return null;
            }
            long parent = resolveDir(t, parts.subList(0, parts.size() - 1), path);
            DirEntry e = entry(t, parent, parts, path);
            if (e.type() != InodeType.DIRECTORY) {
                throw new FsException(Code.NOT_DIRECTORY, path);
            }
            t.get(MetaKeys.inode(e.inode()));
            if (!children(t, e.inode(), "", 1).isEmpty()) {
                throw new FsException(Code.NOT_EMPTY, path);
            }
            t.clear(MetaKeys.dentry(parent, e.name()));
            t.clear(MetaKeys.inode(e.inode()));
            record(t, client, request, e.inode());
            return null;
        });
    }

    /**
     * Atomically renames {@code from} to {@code to}, replacing a file at {@code to}, or an empty
     * directory when {@code from} is a directory; refuses to move a directory into its own subtree.
     */
    public void rename(String from, String to, long client, long request) {
        List<String> src = Paths.parse(from);
        List<String> dst = Paths.parse(to);
        if (src.isEmpty() || dst.isEmpty()) {
            throw new FsException(Code.INVALID_ARGUMENT, "cannot rename the root directory");
        }
        checkName(dst.getLast());
        runner.run(t -> {
            if (idempotent(t, client, request).isPresent()) {
                return null;
            }
            long srcParent = resolveDir(t, src.subList(0, src.size() - 1), from);
            DirEntry moved = entry(t, srcParent, src, from);
            long dstParent = resolveDir(t, dst.subList(0, dst.size() - 1), to);
            Inode inode = loadInode(t, moved.inode()).orElseThrow(() -> new FsException(Code.NOT_FOUND, from));
            if (srcParent == dstParent && moved.name().equals(dst.getLast())) {
                return null;
            }
            if (inode.isDirectory()) {
                for (long a = dstParent; ; ) { // the ancestors of the destination, each read with a conflict
                    if (a == inode.id()) {
                        throw new FsException(Code.INVALID_ARGUMENT, "cannot move " + from + " into its own subtree " + to);
                    }
                    if (a == ROOT) {
                        break;
                    }
                    a = loadInode(t, a).orElseThrow(() -> new FsException(Code.NOT_FOUND, to)).parent();
                }
            }
            Optional<byte[]> existing = t.get(MetaKeys.dentry(dstParent, dst.getLast()));
            if (existing.isPresent()) {
                DirEntry old = MetaKeys.decodeEntry(dstParent, MetaKeys.dentry(dstParent, dst.getLast()), existing.get());
                Inode replaced = loadInode(t, old.inode()).orElseThrow();
                if (replaced.isDirectory() != inode.isDirectory()) {
                    throw new FsException(inode.isDirectory() ? Code.NOT_DIRECTORY : Code.IS_DIRECTORY, to);
                }
                if (replaced.isDirectory()) {
                    if (!children(t, replaced.id(), "", 1).isEmpty()) {
                        throw new FsException(Code.NOT_EMPTY, to);
                    }
                    t.clear(MetaKeys.inode(replaced.id()));
                } else {
                    drop(t, replaced);
                }
            }
            long now = now();
            t.clear(MetaKeys.dentry(srcParent, moved.name()));
            t.set(MetaKeys.dentry(dstParent, dst.getLast()),
                    MetaKeys.encodeEntry(new DirEntry(dstParent, dst.getLast(), inode.id(), inode.type())));
            t.set(MetaKeys.inode(inode.id()), inode.withParent(dstParent, now).encode());
            record(t, client, request, inode.id());
            return null;
        });
    }

    // ---- file length and sessions ----

    /** Opens a write session on a file (unlinked files are not collected while one is open). */
    public long openWrite(long inode, long client) {
        long session = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
        runner.run(t -> {
            Inode i = loadInode(t, inode).orElseThrow(() -> new FsException(Code.NOT_FOUND, "inode " + inode));
            if (i.type() != InodeType.FILE) {
                throw new FsException(Code.IS_DIRECTORY, "inode " + inode);
            }
            t.set(MetaKeys.session(inode, session), sessionValue(client));
            return null;
        });
        return session;
    }

    private static byte[] sessionValue(long client) {
        return ByteBuffer.allocate(16).putLong(client).putLong(System.currentTimeMillis()).array();
    }

    /**
     * A live writer's heartbeat: renews its session and raises the length hint to {@code length}
     * (never lowers it). Fails with EINVAL when the session was pruned (the writer was presumed dead).
     */
    public Inode renewWrite(long inode, long session, long length) {
        return runner.run(t -> {
            byte[] v = t.get(MetaKeys.session(inode, session)).orElseThrow(() -> new FsException(Code.INVALID_ARGUMENT,
                    "write session " + session + " of inode " + inode + " expired"));
            t.set(MetaKeys.session(inode, session), sessionValue(ByteBuffer.wrap(v).getLong()));
            loadInode(t, inode).orElseThrow(() -> new FsException(Code.NOT_FOUND, "inode " + inode));
            return writeLength(t, inode, length, true);
        });
    }

    /** Write sessions not renewed since {@code beforeMs} (wall clock): pairs of (inode, session). */
    public List<long[]> staleSessions(long beforeMs) {
        try (ReadOnlyTransaction t = runner.engine().readOnly()) {
            List<long[]> out = new ArrayList<>();
            for (KeyValue kv : prefix(t, MetaKeys.SESSION, 0)) {
                ByteBuffer v = ByteBuffer.wrap(kv.value());
                v.getLong();
                long renewed = v.remaining() >= 8 ? v.getLong() : 0;
                if (renewed < beforeMs) {
                    out.add(new long[] {MetaKeys.leAt(kv.key(), 4), ByteBuffer.wrap(kv.key(), 12, 8).getLong()});
                }
            }
            return out;
        }
    }

    /** Sets the exact length (fsync, or a pruned writer's recovery), keeping any sessions. */
    public Inode setLength(long inode, long exactLength) {
        return runner.run(t -> writeLength(t, inode, exactLength, false));
    }

    /** A writer's hint: the file is at least {@code length} long (never shrinks it). */
    public Inode extendLength(long inode, long length) {
        return runner.run(t -> {
            loadInode(t, inode).orElseThrow(() -> new FsException(Code.NOT_FOUND, "inode " + inode));
            return writeLength(t, inode, length, true);
        });
    }

    /** Closes a write session and sets the exact length (computed from storage by the caller). */
    public Inode closeWrite(long inode, long session, long exactLength) {
        return runner.run(t -> {
            t.clear(MetaKeys.session(inode, session));
            return writeLength(t, inode, exactLength, false);
        });
    }

    /** Sets (or, with {@code onlyGrow}, raises) an inode's length in {@code t}; null when the inode is gone. */
    private static Inode writeLength(Transaction t, long inode, long length, boolean onlyGrow) {
        Optional<Inode> i = loadInode(t, inode);
        if (i.isEmpty() || (onlyGrow && length <= i.get().length())) {
            return i.orElse(null);
        }
        Inode n = i.get().withLength(length, now());
        t.set(MetaKeys.inode(inode), n.encode());
        return n;
    }

    /** Sets a file's length (truncate/extend); the caller removes chunks past it on storage. */
    public Inode truncate(String path, long length) {
        if (length < 0) {
            throw new FsException(Code.INVALID_ARGUMENT, "truncate " + path + " to negative length " + length);
        }
        List<String> parts = Paths.parse(path);
        return runner.run(t -> {
            Inode i = resolve(t, parts);
            if (i.type() != InodeType.FILE) {
                throw new FsException(Code.IS_DIRECTORY, path);
            }
            Inode n = i.withLength(length, now());
            t.set(MetaKeys.inode(i.id()), n.encode());
            return n;
        });
    }

    /** Unlinked files whose chunks may be removed now: unlinked before {@code beforeNs} and with no open write session. */
    public List<Inode> collectible(long beforeNs) {
        try (ReadOnlyTransaction t = runner.engine().readOnly()) {
            List<Inode> out = new ArrayList<>();
            for (KeyValue kv : prefix(t, MetaKeys.GC, 0)) {
                long id = MetaKeys.leAt(kv.key(), 4);
                long when = ByteBuffer.wrap(kv.value()).getLong();
                if (when < beforeNs && prefix(t, MetaKeys.sessions(id), 1).isEmpty()) {
                    loadInode(t, id).ifPresent(out::add);
                }
            }
            return out;
        }
    }

    /** Forgets a collected file's inode once its chunks are gone. */
    public void forget(long inode) {
        runner.run(t -> {
            if (!prefix(t, MetaKeys.sessions(inode), 1).isEmpty()) {
                throw new FsException(Code.UNAVAILABLE, "inode " + inode + " has an open write session");
            }
            t.clear(MetaKeys.gc(inode));
            t.clear(MetaKeys.inode(inode));
            return null;
        });
    }

    // ---- helpers ----

    private void drop(Transaction t, Inode victim) {
        if (victim.type() == InodeType.FILE) {
            t.set(MetaKeys.inode(victim.id()), victim.withNlink(0, now()).encode());
            t.set(MetaKeys.gc(victim.id()), MetaKeys.be(System.nanoTime()));
        } else {
            t.clear(MetaKeys.inode(victim.id()));
        }
    }

    private synchronized long allocateId() {
        if (nextId == idLimit) {
            long[] block = runner.run(t -> {
                long first = ByteBuffer.wrap(t.get(MetaKeys.NEXT_INODE).orElseThrow()).getLong();
                t.set(MetaKeys.NEXT_INODE, MetaKeys.be(first + ID_BLOCK));
                return new long[] {first, first + ID_BLOCK};
            });
            nextId = block[0];
            idLimit = block[1];
        }
        return nextId++;
    }

    private static Optional<Long> idempotent(Transaction t, long client, long request) {
        if (client == 0) {
            return Optional.empty();
        }
        return t.get(MetaKeys.idempotent(client, request)).map(v -> ByteBuffer.wrap(v).getLong());
    }

    private static void record(Transaction t, long client, long request, long result) {
        if (client != 0) {
            t.set(MetaKeys.idempotent(client, request), MetaKeys.be(result));
        }
    }

    /** The inode at a path: the directory entries on the way (their types say which are directories), then the inode itself. */
    private static Inode resolve(ReadOnlyTransaction t, List<String> parts) {
        long id = parts.isEmpty() ? ROOT : walk(t, parts).inode();
        return loadInode(t, id).orElseThrow(() -> new FsException(parts.isEmpty() ? Code.IO_ERROR : Code.NOT_FOUND,
                parts.isEmpty() ? "no root inode" : Paths.join(parts)));
    }

    /** The id of the directory at {@code parts}, reading only directory entries. */
    private static long resolveDir(ReadOnlyTransaction t, List<String> parts, String forPath) {
        if (parts.isEmpty()) {
            return ROOT;
        }
        DirEntry e = walk(t, parts);
        if (e.type() != InodeType.DIRECTORY) {
            throw new FsException(Code.NOT_DIRECTORY, forPath);
        }
        return e.inode();
    }

    /** Follows the names from the root (each read with a conflict); every name but the last must be a directory. */
    private static DirEntry walk(ReadOnlyTransaction t, List<String> parts) {
        DirEntry e = null;
        long cur = ROOT;
        for (int i = 0; i < parts.size(); i++) {
            if (e != null && e.type() != InodeType.DIRECTORY) {
                throw new FsException(Code.NOT_DIRECTORY, Paths.join(parts.subList(0, i)));
            }
            byte[] key = MetaKeys.dentry(cur, parts.get(i));
            e = MetaKeys.decodeEntry(cur, key, t.get(key).orElseThrow(() -> new FsException(Code.NOT_FOUND, Paths.join(parts))));
            cur = e.inode();
        }
        return e;
    }

    private static DirEntry entry(Transaction t, long parent, List<String> parts, String path) {
        if (parts.isEmpty()) {
            throw new FsException(Code.INVALID_ARGUMENT, "the root directory has no entry");
        }
        byte[] key = MetaKeys.dentry(parent, parts.getLast());
        return MetaKeys.decodeEntry(parent, key, t.get(key).orElseThrow(() -> new FsException(Code.NOT_FOUND, path)));
    }

    private static Optional<Inode> loadInode(ReadOnlyTransaction t, long id) {
        return t.get(MetaKeys.inode(id)).map(v -> Inode.decode(id, v));
    }

    private static List<DirEntry> children(ReadOnlyTransaction t, long dir, String after, int limit) {
        byte[] prefix = MetaKeys.dentries(dir);
        KeySelector begin = after.isEmpty() ? KeySelector.inclusive(prefix) : KeySelector.exclusive(MetaKeys.dentry(dir, after));
        List<DirEntry> out = new ArrayList<>();
        for (KeyValue kv : t.getRange(begin, KeySelector.exclusive(Keys.prefixEnd(prefix)), limit).kvs()) {
            out.add(MetaKeys.decodeEntry(dir, kv.key(), kv.value()));
        }
        return out;
    }

    private static List<KeyValue> prefix(ReadOnlyTransaction t, byte[] prefix, int limit) {
        return t.getRange(KeySelector.inclusive(prefix), KeySelector.exclusive(Keys.prefixEnd(prefix)), limit).kvs();
    }

    private static void checkName(String name) {
        if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            throw new FsException(Code.NAME_TOO_LONG, name.substring(0, 16) + "... is longer than " + MAX_NAME_BYTES + " bytes");
        }
    }

    private static long now() {
        return System.currentTimeMillis() * 1_000_000L;
    }
}
