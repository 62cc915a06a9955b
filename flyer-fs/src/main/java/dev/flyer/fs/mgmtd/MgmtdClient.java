package dev.flyer.fs.mgmtd;

import dev.flyer.fs.chain.LocalState;
import dev.flyer.fs.chain.RoutingInfo;
import dev.flyer.fs.mgmtd.internal.RoutingCodec;
import dev.flyer.fs.rpc.MessageReader;
import dev.flyer.fs.rpc.MessageWriter;
import dev.flyer.fs.rpc.RpcClient;
import dev.flyer.fs.rpc.RpcException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Talks to whichever of the configured cluster managers is primary: a standby's answer or an
 * unreachable manager moves on to the next address, until {@code deadlineNs}; a standby that
 * names the primary sends the client there, even when that address was not configured (a user
 * who knows one manager reaches the cluster). Keeps the newest routing info it fetched
 * ({@link #routing()}), refreshed by version.
 */
public final class MgmtdClient {
    private final java.util.concurrent.CopyOnWriteArrayList<String> addresses;
    private final long callTimeoutNs;
    private final long deadlineNs;
    private volatile int current;
    private volatile RoutingInfo routing = new RoutingInfo(0, Map.of(), Map.of());

    public MgmtdClient(List<String> addresses, long callTimeoutNs, long deadlineNs) {
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("no cluster manager address given");
        }
        this.addresses = new java.util.concurrent.CopyOnWriteArrayList<>(addresses);
        this.callTimeoutNs = callTimeoutNs;
        this.deadlineNs = deadlineNs;
    }

    public RoutingInfo routing() {
        return routing;
    }

    /** Fetches routing if it changed; returns the newest. */
    public RoutingInfo refresh() {
        RoutingInfo known = routing;
        RoutingInfo r = call(MgmtdService.ROUTING, w -> w.putLong(known.version()),
                x -> x.getBool() ? RoutingCodec.read(x) : null);
        if (r != null && r.version() > routing.version()) {
            routing = r;
        }
        return routing;
    }

    public long heartbeat(boolean isStorage, int nodeId, String address, Map<Long, LocalState> local) {
        return call(MgmtdService.HEARTBEAT, w -> w.putBool(isStorage).putInt(nodeId).putString(address)
                .putList(new ArrayList<>(local.entrySet()), (x, e) -> x.putLong(e.getKey()).putInt(e.getValue().ordinal())),
                MessageReader::getLong);
    }

    public RoutingInfo initChains(int nodes, int targetsPerNode, int replicas) {
        routing = call(MgmtdService.INIT_CHAINS, w -> w.putInt(nodes).putInt(targetsPerNode).putInt(replicas), RoutingCodec::read);
        return routing;
    }

    private <T> T call(int method, Consumer<MessageWriter> body, Function<MessageReader, T> parse) {
        long end = System.nanoTime() + deadlineNs;
        RpcException last = null;
        for (int attempt = 0; System.nanoTime() < end || attempt == 0; attempt++) {
            String addr = addresses.get(Math.floorMod(current, addresses.size()));
            try {
                return RpcClient.to(addr).call(method, body, parse, callTimeoutNs);
            } catch (RpcException e) {
                last = e;
                String primary = e.code().equals("NOT_PRIMARY") ? NotPrimaryException.primaryIn(e.detail()) : null;
                if (primary != null && !primary.equals(addr)) {
                    if (attempt >= addresses.size()) {
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20)); // two managers naming each other
                    }
                    follow(primary);
                    continue;
                }
                if (e.domain().equals("mgmtd") || e.domain().equals("rpc")) {
                    current++;
                    if (current % addresses.size() == 0) {
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                    }
                    continue;
                }
                throw e;
            }
        }
        throw new RpcException("mgmtd", "UNAVAILABLE", "no primary cluster manager among " + addresses + " within "
                + TimeUnit.NANOSECONDS.toMillis(deadlineNs) + " ms" + (last == null ? "" : ": " + last.getMessage()));
    }

    /** Makes {@code primary} the next address tried, adding it to the known ones if new. */
    private void follow(String primary) {
        int at = addresses.indexOf(primary);
        if (at < 0) {
            addresses.addIfAbsent(primary);
            at = addresses.indexOf(primary);
        }
        current = at;
    }
}
