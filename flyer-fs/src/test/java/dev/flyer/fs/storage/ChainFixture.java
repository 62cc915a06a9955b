package dev.flyer.fs.storage;

import dev.flyer.fs.chain.Chain;
import dev.flyer.fs.chain.ChainStateMachine;
import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.LocalState;
import dev.flyer.fs.chain.PublicState;
import dev.flyer.fs.chain.RoutingInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;

/** One chain of N targets on N in-process storage nodes, with a hand-driven cluster manager and a pluggable wire. */
final class ChainFixture implements AutoCloseable {
    static final int CHAIN = 1;

    final Path dir;
    final AtomicReference<RoutingInfo> routing = new AtomicReference<>();
    final List<StorageNode> nodes = new ArrayList<>();
    final Map<Long, LocalState> down = new HashMap<>();
    IntFunction<StorageApi> wire;

    ChainFixture(Path dir, int replicas, long forwardDeadlineNs) {
        this.dir = dir;
        List<ChainTarget> targets = new ArrayList<>();
        for (int n = 0; n < replicas; n++) {
            targets.add(new ChainTarget(n + 1, n, PublicState.SERVING));
        }
        routing.set(new RoutingInfo(1, Map.of(CHAIN, new Chain(CHAIN, 1, targets)), Map.of()));
        wire = nodes::get;
        for (int n = 0; n < replicas; n++) {
            nodes.add(startNode(n, forwardDeadlineNs, LocalState.UPTODATE));
        }
    }

    StorageNode startNode(int n, long forwardDeadlineNs, LocalState state) {
        ChunkEngine e = ChunkEngine.open(dir.resolve("node" + n), false);
        return new StorageNode(n, Map.of((long) n + 1, e), routing::get, i -> wire.apply(i), forwardDeadlineNs, state);
    }

    Chain chain() {
        return routing.get().chain(CHAIN);
    }

    ChunkEngine engine(long target) {
        return nodes.get((int) target - 1).targets().get(target);
    }

    /** One cluster-manager scan: local states from the nodes, except targets marked down. */
    Chain scan() {
        Chain next = ChainStateMachine.next(chain(), t -> down.containsKey(t) ? LocalState.OFFLINE
                : nodes.get((int) t - 1).localStates().get(t));
        if (next != chain()) {
            routing.set(new RoutingInfo(routing.get().version() + 1, Map.of(CHAIN, next), Map.of()));
        }
        for (ChainTarget t : next.targets()) {
            if (t.state() == PublicState.SERVING) {
                nodes.get(t.nodeId()).setLocalState(t.targetId(), LocalState.UPTODATE);
            }
        }
        return next;
    }

    ChunkMeta write(long clientId, long seq, ChunkId chunk, int offset, byte[] data) {
        Chain c = chain();
        ChainTarget head = c.head().orElseThrow();
        return wire.apply(head.nodeId()).write(new WriteRequest(head.targetId(), CHAIN, c.version(), chunk, offset, data,
                false, 0, clientId, seq));
    }

    @Override
    public void close() {
        nodes.forEach(StorageNode::close);
    }
}
