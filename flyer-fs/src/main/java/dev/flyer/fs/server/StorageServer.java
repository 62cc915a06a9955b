package dev.flyer.fs.server;

import dev.flyer.fs.chain.Chain;
import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.LocalState;
import dev.flyer.fs.chain.PublicState;
import dev.flyer.fs.chain.RoutingInfo;
import dev.flyer.fs.mgmtd.MgmtdClient;
import dev.flyer.fs.mgmtd.MgmtdConfig;
import dev.flyer.fs.rpc.RpcServer;
import dev.flyer.fs.storage.ChainSyncer;
import dev.flyer.fs.storage.ChunkEngine;
import dev.flyer.fs.storage.StorageApi;
import dev.flyer.fs.storage.StorageNode;
import dev.flyer.fs.storage.StorageService;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A storage service process's body: its targets, the RPC server, and the loop that talks to the
 * cluster manager (3FS src/storage/service/StorageServer.cc, TargetMap.cc):
 *
 * <ul>
 *   <li>every heartbeat interval: refresh routing, report local target states; a target that
 *       serves reports UPTODATE, one the table shows as OFFLINE, WAITING or LASTSRV reports ONLINE
 *       (it must re-sync or be elected last server), one SYNCING keeps ONLINE until "sync done";
 *   <li>a restarted target (its directory was used before) sends no heartbeat until the table
 *       shows it not serving, so it always goes through recovery (3FS's rule);
 *   <li>no successful heartbeat for half the failure timeout: the node fences itself; each
 *       successful one renews same-host clients' local reads for that long (see StorageNode);
 *   <li>a serving target whose successor is SYNCING runs {@link ChainSyncer} once per chain version.
 * </ul>
 * Target ids are {@code nodeId * 1000 + slot + 1}, the cluster manager's numbering.
 */
public final class StorageServer implements AutoCloseable {
    private final int nodeId;
    private final MgmtdConfig timing;
    private final MgmtdClient mgmtd;
    private final RpcServer rpc = new RpcServer();
    private final StorageNode node;
    private final String address;
    private final ScheduledExecutorService loop;
    private final Set<String> synced = ConcurrentHashMap.newKeySet();
    private final Set<Long> syncing = ConcurrentHashMap.newKeySet();
    private final Map<String, StorageApi> peers = new ConcurrentHashMap<>();
    private volatile boolean waitForOffline;
    private volatile long lastHeartbeatNs = System.nanoTime();

    public StorageServer(int nodeId, List<Path> targetDirs, String host, int port, List<String> mgmtdAddresses,
            MgmtdConfig timing, boolean fsync) {
        this.nodeId = nodeId;
        this.timing = timing;
        this.mgmtd = new MgmtdClient(mgmtdAddresses, timing.heartbeatIntervalNs(), timing.heartbeatIntervalNs());
        Map<Long, ChunkEngine> engines = new HashMap<>();
        boolean fresh = true;
        for (int slot = 0; slot < targetDirs.size(); slot++) {
            long targetId = nodeId * 1000L + slot + 1;
            Path dir = targetDirs.get(slot);
            fresh &= claim(dir, targetId);
            engines.put(targetId, ChunkEngine.open(dir, fsync));
        }
        waitForOffline = !fresh;
        long forwardDeadline = timing.failureTimeoutNs() * 3;
        node = new StorageNode(nodeId, engines, mgmtd::routing, this::peer, forwardDeadline,
                fresh ? LocalState.UPTODATE : LocalState.ONLINE);
        StorageService.register(node, rpc);
        var bound = rpc.start(host, port);
        address = host + ":" + bound.getPort();
        loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "flyer-storage-" + nodeId);
            t.setDaemon(true);
            return t;
        });
        loop.scheduleWithFixedDelay(this::tick, 0, timing.heartbeatIntervalNs(), TimeUnit.NANOSECONDS);
    }

    /** Returns true when the directory is new (now claimed for {@code targetId}). */
    private static boolean claim(Path dir, long targetId) {
        try {
            Files.createDirectories(dir);
            Path id = dir.resolve("target.id");
            if (Files.exists(id)) {
                long was = Long.parseLong(Files.readString(id).trim());
                if (was != targetId) {
                    throw new IllegalStateException(dir + " holds target " + was + ", not " + targetId);
                }
                return false;
            }
            Files.writeString(id, Long.toString(targetId));
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String address() {
        return address;
    }

    public StorageNode node() {
        return node;
    }

    private StorageApi peer(int otherNode) {
        String addr = mgmtd.routing().nodeAddresses().get(otherNode);
        if (addr == null) {
            throw new dev.flyer.fs.storage.StorageException(dev.flyer.fs.storage.StorageException.Code.TIMEOUT,
                    "no address for storage node " + otherNode);
        }
        return peers.computeIfAbsent(addr, a -> StorageService.remote(a, timing.failureTimeoutNs()));
    }

    private void tick() {
        try {
            RoutingInfo r = mgmtd.refresh();
            if (waitForOffline) {
                waitForOffline = myTargets(r).anyMatch(t -> t.state() == PublicState.SERVING || t.state() == PublicState.SYNCING);
            }
            if (!waitForOffline) {
                adjustLocalStates(r);
                long sentNs = System.nanoTime();
                mgmtd.heartbeat(true, nodeId, address, node.localStates());
                lastHeartbeatNs = System.nanoTime();
                node.fence(false);
                // the manager's failure clock started no earlier than sentNs; leases end before it can reassign
                node.renewLocalReads(r.version(), sentNs + timing.failureTimeoutNs() / 2);
                startSyncs(r);
                if (node.corruptChunks() > 0) {
                    node.repairCorrupt();
                }
            }
        } catch (RuntimeException e) {
            if (System.nanoTime() - lastHeartbeatNs > timing.failureTimeoutNs() / 2) {
                node.fence(true);
            }
        }
    }

    private java.util.stream.Stream<ChainTarget> myTargets(RoutingInfo r) {
        return r.chains().values().stream().flatMap(c -> c.targets().stream()).filter(t -> t.nodeId() == nodeId);
    }

    private void adjustLocalStates(RoutingInfo r) {
        myTargets(r).forEach(t -> {
            switch (t.state()) {
                case SERVING -> node.setLocalState(t.targetId(), LocalState.UPTODATE);
                case OFFLINE, WAITING, LASTSRV -> node.setLocalState(t.targetId(), LocalState.ONLINE);
                case SYNCING -> { }
            }
        });
    }

    private void startSyncs(RoutingInfo r) {
        for (Chain c : r.chains().values()) {
            for (ChainTarget t : c.writeTargets()) {
                if (t.nodeId() != nodeId || t.state() != PublicState.SERVING) {
                    continue;
                }
                c.successor(t.targetId()).filter(s -> s.state() == PublicState.SYNCING).ifPresent(s -> {
                    String key = s.targetId() + "@" + c.version();
                    if (!synced.contains(key) && syncing.add(s.targetId())) {
                        Thread.ofVirtual().start(() -> {
                            try {
                                ChainSyncer.sync(node.targets().get(t.targetId()), t.targetId(), c, this::peer);
                                synced.add(key);
                            } catch (RuntimeException e) {
                                // retried on a later tick
                            } finally {
                                syncing.remove(s.targetId());
                            }
                        });
                    }
                });
            }
        }
    }

    @Override
    public void close() {
        loop.shutdownNow();
        rpc.close();
        node.close();
    }
}
