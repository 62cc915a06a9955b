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
    private Windows windows;
    private int mails;
    private int[] mailPeer = new int[16];
    private MemorySegment[] mailDst = new MemorySegment[16];
    private long[] mailOffset = new long[16];
    private long[] mailLength = new long[16];

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

    /** Routes small messages between ranks that share windows through their mailboxes. */
    void useWindows(Windows windows) {
        this.windows = windows;
    }

    private boolean mailbox(int peer) {
        return windows != null && peer != rank && windows.usable(peer);
    }

    /** Sends a small message: through the mailbox where there is one, else posted on the transport. */
    void sendSmall(int peer, MemorySegment src, long offset, long length, int tag) {
        if (mailbox(peer)) {
            windows.post(peer, src, offset, length);
        } else {
            post(group.isend(new IoVector().add(src, offset, length), peer, tag));
        }
    }

    /** Receives a small message by {@link #awaitAll()}. */
    void recvSmall(int peer, MemorySegment dst, long offset, long length, int tag) {
        if (!mailbox(peer)) {
            post(group.irecv(new IoVector().add(dst, offset, length), peer, tag));
            return;
        }
        if (mails == mailPeer.length) {
            mailPeer = java.util.Arrays.copyOf(mailPeer, 2 * mails);
            mailDst = java.util.Arrays.copyOf(mailDst, 2 * mails);
            mailOffset = java.util.Arrays.copyOf(mailOffset, 2 * mails);
            mailLength = java.util.Arrays.copyOf(mailLength, 2 * mails);
        }
        mailPeer[mails] = peer;
        mailDst[mails] = dst;
        mailOffset[mails] = offset;
        mailLength[mails++] = length;
    }

    /** Waits for every posted operation and every small message expected through a mailbox. */
    void awaitAll() {
        try {
            for (int i = 0; i < mails; i++) {
                windows.receive(mailPeer[i], mailDst[i], mailOffset[i], mailLength[i]);
            }
            for (Work w : pending) {
                w.await();
            }
        } finally {
            pending.clear();
            java.util.Arrays.fill(mailDst, 0, mails, null);
            mails = 0;
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
