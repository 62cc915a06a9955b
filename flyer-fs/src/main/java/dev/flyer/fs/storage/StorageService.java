package dev.flyer.fs.storage;

import dev.flyer.fs.rpc.MessageReader;
import dev.flyer.fs.rpc.MessageWriter;
import dev.flyer.fs.rpc.RpcClient;
import dev.flyer.fs.rpc.RpcException;
import dev.flyer.fs.rpc.RpcServer;
import dev.flyer.fs.rpc.SharedBuffers;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
    static final int WRITE_SHM = 407;
    static final int READ_SHM = 408;
    static final int LEASE = 409;
    /** Payloads from this size on go through shared memory when the peer is on this host. */
    static final int SHM_MIN_BYTES = 16 << 10;

    private StorageService() {}

    /**
     * Serves a storage node; its reads go from the chunk file straight into the response frame or
     * the caller's shared buffer. They run on the I/O thread when every target reads through the
     * page cache, and on workers when a target uses direct I/O (each read waits for the disk).
     */
    public static void register(StorageNode node, RpcServer rpc) {
        register((StorageApi) node, rpc);
        // reads that go to the disk (direct I/O) must not hold the connection's I/O thread: on a worker
        boolean inline = node.targets().values().stream().noneMatch(ChunkEngine::directIo);
        java.util.function.BiConsumer<Integer, RpcServer.Handler> reads = inline ? rpc::handleInline : rpc::handle;
        reads.accept(READ_INTO, (req, resp) -> {
            ReadArgs a = ReadArgs.of(req);
            io.netty.buffer.ByteBuf out = resp.buffer();
            int lengthAt = out.writerIndex();
            out.writeInt(0);
            int n = node.readInto(a.target, a.chunk, a.offset, a.length, a.relaxed, capacity -> {
                out.ensureWritable(capacity);
                return out.nioBuffer(out.writerIndex(), capacity);
            });
            out.setInt(lengthAt, n);
            out.writerIndex(lengthAt + 4 + n);
        });
        reads.accept(READ_SHM, (req, resp) -> {
            ReadArgs a = ReadArgs.of(req);
            MemorySegment slot = SharedBuffers.peer(shmRef(req), req.getInt());
            int n = node.readInto(a.target, a.chunk, a.offset, a.length, a.relaxed, capacity -> {
                if (capacity > slot.byteSize()) {
                    throw new StorageException(StorageException.Code.INVALID_ARGUMENT, "read of " + capacity
                            + " bytes does not fit the caller's " + slot.byteSize() + "-byte buffer");
                }
                return slot.asSlice(0, capacity).asByteBuffer();
            });
            resp.putInt(n).putInt(crc(slot, n));
        });
        rpc.handleInline(LEASE, (req, resp) -> {
            LocalLease l = node.lease(req.getLong(), chunk(req));
            putShmRef(resp, l.board());
            resp.putLong(l.epoch()).putLong(l.cellOffset()).putLong(l.stamp()).putString(l.path()).putLong(l.offset()).putLong(l.version())
                    .putInt(l.length()).putInts(l.crcs()).putBool(l.direct()).putInt(l.alignment());
        });
    }

    static LocalLease readLease(MessageReader r) {
        return new LocalLease(shmRef(r), r.getLong(), r.getLong(), r.getLong(), r.getString(), r.getLong(), r.getLong(), r.getInt(),
                r.getInts(), r.getBool(), r.getInt());
    }

    /** Reads this process served from chunk files itself (same-host short-circuit reads), over all nodes. */
    public static long localReads() {
        return LocalReads.hits();
    }

    /** Chunks a sequential reader in this process read ahead from their files and then used ({@link ReadAhead}). */
    public static long readAheadsUsed() {
        return LocalReads.readAheadsUsed();
    }

    /** Reads that tried the chunk files and went to the storage service instead, by reason (diagnostics). */
    public static java.util.Map<String, Long> localReadMisses() {
        return LocalReads.misses();
    }

    public static void register(StorageApi api, RpcServer rpc) {
        rpc.errors(t -> t instanceof StorageException s ? new String[] {"storage", s.code().name()} : null);
        rpc.handle(WRITE, (req, resp) -> writeMeta(resp, api.write(readWrite(req, MessageReader::getBytes))));
        rpc.handle(WRITE_SHM, (req, resp) -> {
            WriteRequest.Source[] source = new WriteRequest.Source[1];
            WriteRequest q = readWrite(req, r -> shmPayload(r, source));
            writeMeta(resp, api.write(q.withSource(source[0])));
        });
        rpc.handle(READ, (req, resp) -> resp.putBytes(api.read(req.getLong(), chunk(req), req.getInt(), req.getInt(), req.getBool())));
        rpc.handleInline(METAS, (req, resp) -> {
            List<ChunkMeta> metas = api.chunkMetas(req.getLong(), req.getLong());
            resp.putInt(metas.size());
            metas.forEach(m -> writeMeta(resp, m));
        });
        rpc.handle(REMOVE, (req, resp) -> api.removeChunks(req.getLong(), req.getInt(), req.getLong(), req.getLong(), req.getLong()));
        rpc.handle(SYNC_DONE, (req, resp) -> api.syncDone(req.getLong(), req.getLong()));
        rpc.handle(SYNC_CHUNK, (req, resp) -> api.syncChunk(req.getLong(), req.getLong(), chunk(req), req.getLong(), req.getBytes()));
    }

    /** A read request's leading fields: target, chunk, offset, length, relaxed. */
    private record ReadArgs(long target, ChunkId chunk, int offset, int length, boolean relaxed) {
        static ReadArgs of(MessageReader r) {
            return new ReadArgs(r.getLong(), StorageService.chunk(r), r.getInt(), r.getInt(), r.getBool());
        }
    }

    static ChunkId chunk(MessageReader r) {
        return new ChunkId(r.getLong(), r.getLong());
    }

    /** A write's fields; {@code data} reads the payload (inline bytes, or a shared-memory reference). */
    private static WriteRequest readWrite(MessageReader r, Function<MessageReader, byte[]> data) {
        return new WriteRequest(r.getLong(), r.getInt(), r.getLong(), chunk(r), r.getInt(), data.apply(r), r.getBool(),
                r.getLong(), r.getLong(), r.getLong(), r.hasMore() ? r.getLong() : 0);
    }

    private static SharedBuffers.Ref shmRef(MessageReader r) {
        return new SharedBuffers.Ref(r.getString(), r.getLong(), r.getLong());
    }

    static void putShmRef(MessageWriter w, SharedBuffers.Ref ref) {
        w.putString(ref.region()).putLong(ref.token()).putLong(ref.offset());
    }

    /** The payload a write names in the caller's shared memory, copied out and checked against its CRC32C. */
    private static byte[] shmPayload(MessageReader r, WriteRequest.Source[] source) {
        SharedBuffers.Ref ref = shmRef(r);
        int length = r.getInt();
        int expected = r.getInt();
        byte[] data = SharedBuffers.peer(ref, length).toArray(ValueLayout.JAVA_BYTE);
        if (ChunkEngine.crc(data, 0, length) != expected) {
            throw new StorageException(StorageException.Code.CHECKSUM_MISMATCH, "write payload in " + ref.region()
                    + " changed under the request (its CRC32C differs)");
        }
        source[0] = new WriteRequest.Source(ref, expected);
        return data;
    }

    private static int crc(MemorySegment seg, int length) {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(seg.asSlice(0, length).asByteBuffer());
        return (int) c.getValue();
    }

    static void writeMeta(MessageWriter w, ChunkMeta m) {
        w.struct(x -> x.putLong(m.id().inode()).putLong(m.id().index()).putLong(m.committedVersion()).putLong(m.pendingVersion())
                .putLong(m.chainVersion()).putInt(m.committedLength()).putInts(m.committedCrcs())
                .putInt(m.pendingLength()).putInts(m.pendingCrcs()));
    }

    static ChunkMeta readMeta(MessageReader r) {
        return r.struct(x -> new ChunkMeta(new ChunkId(x.getLong(), x.getLong()), x.getLong(), x.getLong(), x.getLong(),
                x.getInt(), x.getInts(), x.getInt(), x.getInts()));
    }

    static List<ChunkMeta> readMetas(MessageReader r) {
        int n = r.getInt();
        List<ChunkMeta> out = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(readMeta(r));
        }
        return out;
    }

    /** A {@link StorageApi} served at {@code address}; payloads use this process's shared buffers when the peer can map them. */
    public static StorageApi remote(String address, long timeoutNs) {
        return new RemoteStorage(address, timeoutNs, SharedBuffers.local());
    }

    /** As {@link #remote(String, long)} with the given buffers, or sockets only when {@code shm} is null. */
    public static StorageApi remote(String address, long timeoutNs, SharedBuffers shm) {
        return new RemoteStorage(address, timeoutNs, shm);
    }
}
