package dev.flyer.fs.meta;

import dev.flyer.fs.kv.KvException;
import dev.flyer.fs.rpc.MessageReader;
import dev.flyer.fs.rpc.MessageWriter;
import dev.flyer.fs.rpc.RpcClient;
import dev.flyer.fs.rpc.RpcException;
import dev.flyer.fs.rpc.RpcServer;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;

/** The metadata service's RPC methods (300-399): {@link #register} serves a {@link MetaApi}, {@link #remote} calls one. */
public final class MetaService {
    private static final int STAT = 300;
    private static final int STAT_INODE = 301;
    private static final int LIST = 302;
    private static final int CREATE = 303;
    private static final int MKDIR = 304;
    private static final int MKDIRS = 305;
    private static final int SYMLINK = 306;
    private static final int UNLINK = 307;
    private static final int RMDIR = 308;
    private static final int RENAME = 309;
    private static final int OPEN_WRITE = 310;
    private static final int EXTEND = 311;
    private static final int CLOSE_WRITE = 312;
    private static final int TRUNCATE = 313;
    private static final int RENEW_WRITE = 314;
    private static final int SYNC = 315;

    private MetaService() {}

    /**
     * Serves {@code m} on {@code rpc}. With {@code readsInline} (the KV is in this process, so a
     * read never waits on the network) stat and list run on the I/O thread that received them,
     * which saves two thread hand-offs per call; everything else runs on a virtual thread.
     */
    public static void register(MetaApi m, RpcServer rpc, boolean readsInline) {
        rpc.errors(t -> t instanceof FsException f ? new String[] {"fs", f.code().name()}
                : t instanceof KvException ? new String[] {"fs", FsException.Code.UNAVAILABLE.name()} : null);
        BiConsumer<Integer, RpcServer.Handler> read = readsInline ? rpc::handleInline : rpc::handle;
        read.accept(STAT, (q, w) -> inode(w, m.stat(q.getString())));
        read.accept(STAT_INODE, (q, w) -> inode(w, m.statInode(q.getLong())));
        read.accept(LIST, (q, w) -> w.putList(m.list(q.getString(), q.getString(), q.getInt()),
                (x, e) -> x.putLong(e.parent()).putString(e.name()).putLong(e.inode()).putInt(e.type().ordinal())));
        rpc.handle(CREATE, (q, w) -> inode(w, m.create(q.getString(), q.getInt(), q.getInt(), q.getLong(), q.getLong())));
        rpc.handle(MKDIR, (q, w) -> inode(w, m.mkdir(q.getString(), q.getInt(), q.getLong(), q.getLong())));
        rpc.handle(MKDIRS, (q, w) -> inode(w, m.mkdirs(q.getString(), q.getInt())));
        rpc.handle(SYMLINK, (q, w) -> inode(w, m.symlink(q.getString(), q.getString(), q.getLong(), q.getLong())));
        rpc.handle(UNLINK, (q, w) -> inode(w, m.unlink(q.getString(), q.getLong(), q.getLong())));
        rpc.handle(RMDIR, (q, w) -> m.rmdir(q.getString(), q.getLong(), q.getLong()));
        rpc.handle(RENAME, (q, w) -> m.rename(q.getString(), q.getString(), q.getLong(), q.getLong()));
        rpc.handle(OPEN_WRITE, (q, w) -> w.putLong(m.openWrite(q.getLong(), q.getLong())));
        rpc.handle(EXTEND, (q, w) -> inode(w, m.extendLength(q.getLong(), q.getLong())));
        rpc.handle(CLOSE_WRITE, (q, w) -> inode(w, m.closeWrite(q.getLong(), q.getLong())));
        rpc.handle(TRUNCATE, (q, w) -> inode(w, m.truncate(q.getString(), q.getLong())));
        rpc.handle(RENEW_WRITE, (q, w) -> inode(w, m.renewWrite(q.getLong(), q.getLong(), q.getLong())));
        rpc.handle(SYNC, (q, w) -> inode(w, m.sync(q.getLong())));
    }

    private static void inode(MessageWriter w, Inode i) {
        w.putBool(i != null);
        if (i != null) {
            w.putLong(i.id()).putBytes(i.encode());
        }
    }

    private static Inode inode(MessageReader r) {
        return r.getBool() ? Inode.decode(r.getLong(), r.getBytes()) : null;
    }

    /** A {@link MetaApi} served at {@code address}; transport failures are {@link FsException.Code#UNAVAILABLE}. */
    public static MetaApi remote(String address, long timeoutNs) {
        RpcClient rpc = RpcClient.to(address);
        return new MetaApi() {
            private <T> T call(int method, Consumer<MessageWriter> body, Function<MessageReader, T> parse) {
                try {
                    return rpc.call(method, body, parse, timeoutNs);
                } catch (RpcException e) {
                    if (e.domain().equals("fs")) {
                        FsException.Code code = FsException.Code.valueOf(e.code());
                        String detail = e.detail();
                        throw new FsException(code, detail.startsWith(code.errno + ": ") ? detail.substring(code.errno.length() + 2) : detail);
                    }
                    throw new FsException(FsException.Code.UNAVAILABLE, "meta server " + address + ": " + e.getMessage());
                }
            }

            @Override
            public Inode stat(String path) {
                return call(STAT, w -> w.putString(path), MetaService::inode);
            }

            @Override
            public Inode statInode(long id) {
                return call(STAT_INODE, w -> w.putLong(id), MetaService::inode);
            }

            @Override
            public List<DirEntry> list(String path, String after, int limit) {
                return call(LIST, w -> w.putString(path).putString(after).putInt(limit), r -> r.getList(x ->
                        new DirEntry(x.getLong(), x.getString(), x.getLong(), InodeType.values()[x.getInt()])));
            }

            @Override
            public Inode create(String path, int mode, int chunkSize, long client, long request) {
                return call(CREATE, w -> w.putString(path).putInt(mode).putInt(chunkSize).putLong(client).putLong(request), MetaService::inode);
            }

            @Override
            public Inode mkdir(String path, int mode, long client, long request) {
                return call(MKDIR, w -> w.putString(path).putInt(mode).putLong(client).putLong(request), MetaService::inode);
            }

            @Override
            public Inode mkdirs(String path, int mode) {
                return call(MKDIRS, w -> w.putString(path).putInt(mode), MetaService::inode);
            }

            @Override
            public Inode symlink(String path, String target, long client, long request) {
                return call(SYMLINK, w -> w.putString(path).putString(target).putLong(client).putLong(request), MetaService::inode);
            }

            @Override
            public Inode unlink(String path, long client, long request) {
                return call(UNLINK, w -> w.putString(path).putLong(client).putLong(request), MetaService::inode);
            }

            @Override
            public void rmdir(String path, long client, long request) {
                call(RMDIR, w -> w.putString(path).putLong(client).putLong(request), r -> null);
            }

            @Override
            public void rename(String from, String to, long client, long request) {
                call(RENAME, w -> w.putString(from).putString(to).putLong(client).putLong(request), r -> null);
            }

            @Override
            public long openWrite(long inode, long client) {
                return call(OPEN_WRITE, w -> w.putLong(inode).putLong(client), MessageReader::getLong);
            }

            @Override
            public Inode extendLength(long inode, long length) {
                return call(EXTEND, w -> w.putLong(inode).putLong(length), MetaService::inode);
            }

            @Override
            public Inode closeWrite(long inode, long session) {
                return call(CLOSE_WRITE, w -> w.putLong(inode).putLong(session), MetaService::inode);
            }

            @Override
            public Inode renewWrite(long inode, long session, long length) {
                return call(RENEW_WRITE, w -> w.putLong(inode).putLong(session).putLong(length), MetaService::inode);
            }

            @Override
            public Inode sync(long inode) {
                return call(SYNC, w -> w.putLong(inode), MetaService::inode);
            }

            @Override
            public Inode truncate(String path, long length) {
                return call(TRUNCATE, w -> w.putString(path).putLong(length), MetaService::inode);
            }
        };
    }
}
