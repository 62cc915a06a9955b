package dev.flyer.fs.mgmtd;

import dev.flyer.fs.chain.Chain;
import dev.flyer.fs.chain.ChainStateMachine;
import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.LocalState;
import dev.flyer.fs.chain.PublicState;
import dev.flyer.fs.chain.RoutingInfo;
import dev.flyer.fs.kv.KeySelector;
import dev.flyer.fs.kv.KeyValue;
import dev.flyer.fs.kv.Keys;
import dev.flyer.fs.kv.KvEngine;
import dev.flyer.fs.kv.KvException;
import dev.flyer.fs.kv.TransactionRunner;
import dev.flyer.fs.mgmtd.internal.RoutingCodec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The cluster manager (3FS mgmtd, src/mgmtd/service): node registry, heartbeats and failure
 * detection, the chain table, routing info; one primary elected by a lease in the KV store.
 *
 * <p>Every tick the manager renews or tries to take the lease ({@code SING mgmtd-lease}: holder id,
 * address, expiry in wall-clock ms). The primary applies {@link ChainStateMachine} to every chain
 * with the local states from heartbeats (a node silent for the failure timeout counts as OFFLINE),
 * persists changed chains ({@code CHIF chainId}) and the routing version in one transaction, and
 * publishes new routing. A standby answers with {@link NotPrimaryException}. A primary that cannot
 * renew its lease for half the lease steps down (self-fencing). A new primary loads the table and
 * gives every node one failure timeout to report before judging it.
 */
public final class ClusterManager implements AutoCloseable {
    /** What a node last reported. */
    private record NodeReport(String address, long lastNs, Map<Long, LocalState> local) {}

    private static final byte[] LEASE = "SINGmgmtd-lease".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VERSION = "SINGrouting-version".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHAINS = "CHIF".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] STORAGE_NODES = "NODEs".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] META_NODES = "NODEm".getBytes(StandardCharsets.US_ASCII);

    private final int id;
    private final String address;
    private final MgmtdConfig config;
    private final TransactionRunner runner;
    private final Map<Integer, NodeReport> storage = new ConcurrentHashMap<>();
    private final Map<Integer, NodeReport> meta = new ConcurrentHashMap<>();
    private final ScheduledExecutorService ticker;
    private volatile boolean primary;
    private volatile String primaryAddress;
    private volatile long primarySinceNs;
    private volatile long lastRenewNs = System.nanoTime();
    private volatile RoutingInfo routing = new RoutingInfo(0, Map.of(), Map.of());

    public ClusterManager(int id, String address, KvEngine kv, MgmtdConfig config) {
        this.id = id;
        this.address = address;
        this.config = config;
        this.runner = new TransactionRunner(kv, 5, 1_000_000, 50_000_000, true);
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "flyer-mgmtd-" + id);
            t.setDaemon(true);
            return t;
        });
        ticker.scheduleWithFixedDelay(this::tickQuietly, 0, config.tickNs(), TimeUnit.NANOSECONDS);
    }

    public boolean isPrimary() {
        return primary;
    }

    public String address() {
        return address;
    }

    public MgmtdConfig config() {
        return config;
    }

    /** The routing info as the primary serves it; a standby throws {@link NotPrimaryException} naming the primary. */
    public RoutingInfo primaryRouting() {
        requirePrimary();
        return routing;
    }

    /** The current routing info (a standby's copy may be stale). */
    public RoutingInfo routing() {
        return routing;
    }

    /** Records a heartbeat; returns the routing version. */
    public long heartbeat(boolean isStorage, int nodeId, String nodeAddress, Map<Long, LocalState> local) {
        requirePrimary();
        Map<Integer, NodeReport> reg = isStorage ? storage : meta;
        NodeReport old = reg.put(nodeId, new NodeReport(nodeAddress, System.nanoTime(), Map.copyOf(local)));
        Map<Integer, String> known = isStorage ? routing.nodeAddresses() : routing.metaAddresses();
        if (old == null || !nodeAddress.equals(known.get(nodeId))) {
            synchronized (this) {
                runner.run(t -> {
                    t.set(Keys.concat(isStorage ? STORAGE_NODES : META_NODES, be(nodeId)), nodeAddress.getBytes(StandardCharsets.UTF_8));
                    return null;
                });
                Map<Integer, String> nodes = new HashMap<>(routing.nodeAddresses());
                Map<Integer, String> metas = new HashMap<>(routing.metaAddresses());
                (isStorage ? nodes : metas).put(nodeId, nodeAddress);
                publish(routing.chains(), nodes, metas, List.of());
            }
        }
        return routing.version();
    }

    /**
     * Creates the chain table once: {@code nodes} x {@code targetsPerNode} targets (target id =
     * node * 1000 + slot + 1, node ids from 1) cut slot-major into chains of {@code replicas}
     * targets on distinct nodes. A table that exists is left as it is.
     */
    public synchronized RoutingInfo initChains(int nodes, int targetsPerNode, int replicas) {
        requirePrimary();
        if (replicas < 1 || replicas > nodes || (nodes * targetsPerNode) % replicas != 0) {
            throw new IllegalArgumentException("cannot cut " + nodes + " nodes x " + targetsPerNode
                    + " targets into chains of " + replicas + " replicas on distinct nodes");
        }
        if (!routing.chains().isEmpty()) {
            return routing;
        }
        List<ChainTarget> all = new ArrayList<>();
        for (int slot = 0; slot < targetsPerNode; slot++) {
            for (int n = 1; n <= nodes; n++) {
                all.add(new ChainTarget(n * 1000L + slot + 1, n, PublicState.SERVING));
            }
        }
        List<Chain> chains = new ArrayList<>();
        for (int c = 0; c < all.size() / replicas; c++) {
            chains.add(new Chain(c + 1, 1, all.subList(c * replicas, (c + 1) * replicas)));
        }
        publish(Map.of(), routing.nodeAddresses(), routing.metaAddresses(), chains);
        primarySinceNs = System.nanoTime(); // nodes get one failure timeout to report on the new table
        return routing;
    }

    private void tickQuietly() {
        try {
            tick();
        } catch (RuntimeException e) {
            // the next tick retries; a primary that keeps failing steps down in renewLease
        }
    }

    /** One round: lease, then (as primary) failure detection and chain updates. */
    void tick() {
        renewLease();
        if (primary) {
            scanChains();
        }
    }

    private void renewLease() {
        long nowMs = System.currentTimeMillis();
        try {
            boolean mine = runner.run(t -> {
                var cur = t.get(LEASE);
                if (cur.isPresent()) {
                    ByteBuffer bb = ByteBuffer.wrap(cur.get());
                    int holder = bb.getInt();
                    long expiry = bb.getLong();
                    byte[] addr = new byte[bb.remaining()];
                    bb.get(addr);
                    if (holder != id && expiry > nowMs) {
                        primaryAddress = new String(addr, StandardCharsets.UTF_8);
                        return false;
                    }
                }
                byte[] addr = address.getBytes(StandardCharsets.UTF_8);
                t.set(LEASE, ByteBuffer.allocate(12 + addr.length).putInt(id)
                        .putLong(nowMs + TimeUnit.NANOSECONDS.toMillis(config.leaseNs())).put(addr).array());
                return true;
            });
            lastRenewNs = System.nanoTime();
            if (mine && !primary) {
                takeOver();
            }
            primary = mine;
            if (mine) {
                primaryAddress = address;
            }
        } catch (KvException e) {
            if (primary && System.nanoTime() - lastRenewNs > config.leaseNs() / 2) {
                primary = false; // cannot prove we still hold the lease: stop acting as primary
            }
        }
    }

    private synchronized void takeOver() {
        Map<Integer, Chain> chains = new HashMap<>();
        Map<Integer, String> nodes = new HashMap<>();
        Map<Integer, String> metas = new HashMap<>();
        long version = runner.run(t -> {
            for (KeyValue kv : scan(t, CHAINS)) {
                Chain c = RoutingCodec.chainFrom(kv.value());
                chains.put(c.chainId(), c);
            }
            for (KeyValue kv : scan(t, STORAGE_NODES)) {
                nodes.put(ByteBuffer.wrap(kv.key(), STORAGE_NODES.length, 4).getInt(), new String(kv.value(), StandardCharsets.UTF_8));
            }
            for (KeyValue kv : scan(t, META_NODES)) {
                metas.put(ByteBuffer.wrap(kv.key(), META_NODES.length, 4).getInt(), new String(kv.value(), StandardCharsets.UTF_8));
            }
            return t.get(VERSION).map(v -> ByteBuffer.wrap(v).getLong()).orElse(0L);
        });
        routing = new RoutingInfo(version, chains, nodes, metas);
        primarySinceNs = System.nanoTime();
    }

    private static List<KeyValue> scan(dev.flyer.fs.kv.Transaction t, byte[] prefix) {
        return t.getRange(KeySelector.inclusive(prefix), KeySelector.exclusive(Keys.prefixEnd(prefix)), 0).kvs();
    }

    private synchronized void scanChains() {
        long now = System.nanoTime();
        boolean grace = now - primarySinceNs < config.failureTimeoutNs();
        List<Chain> changed = new ArrayList<>();
        for (Chain c : routing.chains().values()) {
            Chain next = ChainStateMachine.next(c, target -> localState(c, target, now, grace));
            if (next != c) {
                changed.add(next);
            }
        }
        if (!changed.isEmpty()) {
            publish(routing.chains(), routing.nodeAddresses(), routing.metaAddresses(), changed);
        }
    }

    private LocalState localState(Chain c, long target, long now, boolean grace) {
        ChainTarget t = c.target(target).orElseThrow();
        NodeReport r = storage.get(t.nodeId());
        if (r == null || now - r.lastNs > config.failureTimeoutNs()) {
            if (grace && (r == null || r.lastNs < primarySinceNs)) {
                return switch (t.state()) { // not heard from yet since the takeover: keep the chain as it is
                    case SERVING -> LocalState.UPTODATE;
                    case SYNCING, WAITING -> LocalState.ONLINE;
                    case LASTSRV, OFFLINE -> LocalState.OFFLINE;
                };
            }
            return LocalState.OFFLINE;
        }
        return r.local.getOrDefault(target, LocalState.OFFLINE);
    }

    /** Persists changed chains and the next routing version in one transaction, then publishes. */
    private void publish(Map<Integer, Chain> base, Map<Integer, String> nodes, Map<Integer, String> metas, List<Chain> changed) {
        long next = routing.version() + 1;
        runner.run(t -> {
            for (Chain c : changed) {
                t.set(Keys.concat(CHAINS, be(c.chainId())), RoutingCodec.chainBytes(c));
            }
            t.set(VERSION, ByteBuffer.allocate(8).putLong(next).array());
            return null;
        });
        Map<Integer, Chain> chains = new HashMap<>(base);
        changed.forEach(c -> chains.put(c.chainId(), c));
        routing = new RoutingInfo(next, chains, nodes, metas);
    }

    private void requirePrimary() {
        if (!primary) {
            throw new NotPrimaryException(primaryAddress);
        }
    }

    private static byte[] be(int v) {
        return ByteBuffer.allocate(4).putInt(v).array();
    }

    @Override
    public void close() {
        ticker.shutdownNow();
        primary = false;
    }
}
