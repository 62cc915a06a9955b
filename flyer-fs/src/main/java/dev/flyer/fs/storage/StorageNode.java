package dev.flyer.fs.storage;

import dev.flyer.fs.chain.Chain;
import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.LocalState;
import dev.flyer.fs.chain.PublicState;
import dev.flyer.fs.chain.RoutingInfo;
import dev.flyer.fs.storage.StorageException.Code;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * A storage service: the targets of one node and chain replication between them as 3FS does it
 * (docs/design_notes.md "Data replication"; src/storage/service/StorageOperator.cc, ReliableForwarding.cc).
 *
 * <p>Write path, per chunk under the chunk's lock: the head checks the chain version, answers a
 * repeated (client, seq) with the recorded result, stages u = committed + 1 as pending, forwards
 * to the successor and waits; the tail stages and commits at once; the commit then flows back as
 * each hop's forward returns. Forwards are retried with refreshed routing until
 * {@code forwardDeadlineNs} (a lost forward or reply just repeats the same u, which a successor
 * that already committed u acknowledges when its content signature matches the head's; a stale
 * replica that holds the number u with other bytes gets the whole chunk instead). A successor whose
 * committed version is not u - 1, one whose result differs from the head's signature, or one that
 * is SYNCING gets the whole chunk. Reads return committed data only; a pending version answers
 * {@link Code#NOT_COMMITTED}.
 */
public final class StorageNode implements StorageApi, AutoCloseable {
    private record Applied(long seq, ChunkMeta result) {}

    private record ClientChunk(long clientId, ChunkId chunk) {}

    private record ChunkRef(long targetId, ChunkId chunk) {}

    private final int nodeId;
    private final Map<Long, ChunkEngine> targets;
    private final Supplier<RoutingInfo> routing;
    private final IntFunction<StorageApi> peers;
    private final long forwardDeadlineNs;
    private final Map<ClientChunk, Applied> applied = new ConcurrentHashMap<>();
    private final Map<Long, LocalState> localStates = new ConcurrentHashMap<>();
    private final java.util.Set<ChunkRef> corrupt = ConcurrentHashMap.newKeySet();
    private volatile boolean fenced;
    private final VersionBoard board = LOCAL_READS ? VersionBoard.create() : null;
    private volatile long boardRoutingVersion = -1;

    /** Whether clients on this host may read chunk files themselves ({@code -Dflyer.fs.localReads}, default true). */
    static final boolean LOCAL_READS = Boolean.parseBoolean(System.getProperty("flyer.fs.localReads", "true"));

    /**
     * @param targets   this node's targets by id
     * @param routing   the newest routing info this node knows (refreshed by its caller)
     * @param peers     how to reach another node's storage service
     */
    public StorageNode(int nodeId, Map<Long, ChunkEngine> targets, Supplier<RoutingInfo> routing,
            IntFunction<StorageApi> peers, long forwardDeadlineNs, LocalState initialState) {
        this.nodeId = nodeId;
        this.targets = Map.copyOf(targets);
        this.routing = routing;
        this.peers = peers;
        this.forwardDeadlineNs = forwardDeadlineNs;
        targets.keySet().forEach(t -> localStates.put(t, initialState));
        if (board != null) {
            targets.forEach((id, engine) -> engine.onChange(chunk -> board.bump(id, chunk)));
        }
    }

    public int nodeId() {
        return nodeId;
    }

    public Map<Long, ChunkEngine> targets() {
        return targets;
    }

    /** The local states this node reports in its heartbeats. */
    public Map<Long, LocalState> localStates() {
        return Map.copyOf(localStates);
    }

    /** Marks a target's local state (UPTODATE once it serves or its sync completed). */
    public void setLocalState(long targetId, LocalState state) {
        localStates.put(targetId, state);
    }

    /** A fenced node (cut off from the cluster manager) refuses every request. */
    public void fence(boolean value) {
        fenced = value;
        if (value && board != null) {
            board.invalidate(true);
        }
    }

    /**
     * Keeps clients' local reads valid until {@code deadlineNs} (a System.nanoTime value); a new
     * {@code routingVersion} first ends every lease taken under the old one. The storage server
     * calls it after each successful heartbeat.
     */
    public void renewLocalReads(long routingVersion, long deadlineNs) {
        if (board == null) {
            return;
        }
        if (routingVersion != boardRoutingVersion) {
            board.invalidate(false);
            boardRoutingVersion = routingVersion;
        }
        board.renew(deadlineNs);
    }

    /**
     * A lease to read {@code chunk}'s committed file directly (a client on this host), with the
     * errors a read would give: not serving, no such chunk, a pending version.
     */
    LocalLease lease(long targetId, ChunkId chunk) {
        if (board == null) {
            throw new StorageException(Code.TARGET_NOT_SERVING, "node " + nodeId + " offers no local reads");
        }
        ChunkEngine engine = readable(targetId);
        long epoch = board.epoch();
        long cell = VersionBoard.cellOffset(targetId, chunk);
        long stamp = board.stamp(cell); // before the metadata: a change after this moves the stamp
        ChunkMeta m = engine.meta(chunk);
        if (m == null) {
            throw new StorageException(Code.NO_SUCH_CHUNK, "chunk " + chunk + " does not exist");
        }
        if (m.hasPending()) {
            throw new StorageException(Code.NOT_COMMITTED, "chunk " + chunk + " has pending version " + m.pendingVersion());
        }
        if (!board.holds(epoch, cell, stamp)) {
            throw new StorageException(Code.TARGET_NOT_SERVING, "node " + nodeId + "'s local-read lease lapsed");
        }
        ChunkFiles files = engine.files();
        ChunkEngine.Location at = engine.location(chunk, m.committedVersion()); // changed since m: the stamp moved too
        return new LocalLease(board.ref(), epoch, cell, stamp, at.file().toAbsolutePath().toString(), at.offset(),
                m.committedVersion(), m.committedLength(), m.committedCrcs(), files.direct(), files.alignment());
    }

    @Override
    public ChunkMeta write(WriteRequest req) {
        ChunkEngine engine = engine(req.targetId());
        Chain chain = checkChain(req.chainId(), req.chainVersion(), req.targetId(), true);
        if (req.updateVersion() == 0 && chain.head().orElseThrow().targetId() != req.targetId()) {
            throw new StorageException(Code.TARGET_NOT_SERVING, "target " + req.targetId() + " is not the head of chain " + req.chainId());
        }
        ReentrantLock lock = engine.lock(req.chunk());
        lock.lock();
        try {
            ClientChunk key = new ClientChunk(req.clientId(), req.chunk());
            if (req.updateVersion() == 0) {
                Applied done = applied.get(key);
                if (done != null && done.seq == req.seq()) {
                    return done.result;
                }
            }
            ChunkMeta m = engine.meta(req.chunk());
            long committed = m == null ? 0 : m.committedVersion();
            long u = req.updateVersion() == 0 ? committed + 1 : req.updateVersion();
            long chainVersion;
            if (req.updateVersion() != 0 && committed >= u) {
                if (committed == u && !m.hasPending() && m.committedSignature() == req.signature()) {
                    return m; // a repeated forward: already committed here and below
                }
                if (!req.fullReplace()) { // a stale replica holding that version number with other bytes
                    throw new StorageException(Code.NEED_FULL_CHUNK, "chunk " + req.chunk() + " on target " + req.targetId()
                            + " holds v" + committed + " with other content than update v" + u);
                }
                engine.restage(req.chunk(), u, chain.version(), req.data());
                long signature = engine.meta(req.chunk()).pendingSignature();
                checkSignature(req, u, signature);
                chainVersion = forward(req, u, signature, req.data());
            } else {
                if (!req.fullReplace() && committed != u - 1) {
                    throw new StorageException(Code.NEED_FULL_CHUNK, "chunk " + req.chunk() + " on target " + req.targetId()
                            + " is at v" + committed + ", update is v" + u);
                }
                ChunkEngine.Update update = engine.prepare(req.chunk(), u, chain.version(), req.offset(), req.data(),
                        req.fullReplace());
                checkSignature(req, u, update.signature());
                chainVersion = stageAndForward(engine, req, update);
            }
            ChunkMeta result = engine.commit(req.chunk(), u, chainVersion);
            if (req.updateVersion() == 0) {
                applied.put(key, new Applied(req.seq(), result));
            }
            return result;
        } finally {
            lock.unlock();
        }
    }

    private static void checkSignature(WriteRequest req, long u, long signature) {
        if (req.updateVersion() != 0 && signature != req.signature()) {
            throw new StorageException(Code.NEED_FULL_CHUNK, "chunk " + req.chunk() + " on target " + req.targetId()
                    + " diverged: update v" + u + " applied to a different base");
        }
    }

    /**
     * Stages the update here while it is forwarded (the two disk writes overlap, as a pipeline of
     * replicas does). The pending mark goes first, so from the moment a successor could commit, this
     * replica answers reads with {@code NOT_COMMITTED} rather than the old bytes.
     */
    private long stageAndForward(ChunkEngine engine, WriteRequest req, ChunkEngine.Update update) {
        ChunkMeta before = engine.markPending(update);
        if (routing.get().chain(req.chainId()).successor(req.targetId()).isEmpty()) {
            engine.stage(update, before);
            return forward(req, update.version(), update.signature(), update.content());
        }
        CompletableFuture<Long> forwarded = CompletableFuture.supplyAsync(
                () -> forward(req, update.version(), update.signature(), update.content()), FORWARDERS);
        try {
            engine.stage(update, before);
        } catch (RuntimeException e) {
            forwarded.exceptionally(t -> 0L).join(); // the forward holds no lock; let it end before the error goes up
            throw e;
        }
        try {
            return forwarded.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    private static final java.util.concurrent.ExecutorService FORWARDERS =
            java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    /**
     * Forwards update u to the successor until it acknowledges; returns the chain version it
     * committed under. {@code content} is the whole new chunk, sent when the successor needs it.
     */
    private long forward(WriteRequest req, long u, long signature, byte[] content) {
        long deadline = System.nanoTime() + forwardDeadlineNs;
        boolean full = false;
        long backoffNs = 1_000_000;
        while (true) {
            Chain chain = routing.get().chain(req.chainId());
            var succ = chain.successor(req.targetId());
            if (succ.isEmpty()) {
                if (chain.target(req.targetId()).map(t -> t.state().writable()).orElse(false)) {
                    return chain.version();
                }
                throw new StorageException(Code.TARGET_NOT_SERVING, "target " + req.targetId() + " left chain " + req.chainId());
            }
            ChainTarget s = succ.get();
            boolean sendFull = full || s.state() == PublicState.SYNCING || req.fullReplace();
            byte[] payload = sendFull ? content : req.data();
            try {
                peers.apply(s.nodeId()).write(req.forward(s.targetId(), chain.version(), u, payload, sendFull, signature));
                return chain.version();
            } catch (StorageException e) {
                if (e.code() == Code.NEED_FULL_CHUNK) {
                    full = true;
                    continue;
                }
                if (!e.retryable() || System.nanoTime() > deadline) {
                    throw new StorageException(Code.TIMEOUT, "forwarding " + req.chunk() + " v" + u + " from target "
                            + req.targetId() + " to " + s.targetId() + " failed: " + e.getMessage());
                }
            } catch (RuntimeException e) {
                if (System.nanoTime() > deadline) {
                    throw new StorageException(Code.TIMEOUT, "forwarding " + req.chunk() + " v" + u + " to target "
                            + s.targetId() + " failed: " + e);
                }
            }
            LockSupport.parkNanos(backoffNs);
            backoffNs = Math.min(backoffNs * 2, 100_000_000);
        }
    }

    @Override
    public byte[] read(long targetId, ChunkId chunk, int offset, int length, boolean relaxed) {
        ChunkEngine engine = readable(targetId);
        try {
            return engine.read(chunk, offset, length, relaxed);
        } catch (StorageException e) {
            throw noteCorruption(e, targetId, chunk);
        }
    }

    /** As {@link #read}, into a buffer obtained from {@code buffer} (see {@link ChunkEngine#readInto}). */
    public int readInto(long targetId, ChunkId chunk, int offset, int length, boolean relaxed,
            java.util.function.IntFunction<java.nio.ByteBuffer> buffer) {
        ChunkEngine engine = readable(targetId);
        try {
            return engine.readInto(chunk, offset, length, relaxed, buffer);
        } catch (StorageException e) {
            throw noteCorruption(e, targetId, chunk);
        }
    }

    private StorageException noteCorruption(StorageException e, long targetId, ChunkId chunk) {
        if (e.code() == Code.CHECKSUM_MISMATCH) {
            corrupt.add(new ChunkRef(targetId, chunk));
        }
        return e;
    }

    private ChunkEngine readable(long targetId) {
        ChunkEngine engine = engine(targetId);
        RoutingInfo r = routing.get();
        boolean serving = r.chains().values().stream().flatMap(c -> c.targets().stream())
                .anyMatch(t -> t.targetId() == targetId && t.state() == PublicState.SERVING);
        if (!serving) {
            throw new StorageException(Code.TARGET_NOT_SERVING, "target " + targetId + " is not serving reads");
        }
        return engine;
    }

    /** Chunks found corrupt and not yet repaired. */
    public int corruptChunks() {
        return corrupt.size();
    }

    /**
     * Repairs chunks whose checksum failed: a one-chunk re-sync pulled from another serving replica
     * holding the same committed version, swapped in under the chunk's lock. Returns how many
     * were repaired; the rest wait for a later round (a write in flight, no healthy replica).
     */
    public int repairCorrupt() {
        int repaired = 0;
        for (ChunkRef ref : corrupt) {
            ChunkEngine engine = targets.get(ref.targetId());
            RoutingInfo r = routing.get();
            for (Chain c : r.chains().values()) {
                if (c.target(ref.targetId()).isEmpty()) {
                    continue;
                }
                for (ChainTarget other : c.readTargets()) {
                    if (other.targetId() != ref.targetId() && tryRepair(engine, ref, other)) {
                        break;
                    }
                }
            }
            if (!corrupt.contains(ref)) {
                repaired++;
            }
        }
        return repaired;
    }

    private boolean tryRepair(ChunkEngine engine, ChunkRef ref, ChainTarget from) {
        if (!corrupt.contains(ref)) {
            return true;
        }
        try {
            StorageApi peer = peers.apply(from.nodeId());
            ChunkMeta theirs = peer.chunkMetas(from.targetId(), ref.chunk().inode()).stream()
                    .filter(m -> m.id().equals(ref.chunk())).findFirst().orElse(null);
            if (theirs == null || theirs.hasPending()) {
                return false;
            }
            byte[] content = peer.read(from.targetId(), ref.chunk(), 0, Integer.MAX_VALUE, false);
            ReentrantLock lock = engine.lock(ref.chunk());
            lock.lock();
            try {
                ChunkMeta mine = engine.meta(ref.chunk());
                if (mine != null && !mine.hasPending() && mine.committedVersion() == theirs.committedVersion()) {
                    engine.replace(ref.chunk(), theirs.committedVersion(), theirs.chainVersion(), content);
                    corrupt.remove(ref);
                    return true;
                }
            } finally {
                lock.unlock();
            }
        } catch (RuntimeException e) {
            // that replica could not help now; another may, or a later round
        }
        return false;
    }

    @Override
    public List<ChunkMeta> chunkMetas(long targetId, long inode) {
        ChunkEngine engine = engine(targetId);
        return inode < 0 ? engine.metas() : engine.metasOf(inode);
    }

    @Override
    public void removeChunks(long targetId, int chainId, long chainVersion, long inode, long fromIndex) {
        ChunkEngine engine = engine(targetId);
        checkChain(chainId, chainVersion, targetId, true);
        for (ChunkMeta m : engine.metasOf(inode)) {
            if (m.id().index() >= fromIndex) {
                engine.remove(m.id());
            }
        }
        Chain chain = routing.get().chain(chainId);
        chain.successor(targetId).ifPresent(s ->
                peers.apply(s.nodeId()).removeChunks(s.targetId(), chainId, chain.version(), inode, fromIndex));
    }

    @Override
    public void syncDone(long targetId, long chainVersion) {
        engine(targetId);
        localStates.put(targetId, LocalState.UPTODATE);
    }

    @Override
    public void syncChunk(long targetId, long chainVersion, ChunkId chunk, long version, byte[] content) {
        ChunkEngine engine = engine(targetId);
        if (content == null) {
            engine.remove(chunk);
        } else {
            engine.replace(chunk, version, chainVersion, content);
        }
    }

    private ChunkEngine engine(long targetId) {
        if (fenced) {
            throw new StorageException(Code.TARGET_NOT_SERVING, "node " + nodeId + " is fenced off the cluster");
        }
        ChunkEngine e = targets.get(targetId);
        if (e == null) {
            throw new StorageException(Code.INVALID_ARGUMENT, "node " + nodeId + " has no target " + targetId);
        }
        return e;
    }

    private Chain checkChain(int chainId, long chainVersion, long targetId, boolean write) {
        Chain chain = routing.get().chain(chainId);
        if (chain.version() != chainVersion) {
            throw new StorageException(Code.STALE_CHAIN_VERSION, "chain " + chainId + " is at version " + chain.version()
                    + ", request has " + chainVersion);
        }
        boolean ok = chain.target(targetId).map(t -> write ? t.state().writable() : t.state().readable()).orElse(false);
        if (!ok) {
            throw new StorageException(Code.TARGET_NOT_SERVING, "target " + targetId + " is not "
                    + (write ? "writable" : "readable") + " in chain " + chainId + " v" + chain.version());
        }
        return chain;
    }

    @Override
    public void close() {
        if (board != null) {
            board.close();
        }
        targets.values().forEach(ChunkEngine::close);
    }
}
