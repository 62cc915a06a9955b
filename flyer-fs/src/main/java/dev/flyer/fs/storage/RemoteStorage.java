package dev.flyer.fs.storage;

import dev.flyer.fs.rpc.MessageReader;
import dev.flyer.fs.rpc.MessageWriter;
import dev.flyer.fs.rpc.RpcClient;
import dev.flyer.fs.rpc.RpcException;
import dev.flyer.fs.rpc.SharedBuffers;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A {@link StorageApi} served by another process (the client side of {@link StorageService}).
 *
 * <p>Payloads of {@link StorageService#SHM_MIN_BYTES} or more travel through this process's
 * {@link SharedBuffers} while the peer can map them: a write's bytes are copied into a slot and
 * the request names it (the peer copies them out, checking their CRC32C); a read names a slot the
 * peer reads the chunk file into, and the reply carries the bytes' CRC32C, which this side checks
 * after copying them to the caller (a mismatch is {@code CHECKSUM_MISMATCH}, so the caller tries
 * another replica). A peer that cannot map the region (another host, an older server) answers
 * {@code SHM_UNAVAILABLE} or {@code NO_SUCH_METHOD} once; from then on this peer gets sockets. A
 * storage node forwarding bytes it received through shared memory names the sender's slot again
 * ({@link WriteRequest#source}), so a chain's replicas all copy from the client's slot. A
 * call that times out retires its slot (the peer may still be inside it). When no slot is free the
 * call uses the socket rather than wait.
 *
 * <p>Committed reads first try {@link LocalReads}: on the same host the client reads the chunk
 * file itself under a lease from the node, and asks the node only when that cannot answer.
 */
final class RemoteStorage implements StorageApi {
    private final String address;
    private final long timeoutNs;
    private final RpcClient rpc;
    private final SharedBuffers shm;
    private volatile boolean shmOk;
    private final LocalReads local;

    RemoteStorage(String address, long timeoutNs, SharedBuffers shm) {
        this.address = address;
        this.timeoutNs = timeoutNs;
        this.rpc = RpcClient.to(address);
        this.shm = shm;
        this.shmOk = shm != null;
        this.local = shm != null && StorageNode.LOCAL_READS ? new LocalReads(this::lease) : null;
    }

    @Override
    public boolean readsLocally() {
        return local != null && local.enabled();
    }

    /** A lease for a local read, or null when the node cannot give one to this process (another host, an older server). */
    private LocalLease lease(long targetId, ChunkId c) {
        try {
            return rpc.call(StorageService.LEASE, w -> w.putLong(targetId).putLong(c.inode()).putLong(c.index()),
                    StorageService::readLease, timeoutNs);
        } catch (RpcException e) {
            if (isNoSharedMemory(e)) {
                return null;
            }
            throw translate(e);
        }
    }

    /** Whether payloads to this peer still go through shared memory. */
    boolean sharedMemory() {
        return shmOk;
    }

    private <T> T call(int method, Consumer<MessageWriter> body, Function<MessageReader, T> parse) {
        try {
            return rpc.call(method, body, parse, timeoutNs);
        } catch (RpcException e) {
            throw translate(e);
        }
    }

    private StorageException translate(RpcException e) {
        if (e.domain().equals("storage")) {
            StorageException.Code code = StorageException.Code.valueOf(e.code());
            String detail = e.detail();
            return new StorageException(code, detail.startsWith(code + ": ") ? detail.substring(code.name().length() + 2) : detail);
        }
        return new StorageException(StorageException.Code.TIMEOUT, "storage at " + address + ": " + e.getMessage());
    }

    /** Thrown inside a shared-memory call when the peer cannot use it: the caller falls back to the socket. */
    private static final class NoSharedMemory extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NoSharedMemory() {
            super(null, null, false, false);
        }
    }

    /** A call whose payload sits in {@code slot}: releases it after a definite answer, retires it otherwise. */
    private <T> T callShm(SharedBuffers.Slot slot, int method, Consumer<MessageWriter> body, Function<MessageReader, T> parse) {
        boolean definite = true;
        try {
            return rpc.call(method, body, parse, timeoutNs);
        } catch (RpcException e) {
            if (isNoSharedMemory(e)) {
                shmOk = false;
                throw new NoSharedMemory();
            }
            definite = !e.domain().equals("rpc") || e.code().equals("BAD_SHM_REF");
            throw translate(e);
        } finally {
            if (definite) {
                slot.release();
            } else {
                slot.retire();
            }
        }
    }

    private static boolean isNoSharedMemory(RpcException e) {
        return e.domain().equals("rpc") && (e.code().equals("SHM_UNAVAILABLE") || e.code().equals("NO_SUCH_METHOD"));
    }

    private void writeHeader(MessageWriter w, WriteRequest q) {
        w.putLong(q.targetId()).putInt(q.chainId()).putLong(q.chainVersion()).putLong(q.chunk().inode())
                .putLong(q.chunk().index()).putInt(q.offset());
    }

    private void writeTrailer(MessageWriter w, WriteRequest q) {
        w.putBool(q.fullReplace()).putLong(q.updateVersion()).putLong(q.clientId()).putLong(q.seq()).putLong(q.signature());
    }

    @Override
    public ChunkMeta write(WriteRequest q) {
        byte[] data = q.data();
        boolean shared = shmOk && data.length >= StorageService.SHM_MIN_BYTES;
        if (shared && q.source() != null) { // a forward of bytes that arrived through shared memory: name that slot
            try {
                return rpc.call(StorageService.WRITE_SHM, w -> writeShm(w, q, q.source().ref(), q.source().crc()),
                        StorageService::readMeta, timeoutNs);
            } catch (RpcException e) {
                if (!isNoSharedMemory(e)) {
                    throw translate(e);
                }
                shmOk = false;
            }
        }
        SharedBuffers.Slot slot = shared && shmOk ? shm.acquire(data.length) : null;
        if (slot != null) {
            MemorySegment.copy(data, 0, slot.segment(), ValueLayout.JAVA_BYTE, 0, data.length);
            int crc = ChunkEngine.crc(data, 0, data.length);
            try {
                return callShm(slot, StorageService.WRITE_SHM, w -> writeShm(w, q, slot.ref(), crc), StorageService::readMeta);
            } catch (NoSharedMemory e) {
                // fall through to the socket
            }
        }
        return call(StorageService.WRITE, w -> {
            writeHeader(w, q);
            w.putBytes(data);
            writeTrailer(w, q);
        }, StorageService::readMeta);
    }

    /** A WRITE_SHM body: the request's fields around the slot that holds its bytes. */
    private void writeShm(MessageWriter w, WriteRequest q, SharedBuffers.Ref ref, int crc) {
        writeHeader(w, q);
        StorageService.putShmRef(w, ref);
        w.putInt(q.data().length).putInt(crc);
        writeTrailer(w, q);
    }

    @Override
    public byte[] read(long targetId, ChunkId c, int offset, int length, boolean relaxed) {
        return call(StorageService.READ, w -> w.putLong(targetId).putLong(c.inode()).putLong(c.index()).putInt(offset)
                .putInt(length).putBool(relaxed), MessageReader::getBytes);
    }

    @Override
    public ReadAhead readAhead(long targetId, ChunkId c, int length) {
        return readsLocally() ? local.readAhead(targetId, c, length) : null;
    }

    @Override
    public int readInto(long targetId, ChunkId c, int offset, int length, boolean relaxed, byte[] dst, int dstOffset) {
        if (!relaxed && readsLocally()) {
            int n = local.read(targetId, c, offset, length, dst, dstOffset);
            if (n >= 0) {
                return n;
            }
        }
        SharedBuffers.Slot slot = shmOk && length >= StorageService.SHM_MIN_BYTES
                ? shm.acquire(length + 2 * ChunkMeta.BLOCK_BYTES) : null;
        if (slot != null) {
            try {
                return callShm(slot, StorageService.READ_SHM, w -> {
                    w.putLong(targetId).putLong(c.inode()).putLong(c.index()).putInt(offset).putInt(length).putBool(relaxed);
                    StorageService.putShmRef(w, slot.ref());
                    w.putInt(shm.slotBytes());
                }, r -> copyOut(slot, r.getInt(), r.getInt(), c, dst, dstOffset));
            } catch (NoSharedMemory e) {
                // fall through to the socket
            }
        }
        return call(StorageService.READ_INTO, w -> w.putLong(targetId).putLong(c.inode()).putLong(c.index()).putInt(offset)
                .putInt(length).putBool(relaxed), r -> r.getBytesInto(dst, dstOffset));
    }

    private static int copyOut(SharedBuffers.Slot slot, int n, int crc, ChunkId c, byte[] dst, int dstOffset) {
        MemorySegment.copy(slot.segment(), ValueLayout.JAVA_BYTE, 0, dst, dstOffset, n);
        if (ChunkEngine.crc(dst, dstOffset, n) != crc) {
            throw new StorageException(StorageException.Code.CHECKSUM_MISMATCH, "read of chunk " + c
                    + " through shared memory: the bytes do not match the server's CRC32C");
        }
        return n;
    }

    @Override
    public List<ChunkMeta> chunkMetas(long targetId, long inode) {
        return call(StorageService.METAS, w -> w.putLong(targetId).putLong(inode), StorageService::readMetas);
    }

    @Override
    public void removeChunks(long targetId, int chainId, long chainVersion, long inode, long fromIndex) {
        call(StorageService.REMOVE, w -> w.putLong(targetId).putInt(chainId).putLong(chainVersion).putLong(inode)
                .putLong(fromIndex), r -> null);
    }

    @Override
    public void syncDone(long targetId, long chainVersion) {
        call(StorageService.SYNC_DONE, w -> w.putLong(targetId).putLong(chainVersion), r -> null);
    }

    @Override
    public void syncChunk(long targetId, long chainVersion, ChunkId c, long version, byte[] content) {
        call(StorageService.SYNC_CHUNK, w -> w.putLong(targetId).putLong(chainVersion).putLong(c.inode()).putLong(c.index())
                .putLong(version).putBytes(content), r -> null);
    }
}
