package dev.flyer.ep;

import dev.flyer.dist.IoVector;
import dev.flyer.dist.ProcessGroup;
import java.lang.foreign.MemorySegment;
import dev.flyer.dist.Work;
import java.util.ArrayList;
import java.util.List;

/**
 * The shape of the job as the exchanges see it: ranks, nodes, who forwards for whom, and the
 * message tags. Between an ordered pair of ranks, messages of one call go in a fixed order
 * (meta, data, node packet, forward), which both sides post in, so a pair never mismatches.
 */
final class Wire {
    static final int TAG_META = 1;
    static final int TAG_DATA = 2;
    static final int TAG_NODE = 3;
    static final int TAG_FORWARD = 4;
    static final int TAG_COMBINE = 5;
    static final int TAG_COMBINE_FORWARD = 6;
    static final int TAG_PARTIAL = 7;
    static final int TAG_LL_COUNTS = 8;
    static final int TAG_LL_DATA = 9;
    static final int TAG_LL_COMBINE = 10;

    final ProcessGroup group;
    final int rank;
    final int ranks;
    final int ranksPerNode;
    final int nodes;
    final int myNode;
    final int myLocal;
    final boolean twoHop;
    private final List<Work> pending = new ArrayList<>();

    Wire(ProcessGroup group, EpConfig config) {
        this.group = group;
        this.rank = group.rank();
        this.ranks = group.size();
        this.ranksPerNode = Math.min(config.ranksPerNode(), ranks);
        if (ranks % ranksPerNode != 0) {
            throw new IllegalArgumentException(ranks + " ranks do not form nodes of " + ranksPerNode + " ranks");
        }
        this.nodes = ranks / ranksPerNode;
        this.myNode = rank / ranksPerNode;
        this.myLocal = rank % ranksPerNode;
        this.twoHop = config.twoHop() && nodes > 1;
    }

    int node(int r) {
        return r / ranksPerNode;
    }

    int local(int r) {
        return r % ranksPerNode;
    }

    /** The rank of node {@code n} with local index {@code local}. */
    int at(int n, int local) {
        return n * ranksPerNode + local;
    }

    /** Whether this rank exchanges rows with {@code r} directly (not through a forwarder). */
    boolean direct(int r) {
        return r != rank && (!twoHop || node(r) == myNode);
    }

    void post(Work w) {
        pending.add(w);
    }

    /** Waits for every posted operation. */
    void awaitAll() {
        try {
            for (Work w : pending) {
                w.await();
            }
        } finally {
            pending.clear();
        }
    }

    /** Copies a gather list into a scatter list of the same total length. */
    static void copy(IoVector from, IoVector to) {
        int di = 0;
        long dOff = 0;
        for (int i = 0; i < from.count(); i++) {
            long done = 0;
            while (done < from.length(i)) {
                long n = Math.min(from.length(i) - done, to.length(di) - dOff);
                MemorySegment.copy(from.segment(i), from.offset(i) + done, to.segment(di), to.offset(di) + dOff, n);
                done += n;
                dOff += n;
                if (dOff == to.length(di) && di + 1 < to.count()) {
                    di++;
                    dOff = 0;
                }
            }
        }
    }

}
