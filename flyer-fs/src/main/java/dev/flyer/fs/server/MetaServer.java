package dev.flyer.fs.server;

import dev.flyer.fs.client.StorageClient;
import dev.flyer.fs.kv.KvEngine;
import dev.flyer.fs.kv.TransactionRunner;
import dev.flyer.fs.meta.DirEntry;
import dev.flyer.fs.meta.FsException;
import dev.flyer.fs.meta.Inode;
import dev.flyer.fs.meta.InodeType;
import dev.flyer.fs.meta.Layout;
import dev.flyer.fs.meta.MetaApi;
import dev.flyer.fs.meta.MetaService;
import dev.flyer.fs.meta.MetaStore;
import dev.flyer.fs.mgmtd.MgmtdClient;
import dev.flyer.fs.mgmtd.MgmtdConfig;
import dev.flyer.fs.rpc.RpcServer;
import dev.flyer.fs.storage.ChunkId;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A metadata server: a stateless {@link MetaStore} over the KV, plus what needs storage: exact
 * lengths on close (from the chunks' metadata on every chain of the file), truncation of chunks,
 * and the collector that removes unlinked files' chunks after {@code gcDelayNs} (never while a
 * write session is open). It registers with the cluster manager so clients can find it.
 */
public final class MetaServer implements MetaApi, AutoCloseable {
    private final int id;
    private final MetaStore store;
    private final StorageClient storage;
    private final MgmtdClient mgmtd;
    private final RpcServer rpc = new RpcServer();
    private final String address;
    private final ScheduledExecutorService loop;
    private final long gcDelayNs;
    private final long sessionTimeoutMs;

    public MetaServer(int id, KvEngine kv, String host, int port, List<String> mgmtdAddresses, MgmtdConfig timing,
            long gcDelayNs) {
        this(id, kv, host, port, mgmtdAddresses, timing, gcDelayNs, defaultSessionTimeoutMs(timing));
    }

    /** Five failure timeouts: how long a write session may go unrenewed before its writer is taken for dead. */
    public static long defaultSessionTimeoutMs(MgmtdConfig timing) {
        return TimeUnit.NANOSECONDS.toMillis(timing.failureTimeoutNs()) * 5;
    }

    /**
     * @param sessionTimeoutMs a write session not renewed for this long belongs to a dead writer: it is
     *                         closed and the file's exact length recovered from storage
     */
    public MetaServer(int id, KvEngine kv, String host, int port, List<String> mgmtdAddresses, MgmtdConfig timing,
            long gcDelayNs, long sessionTimeoutMs) {
        this(id, kv, host, port, mgmtdAddresses, timing, gcDelayNs, sessionTimeoutMs, rpc -> { });
    }

    /**
     * @param alsoServe registers more services on this server's RPC endpoint before it starts: a
     *                  metadata process that holds the KV serves it to the cluster managers this way
     */
    public MetaServer(int id, KvEngine kv, String host, int port, List<String> mgmtdAddresses, MgmtdConfig timing,
            long gcDelayNs, long sessionTimeoutMs, Consumer<RpcServer> alsoServe) {
        this.id = id;
        this.gcDelayNs = gcDelayNs;
        this.sessionTimeoutMs = sessionTimeoutMs;
        this.mgmtd = new MgmtdClient(mgmtdAddresses, timing.heartbeatIntervalNs(), timing.failureTimeoutNs());
        this.storage = new StorageClient(mgmtd, timing.failureTimeoutNs() * 4, timing.failureTimeoutNs(),
                (1L << 62) | id);
        this.store = new MetaStore(TransactionRunner.defaults(kv), this::chainTableSize, 1 << 20, 16);
        MetaService.register(this, rpc, !kv.remote());
        alsoServe.accept(rpc);
        address = host + ":" + rpc.start(host, port).getPort();
        loop = Executors.newScheduledThreadPool(1, r -> {
            Thread t = new Thread(r, "flyer-meta-" + id);
            t.setDaemon(true);
            return t;
        });
        loop.scheduleWithFixedDelay(this::heartbeat, 0, timing.heartbeatIntervalNs(), TimeUnit.NANOSECONDS);
        loop.scheduleWithFixedDelay(this::collect, gcDelayNs, Math.max(gcDelayNs / 2, 1_000_000), TimeUnit.NANOSECONDS);
    }

    public String address() {
        return address;
    }

    private int chainTableSize() {
        int n = mgmtd.routing().chains().size();
        if (n == 0) {
            n = mgmtd.refresh().chains().size();
        }
        if (n == 0) {
            throw new FsException(FsException.Code.UNAVAILABLE, "the cluster has no chains yet");
        }
        return n;
    }

    private void heartbeat() {
        try {
            mgmtd.heartbeat(false, id, address, Map.of());
            mgmtd.refresh();
        } catch (RuntimeException e) {
            // the cluster manager may be failing over; the next beat retries
        }
    }

    /** Prunes dead writers' sessions (recovering exact lengths), then removes the chunks of unlinked files whose delay passed and that no writer holds open. */
    void collect() {
        try {
            for (long[] stale : store.staleSessions(System.currentTimeMillis() - sessionTimeoutMs)) {
                closeWrite(stale[0], stale[1]);
            }
            for (Inode i : store.collectible(System.nanoTime() - gcDelayNs)) {
                storage.remove(i.id(), i.layout(), 0);
                store.forget(i.id());
            }
        } catch (RuntimeException e) {
            // retried on the next round; nothing is forgotten before its chunks are gone
        }
    }

    @Override
    public Inode stat(String path) {
        return store.stat(path);
    }

    @Override
    public Inode statInode(long inode) {
        return store.statInode(inode);
    }

    @Override
    public List<DirEntry> list(String path, String after, int limit) {
        return store.list(path, after, limit);
    }

    @Override
    public Inode create(String path, int mode, int chunkSize, long client, long request) {
        return store.create(path, mode, chunkSize, client, request);
    }

    @Override
    public Inode mkdir(String path, int mode, long client, long request) {
        return store.mkdir(path, mode, client, request);
    }

    @Override
    public Inode mkdirs(String path, int mode) {
        return store.mkdirs(path, mode);
    }

    @Override
    public Inode symlink(String path, String target, long client, long request) {
        return store.symlink(path, target, client, request);
    }

    @Override
    public Inode unlink(String path, long client, long request) {
        return store.unlink(path, client, request);
    }

    @Override
    public void rmdir(String path, long client, long request) {
        store.rmdir(path, client, request);
    }

    @Override
    public void rename(String from, String to, long client, long request) {
        store.rename(from, to, client, request);
    }

    @Override
    public long openWrite(long inode, long client) {
        return store.openWrite(inode, client);
    }

    @Override
    public Inode extendLength(long inode, long length) {
        return store.extendLength(inode, length);
    }

    @Override
    public Inode renewWrite(long inode, long session, long length) {
        return store.renewWrite(inode, session, length);
    }

    @Override
    public Inode sync(long inode) {
        Inode i = store.statInode(inode);
        return i.type() == InodeType.FILE ? store.setLength(inode, storage.length(inode, i.layout())) : i;
    }

    @Override
    public Inode closeWrite(long inode, long session) {
        Inode i;
        try {
            i = store.statInode(inode);
        } catch (FsException gone) {
            return store.closeWrite(inode, session, 0);
        }
        long exact = i.type() == InodeType.FILE ? storage.length(inode, i.layout()) : i.length();
        return store.closeWrite(inode, session, exact);
    }

    @Override
    public Inode truncate(String path, long length) {
        Inode i = store.truncate(path, length);
        Layout l = i.layout();
        long cs = l.chunkSize();
        storage.remove(i.id(), l, (length + cs - 1) / cs);
        if (length % cs != 0) {
            long idx = length / cs;
            int chain = l.chainOf(idx);
            byte[] tail = storage.read(chain, new ChunkId(i.id(), idx), 0, (int) (length % cs));
            if (tail.length > 0 || length > storage.length(i.id(), l)) {
                storage.replace(chain, new ChunkId(i.id(), idx), java.util.Arrays.copyOf(tail, (int) (length % cs)));
            }
        } else if (length > 0 && storage.length(i.id(), l) < length) {
            long idx = length / cs - 1;
            byte[] last = storage.read(l.chainOf(idx), new ChunkId(i.id(), idx), 0, (int) cs);
            storage.replace(l.chainOf(idx), new ChunkId(i.id(), idx), java.util.Arrays.copyOf(last, (int) cs));
        }
        return i;
    }

    @Override
    public void close() {
        loop.shutdownNow();
        rpc.close();
    }
}
