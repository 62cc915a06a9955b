package dev.flyer.fs.client;

import dev.flyer.fs.chain.Chain;
import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.RoutingInfo;
import dev.flyer.fs.meta.FsException;
import dev.flyer.fs.meta.Layout;
import dev.flyer.fs.mgmtd.MgmtdClient;
import dev.flyer.fs.storage.ChunkId;
import dev.flyer.fs.storage.ChunkMeta;
import dev.flyer.fs.storage.ReadAhead;
import dev.flyer.fs.storage.StorageApi;
import dev.flyer.fs.storage.StorageException;
import dev.flyer.fs.storage.StorageException.Code;
import dev.flyer.fs.storage.StorageService;
import dev.flyer.fs.storage.WriteRequest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Chunk I/O against the chains (3FS src/client/storage/StorageClientImpl.cc): writes go to the
 * chain's head with this client's id and a sequence number, so a retry after a lost reply is
 * applied once; reads go to a random serving replica (one whose files this host can read first)
 * and fail over to the others on a checksum
 * mismatch, a pending version or a dead node. Every operation retries with refreshed routing until
 * {@code deadlineNs} (set it longer than failure detection), then fails with
 * {@link FsException.Code#UNAVAILABLE} naming the chain and the last error.
 */
public final class StorageClient {
    private final MgmtdClient mgmtd;
    private final long deadlineNs;
    private final long callTimeoutNs;
    private final long clientId;
    private final AtomicLong seq = new AtomicLong();
    private final AtomicLong retries = new AtomicLong();
    private volatile String lastRetryReason = "";
    private final Map<String, StorageApi> apis = new ConcurrentHashMap<>();

    public StorageClient(MgmtdClient mgmtd, long deadlineNs, long callTimeoutNs, long clientId) {
        this.mgmtd = mgmtd;
        this.deadlineNs = deadlineNs;
        this.callTimeoutNs = callTimeoutNs;
        this.clientId = clientId;
    }

    private StorageApi api(RoutingInfo r, int node) {
        String addr = r.nodeAddresses().get(node);
        if (addr == null) {
            throw new StorageException(Code.TIMEOUT, "no address for storage node " + node);
        }
        return apis.computeIfAbsent(addr, a -> StorageService.remote(a, callTimeoutNs));
    }

    private interface Attempt<T> {
        T run(RoutingInfo routing, Chain chain);
    }

    private <T> T retry(int chainId, String what, Attempt<T> attempt) {
        long end = System.nanoTime() + deadlineNs;
        long backoffNs = TimeUnit.MILLISECONDS.toNanos(2);
        RuntimeException last = null;
        while (true) {
            RoutingInfo r = mgmtd.routing();
            try {
                if (r.chains().isEmpty()) {
                    r = mgmtd.refresh();
                }
                return attempt.run(r, r.chain(chainId));
            } catch (StorageException e) {
                if (e.code() == Code.NO_SPACE) {
                    throw new FsException(FsException.Code.NO_SPACE, what + ": " + e.getMessage());
                }
                if (e.code() == Code.INVALID_ARGUMENT) {
                    throw new FsException(FsException.Code.INVALID_ARGUMENT, what + ": " + e.getMessage());
                }
                last = e;
            } catch (RuntimeException e) {
                last = e;
            }
            retries.incrementAndGet();
            lastRetryReason = String.valueOf(last.getMessage());
            if (System.nanoTime() > end) {
                throw new FsException(FsException.Code.UNAVAILABLE, "cluster unavailable: " + what + " on chain " + chainId
                        + " failed for " + TimeUnit.NANOSECONDS.toMillis(deadlineNs) + " ms; last error: " + last.getMessage());
            }
            LockSupport.parkNanos(backoffNs);
            backoffNs = Math.min(backoffNs * 2, TimeUnit.MILLISECONDS.toNanos(200));
            try {
                mgmtd.refresh();
            } catch (RuntimeException ignored) {
                // keep the cached routing; the loop retries until the deadline
            }
        }
    }

    /** Attempts that failed and were retried since this client started (failovers, stale routing). */
    public long retries() {
        return retries.get();
    }

    /** Why the last retry happened. */
    public String lastRetryReason() {
        return lastRetryReason;
    }

    /** Writes [offset, offset + data.length) of a chunk through its chain; returns the committed metadata. */
    public ChunkMeta write(int chainId, ChunkId chunk, int offset, byte[] data) {
        long s = seq.incrementAndGet();
        return retry(chainId, "write of chunk " + chunk, (r, c) -> {
            ChainTarget head = c.head().orElseThrow(() -> new StorageException(Code.TARGET_NOT_SERVING,
                    "chain " + chainId + " has no serving target"));
            return api(r, head.nodeId()).write(new WriteRequest(head.targetId(), chainId, c.version(), chunk, offset, data,
                    false, 0, clientId, s));
        });
    }

    /** Replaces a whole chunk with {@code content} (truncate cuts the last chunk with it). */
    public ChunkMeta replace(int chainId, ChunkId chunk, byte[] content) {
        long s = seq.incrementAndGet();
        return retry(chainId, "replace of chunk " + chunk, (r, c) -> {
            ChainTarget head = c.head().orElseThrow(() -> new StorageException(Code.TARGET_NOT_SERVING,
                    "chain " + chainId + " has no serving target"));
            return api(r, head.nodeId()).write(new WriteRequest(head.targetId(), chainId, c.version(), chunk, 0, content,
                    true, 0, clientId, s));
        });
    }

    /** Reads committed bytes of a chunk (empty when the chunk does not exist: a hole). */
    public byte[] read(int chainId, ChunkId chunk, int offset, int length) {
        byte[] dst = new byte[length];
        int n = readInto(chainId, chunk, offset, length, dst, 0);
        return n == length ? dst : java.util.Arrays.copyOf(dst, n);
    }

    /**
     * Reads committed bytes of a chunk straight into {@code dst} at {@code dstOffset}; returns how
     * many (0 when the chunk does not exist: a hole). Replicas are tried as in {@link #read}.
     */
    public int readInto(int chainId, ChunkId chunk, int offset, int length, byte[] dst, int dstOffset) {
        return retry(chainId, "read of chunk " + chunk, (r, c) -> {
            List<ChainTarget> replicas = new ArrayList<>(c.readTargets());
            if (replicas.isEmpty()) {
                throw new StorageException(Code.TARGET_NOT_SERVING, "chain " + chainId + " has no serving target");
            }
            Collections.rotate(replicas, ThreadLocalRandom.current().nextInt(replicas.size()));
            if (replicas.size() > 1) { // replicas this host reads from their files go first (stable: still spread among them)
                replicas.sort(java.util.Comparator.comparing((ChainTarget t) -> !api(r, t.nodeId()).readsLocally()));
            }
            StorageException last = null;
            for (ChainTarget t : replicas) {
                try {
                    return api(r, t.nodeId()).readInto(t.targetId(), chunk, offset, length, false, dst, dstOffset);
                } catch (StorageException e) {
                    if (e.code() == Code.NO_SUCH_CHUNK) {
                        return 0;
                    }
                    last = e;
                }
            }
            throw last;
        });
    }

    /**
     * Reads committed [0, length) of a chunk now, from a serving replica whose files this host
     * reads, for use later ({@link ReadAhead}); null when no replica can (the caller then reads the
     * chunk when it needs it). One try, no retries: it only saves time.
     */
    public ReadAhead readAhead(int chainId, ChunkId chunk, int length) {
        try {
            RoutingInfo r = mgmtd.routing();
            List<ChainTarget> replicas = new ArrayList<>(r.chain(chainId).readTargets());
            Collections.rotate(replicas, ThreadLocalRandom.current().nextInt(Math.max(1, replicas.size())));
            for (ChainTarget t : replicas) {
                StorageApi api = api(r, t.nodeId());
                if (api.readsLocally()) {
                    return api.readAhead(t.targetId(), chunk, length);
                }
            }
        } catch (RuntimeException e) {
            // routing changing, a node going: the read when the bytes are needed goes the usual way
        }
        return null;
    }

    /** The exact length of a file from its chunks on storage: max over chains of index * chunkSize + length. */
    public long length(long inode, Layout layout) {
        long max = 0;
        for (int chainId : distinct(layout.chains())) {
            for (ChunkMeta m : metas(chainId, inode)) {
                max = Math.max(max, m.id().index() * layout.chunkSize() + m.committedLength());
            }
        }
        return max;
    }

    /** Chunk metadata of one file on one chain, from a serving replica. */
    public List<ChunkMeta> metas(int chainId, long inode) {
        return retry(chainId, "chunk listing of inode " + inode, (r, c) -> {
            ChainTarget t = c.readTargets().stream().findFirst().orElseThrow(() ->
                    new StorageException(Code.TARGET_NOT_SERVING, "chain " + chainId + " has no serving target"));
            return api(r, t.nodeId()).chunkMetas(t.targetId(), inode);
        });
    }

    /** Removes a file's chunks with index &gt;= {@code fromIndex} on every chain of its layout. */
    public void remove(long inode, Layout layout, long fromIndex) {
        for (int chainId : distinct(layout.chains())) {
            retry(chainId, "removal of inode " + inode + " chunks", (r, c) -> {
                ChainTarget head = c.head().orElseThrow(() -> new StorageException(Code.TARGET_NOT_SERVING,
                        "chain " + chainId + " has no serving target"));
                api(r, head.nodeId()).removeChunks(head.targetId(), chainId, c.version(), inode, fromIndex);
                return null;
            });
        }
    }

    private static int[] distinct(int[] chains) {
        return java.util.Arrays.stream(chains).distinct().toArray();
    }
}
