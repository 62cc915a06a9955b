package dev.flyer.fs.storage;

import dev.flyer.fs.rpc.MessageReader;
import dev.flyer.fs.rpc.MessageWriter;
import dev.flyer.fs.rpc.RpcClient;
import dev.flyer.fs.rpc.RpcException;
import dev.flyer.fs.rpc.RpcServer;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The storage service's RPC methods (400-499): {@link #register} serves a {@link StorageApi};
 * {@link #remote} is a {@link StorageApi} that calls one. Storage errors cross the wire with their
 * {@link StorageException.Code}; a call that times out or cannot connect is {@code TIMEOUT}.
 */
public final class StorageService {
    static final int WRITE = 400;
    static final int READ = 401;
    static final int METAS = 402;
    static final int REMOVE = 403;
    static final int SYNC_DONE = 404;
    static final int SYNC_CHUNK = 405;
    static final int READ_INTO = 406;

    private StorageService() {}

    /** Serves a storage node; its reads go from the chunk file straight into the response frame. */
    public static void register(StorageNode node, RpcServer rpc) {
        register((StorageApi) node, rpc);
        rpc.handleInline(READ_INTO, (req, resp) -> {
            long target = req.getLong();
            ChunkId chunk = chunk(req);
            int offset = req.getInt();
            int length = req.getInt();
            boolean relaxed = req.getBool();
            io.netty.buffer.ByteBuf out = resp.buffer();
            int lengthAt = out.writerIndex();
            out.writeInt(0);
            int n = node.readInto(target, chunk, offset, length, relaxed, capacity -> {
                out.ensureWritable(capacity);
                return out.nioBuffer(out.writerIndex(), capacity);
            });
            out.setInt(lengthAt, n);
            out.writerIndex(lengthAt + 4 + n);
        });
    }

    public static void register(StorageApi api, RpcServer rpc) {
        rpc.errors(t -> t instanceof StorageException s ? new String[] {"storage", s.code().name()} : null);
        rpc.handle(WRITE, (req, resp) -> writeMeta(resp, api.write(readWrite(req))));
        rpc.handleInline(READ, (req, resp) -> resp.putBytes(api.read(req.getLong(), chunk(req), req.getInt(), req.getInt(), req.getBool())));
        rpc.handleInline(METAS, (req, resp) -> {
            List<ChunkMeta> metas = api.chunkMetas(req.getLong(), req.getLong());
            resp.putInt(metas.size());
            metas.forEach(m -> writeMeta(resp, m));
        });
        rpc.handle(REMOVE, (req, resp) -> api.removeChunks(req.getLong(), req.getInt(), req.getLong(), req.getLong(), req.getLong()));
        rpc.handle(SYNC_DONE, (req, resp) -> api.syncDone(req.getLong(), req.getLong()));
        rpc.handle(SYNC_CHUNK, (req, resp) -> api.syncChunk(req.getLong(), req.getLong(), chunk(req), req.getLong(), req.getBytes()));
    }

    private static ChunkId chunk(MessageReader r) {
        return new ChunkId(r.getLong(), r.getLong());
    }

    private static WriteRequest readWrite(MessageReader r) {
        return new WriteRequest(r.getLong(), r.getInt(), r.getLong(), chunk(r), r.getInt(), r.getBytes(), r.getBool(),
                r.getLong(), r.getLong(), r.getLong(), r.hasMore() ? r.getLong() : 0);
    }

    private static void writeMeta(MessageWriter w, ChunkMeta m) {
        w.struct(x -> x.putLong(m.id().inode()).putLong(m.id().index()).putLong(m.committedVersion()).putLong(m.pendingVersion())
                .putLong(m.chainVersion()).putInt(m.committedLength()).putInts(m.committedCrcs())
                .putInt(m.pendingLength()).putInts(m.pendingCrcs()));
    }

    private static ChunkMeta readMeta(MessageReader r) {
        return r.struct(x -> new ChunkMeta(new ChunkId(x.getLong(), x.getLong()), x.getLong(), x.getLong(), x.getLong(),
                x.getInt(), x.getInts(), x.getInt(), x.getInts()));
    }

    private static List<ChunkMeta> readMetas(MessageReader r) {
        int n = r.getInt();
        List<ChunkMeta> out = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(readMeta(r));
        }
        return out;
    }

    /** A {@link StorageApi} served at {@code address}. */
    public static StorageApi remote(String address, long timeoutNs) {
        RpcClient rpc = RpcClient.to(address);
        return new StorageApi() {
            private <T> T call(int method, Consumer<MessageWriter> body, Function<MessageReader, T> parse) {
                try {
                    return rpc.call(method, body, parse, timeoutNs);
                } catch (RpcException e) {
                    if (e.domain().equals("storage")) {
                        StorageException.Code code = StorageException.Code.valueOf(e.code());
                        String detail = e.detail();
                        throw new StorageException(code, detail.startsWith(code + ": ") ? detail.substring(code.name().length() + 2) : detail);
                    }
                    throw new StorageException(StorageException.Code.TIMEOUT, "storage at " + address + ": " + e.getMessage());
                }
            }

            @Override
            public ChunkMeta write(WriteRequest q) {
                return call(WRITE, w -> w.putLong(q.targetId()).putInt(q.chainId()).putLong(q.chainVersion())
                        .putLong(q.chunk().inode()).putLong(q.chunk().index()).putInt(q.offset()).putBytes(q.data())
                        .putBool(q.fullReplace()).putLong(q.updateVersion()).putLong(q.clientId()).putLong(q.seq())
                        .putLong(q.signature()),
                        StorageService::readMeta);
            }

            @Override
            public byte[] read(long targetId, ChunkId c, int offset, int length, boolean relaxed) {
                return call(READ, w -> w.putLong(targetId).putLong(c.inode()).putLong(c.index()).putInt(offset).putInt(length)
                        .putBool(relaxed), MessageReader::getBytes);
            }

            @Override
            public int readInto(long targetId, ChunkId c, int offset, int length, boolean relaxed, byte[] dst, int dstOffset) {
                return call(READ_INTO, w -> w.putLong(targetId).putLong(c.inode()).putLong(c.index()).putInt(offset).putInt(length)
                        .putBool(relaxed), r -> r.getBytesInto(dst, dstOffset));
            }

            @Override
            public List<ChunkMeta> chunkMetas(long targetId, long inode) {
                return call(METAS, w -> w.putLong(targetId).putLong(inode), StorageService::readMetas);
            }

            @Override
            public void removeChunks(long targetId, int chainId, long chainVersion, long inode, long fromIndex) {
                call(REMOVE, w -> w.putLong(targetId).putInt(chainId).putLong(chainVersion).putLong(inode).putLong(fromIndex), r -> null);
            }

            @Override
            public void syncDone(long targetId, long chainVersion) {
                call(SYNC_DONE, w -> w.putLong(targetId).putLong(chainVersion), r -> null);
            }

            @Override
            public void syncChunk(long targetId, long chainVersion, ChunkId c, long version, byte[] content) {
                call(SYNC_CHUNK, w -> w.putLong(targetId).putLong(chainVersion).putLong(c.inode()).putLong(c.index())
                        .putLong(version).putBytes(content), r -> null);
            }
        };
    }
}
