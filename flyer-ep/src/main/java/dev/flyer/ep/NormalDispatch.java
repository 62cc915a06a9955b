package dev.flyer.ep;

import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.dist.IoVector;
import dev.flyer.ep.internal.Slab;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Normal-mode dispatch (high throughput, prefill and training): counts first, then rows.
 *
 * <pre>
 * 1. meta      every pair: [tokens to you, tokens to your node, per-expert counts of your experts]
 * 2. data      direct pairs: [x rows][scale rows][meta rows] straight into the receiver's output
 *              block for this source (scatter receive: no unpacking copy)
 *    node      two-hop: to the rank with my local index on each other node, every token with an
 *              expert on that node once, meta rows carrying the node-local destination mask
 * 3. forward   two-hop: each forwarder passes its packets' rows on to the ranks of its node
 * meta row = [source token index i32][mask i32][K global expert ids i32][K weights f32]
 * </pre>
 *
 * <p>Implementation notes: follows DeepEP's {@code notify_dispatch} + {@code dispatch}
 * ({@code csrc/kernels/legacy/intranode.cu}, {@code internode.cu}) in semantics: received rows
 * are ordered by source rank, then source token index; expert ids become local ids or -1 (weights
 * 0); per-expert counts are all-reduced and aligned. Unlike DeepEP there are no channels:
 * ordering comes from per-pair FIFO messages. Rows are gathered straight from {@code x} into
 * the transport (one copy into the ring or socket, one out of it into the output).
 */
final class NormalDispatch implements AutoCloseable {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Wire w;
    private final Windows windows;
    /** Window offsets: sent to r at {@code 32 r} (x, scales, meta, ids), received from r at {@code 32 (R + r)}. */
    private final MemorySegment tiny;
    private final long budgetBytes;
    private final Outputs outputs = new Outputs(2);
    private final Slab metaSend = new Slab();
    private final Slab metaRecv = new Slab();
    private final Slab rowsSend = new Slab();
    private final Slab[] packets;
    private final IoVector[] sends;
    private final IoVector[] recvs;

    NormalDispatch(Wire w, Windows windows, long budgetBytes) {
        this.w = w;
        this.windows = windows;
        this.tiny = java.lang.foreign.Arena.ofAuto().allocate(64L * w.ranks, 64);
        this.budgetBytes = budgetBytes;
        this.packets = new Slab[w.nodes];
        Arrays.setAll(packets, i -> new Slab());
        this.sends = new IoVector[w.ranks];
        this.recvs = new IoVector[w.ranks];
        Arrays.setAll(sends, i -> new IoVector());
        Arrays.setAll(recvs, i -> new IoVector());
    }

    /** Row geometry of one call. */
    private record Rows(int xRow, int sRow, int mRow, int topk) {
        int all() {
            return xRow + sRow + mRow;
        }
    }

    DispatchResult run(DispatchRequest q) {
        Tensor x = q.x();
        int tokens = Checks.tokens(x, q.scales(), "x");
        int hidden = (int) x.size(1);
        DispatchHandle cached = q.cached();
        Routing routing = q.routing();
        int topk = cached != null ? 0 : routing.numTopk();
        Rows g = new Rows((int) (hidden * (long) x.dtype().byteSize()), q.scales() == null ? 0 : hidden / 32,
                8 + 8 * topk, topk);
        int[][] sendTokens;
        int[][] toNode;
        int[] recvCount = new int[w.ranks];
        int[] packetCount = new int[w.nodes];
        int[] perExpert;
        if (cached != null) {
            Checks.cached(cached, w, tokens);
            sendTokens = cached.sendTokens;
            toNode = cached.sendTokensToNode;
            for (int s = 0; s < w.ranks; s++) {
                recvCount[s] = cached.recvPrefix[s + 1] - cached.recvPrefix[s];
            }
            for (int n = 0; n < w.nodes; n++) {
                packetCount[n] = cached.packetMasks[n].length;
            }
            perExpert = new int[0];
        } else {
            if (routing.numTokens() != tokens) {
                throw new IllegalArgumentException("routing has " + routing.numTokens() + " tokens but x has " + tokens);
            }
            DispatchLayout layout = q.layout() != null ? q.layout()
                    : DispatchLayout.of(routing, q.numExperts(), w.ranks, w.ranksPerNode);
            if (layout.numTokens() != tokens || layout.numRanks() != w.ranks) {
                throw new IllegalArgumentException("the layout is for " + layout.numTokens() + " tokens on "
                        + layout.numRanks() + " ranks, the call has " + tokens + " tokens on " + w.ranks);
            }
            sendTokens = new int[w.ranks][];
            Arrays.setAll(sendTokens, layout::tokensFor);
            toNode = nodeTokens(layout, tokens);
            perExpert = exchangeCounts(layout, sendTokens, toNode, q.numExperts(), recvCount, packetCount,
                    Math.max(1, q.expertAlignment()));
        }
        int[] prefix = new int[w.ranks + 1];
        for (int s = 0; s < w.ranks; s++) {
            prefix[s + 1] = prefix[s] + recvCount[s];
        }
        int received = prefix[w.ranks];
        int rows = q.numWorstTokens() > 0 ? q.numWorstTokens() : received;
        if (received > rows) {
            throw new IllegalArgumentException("rank " + w.rank + " receives " + received
                    + " tokens, more than numWorstTokens = " + rows);
        }
        long need = (long) rows * g.all() + (long) Arrays.stream(packetCount).sum() * g.all();
        if (need > budgetBytes) {
            throw new IllegalArgumentException("normal dispatch on rank " + w.rank + " needs " + need
                    + " bytes of receive buffer but the buffer has " + budgetBytes
                    + " (EpConfig.normalBytes; EpBuffer.normalSizeHint gives a bound)");
        }
        outputs.begin();
        MemorySegment recvX = outputs.take(q.resultArena(), (long) rows * g.xRow());
        MemorySegment recvS = outputs.take(q.resultArena(), (long) rows * g.sRow());
        MemorySegment recvM = metaRecv.ensure((long) received * g.mRow());
        MemorySegment sendM = buildMetaRows(sendTokens, toNode, routing, g, tokens);
        exchangeRows(x, q.scales(), g, sendTokens, toNode, prefix, packetCount, recvX, recvS, recvM, sendM);
        int[][] masks = w.twoHop ? forward(g, prefix, recvCount, packetCount, recvX, recvS, recvM) : emptyMasks();
        return results(q, cached, tokens, hidden, g, rows, received, prefix, recvX, recvS, recvM, sendTokens, toNode,
                masks, perExpert);
    }

    private int[][] emptyMasks() {
        int[][] m = new int[w.nodes][];
        Arrays.fill(m, new int[0]);
        return m;
    }

    private int[][] nodeTokens(DispatchLayout layout, int tokens) {
        int[][] toNode = new int[w.nodes][];
        for (int n = 0; n < w.nodes; n++) {
            int[] list = new int[tokens];
            int c = 0;
            for (int t = 0; t < tokens; t++) {
                if (w.twoHop && nodeMask(layout, t, n) != 0) {
                    list[c++] = t;
                }
            }
            toNode[n] = Arrays.copyOf(list, c);
        }
        return toNode;
    }

    private int nodeMask(DispatchLayout layout, int token, int node) {
        int mask = 0;
        for (int l = 0; l < w.ranksPerNode; l++) {
            if (layout.inRank(token, w.at(node, l))) {
                mask |= 1 << l;
            }
        }
        return mask;
    }

    /** Step 1: counts to and from every rank; returns the aligned per-local-expert counts. */
    private int[] exchangeCounts(DispatchLayout layout, int[][] sendTokens, int[][] toNode, int numExperts,
                                 int[] recvCount, int[] packetCount, int alignment) {
        int local = numExperts / w.ranks;
        int ints = 2 + local;
        MemorySegment out = metaSend.ensure((long) w.ranks * ints * 4);
        MemorySegment in = metaRecv.ensure((long) w.ranks * ints * 4);
        for (int r = 0; r < w.ranks; r++) {
            long at = (long) r * ints * 4;
            out.set(I32, at, sendTokens[r].length);
            out.set(I32, at + 4, toNode[w.node(r)].length);
            for (int i = 0; i < local; i++) {
                out.set(I32, at + 8 + 4L * i, layout.numTokensPerExpert()[r * local + i]);
            }
            if (r != w.rank) {
                w.sendSmall(r, out, at, ints * 4L, Wire.TAG_META);
                w.recvSmall(r, in, at, ints * 4L, Wire.TAG_META);
            } else {
                MemorySegment.copy(out, at, in, at, ints * 4L);
            }
        }
        w.awaitAll();
        int[] perExpert = new int[local];
        for (int s = 0; s < w.ranks; s++) {
            long at = (long) s * ints * 4;
            recvCount[s] = in.get(I32, at);
            if (w.twoHop && w.node(s) != w.myNode && w.local(s) == w.myLocal) {
                packetCount[w.node(s)] = in.get(I32, at + 4);
            }
            for (int i = 0; i < local; i++) {
                perExpert[i] += in.get(I32, at + 8 + 4L * i);
            }
        }
        for (int i = 0; i < local; i++) {
            perExpert[i] = Math.ceilDiv(perExpert[i], alignment) * alignment;
        }
        return perExpert;
    }

    /** Meta rows for every direct destination, then for every node packet, in one staging region. */
    private MemorySegment buildMetaRows(int[][] sendTokens, int[][] toNode, Routing routing, Rows g, int tokens) {
        long rows = 0;
        int[] nodeMasks = new int[w.nodes * tokens];
        for (int r = 0; r < w.ranks; r++) {
            rows += sendTokens[r].length;
            for (int t : sendTokens[r]) {
                nodeMasks[w.node(r) * tokens + t] |= 1 << w.local(r);
            }
        }
        for (int[] list : toNode) {
            rows += list.length;
        }
        MemorySegment m = rowsSend.ensure(rows * g.mRow());
        long at = 0;
        for (int r = 0; r < w.ranks; r++) {
            at = writeMeta(m, at, sendTokens[r], routing, g, null, 0);
        }
        for (int n = 0; n < w.nodes; n++) {
            at = writeMeta(m, at, toNode[n], routing, g, nodeMasks, n * tokens);
        }
        return m;
    }

    private static long writeMeta(MemorySegment m, long at, int[] list, Routing routing, Rows g, int[] masks,
                                  int maskBase) {
        for (int t : list) {
            m.set(I32, at, t);
            m.set(I32, at + 4, masks == null ? 0 : masks[maskBase + t]);
            for (int k = 0; k < g.topk(); k++) {
                m.set(I32, at + 8 + 4L * k, routing.expert(t, k));
                m.set(F32, at + 8 + 4L * (g.topk() + k), routing.topkWeights() == null ? 0f
                        : routing.topkWeights()[t * g.topk() + k]);
            }
            at += g.mRow();
        }
        return at;
    }

    /** Step 2: direct rows and node packets, all posted at once, then waited for. */
    private void exchangeRows(Tensor x, Tensor scales, Rows g, int[][] sendTokens, int[][] toNode, int[] prefix,
                              int[] packetCount, MemorySegment recvX, MemorySegment recvS, MemorySegment recvM,
                              MemorySegment sendM) {
        MemorySegment xs = x.data();
        MemorySegment ss = scales == null ? MemorySegment.NULL : scales.data();
        long[] metaAt = new long[w.ranks + w.nodes + 1];
        for (int r = 0; r < w.ranks; r++) {
            metaAt[r + 1] = metaAt[r] + (long) sendTokens[r].length * g.mRow();
        }
        for (int n = 0; n < w.nodes; n++) {
            metaAt[w.ranks + n + 1] = metaAt[w.ranks + n] + (long) toNode[n].length * g.mRow();
        }
        long[] shared = shareTokens(xs, ss, g, x.size(0));
        for (int r = 0; r < w.ranks; r++) {
            if (r == w.rank) {
                copyOwn(xs, ss, g, sendTokens[r], prefix[r], recvX, recvS);
                MemorySegment.copy(sendM, metaAt[r], recvM, (long) prefix[r] * g.mRow(), metaAt[r + 1] - metaAt[r]);
            } else if (w.direct(r) && windows.usable(r)) {
                // x went into the window once; r gathers its rows there, by the ids and meta rows put here
                long at = 32L * r;
                Windows.writeLong(tiny, at, shared[0]);
                Windows.writeLong(tiny, at + 8, shared[1]);
                Windows.writeLong(tiny, at + 16, windows.put(sends[r].clear().add(sendM, metaAt[r], metaAt[r + 1] - metaAt[r])));
                MemorySegment ids = windows.own().asSlice(windows.reserve(4L * sendTokens[r].length), 4L * sendTokens[r].length);
                MemorySegment.copy(sendTokens[r], 0, ids, ValueLayout.JAVA_INT_UNALIGNED, 0, sendTokens[r].length);
                Windows.writeLong(tiny, at + 24, windows.offsetOf(ids));
                w.sendSmall(r, tiny, at, 32, Wire.TAG_DATA);
                w.recvSmall(r, tiny, 32L * (w.ranks + r), 32, Wire.TAG_DATA);
            } else if (w.direct(r)) {
                IoVector v = gather(sends[r].clear(), xs, ss, g, sendTokens[r]);
                v.add(sendM, metaAt[r], metaAt[r + 1] - metaAt[r]);
                w.post(w.group.isend(v, r, Wire.TAG_DATA));
                IoVector in = scatterBlock(recvs[r].clear(), g, prefix[r], prefix[r + 1] - prefix[r], recvX, recvS, recvM);
                w.post(w.group.irecv(in, r, Wire.TAG_DATA));
            } else if (w.local(r) == w.myLocal) {
                int n = w.node(r);
                IoVector v = gather(sends[r].clear(), xs, ss, g, toNode[n]);
                v.add(sendM, metaAt[w.ranks + n], metaAt[w.ranks + n + 1] - metaAt[w.ranks + n]);
                w.post(w.group.isend(v, r, Wire.TAG_NODE));
                MemorySegment p = packets[n].ensure((long) packetCount[n] * g.all());
                w.post(w.group.irecv(recvs[r].clear().add(p, 0, p.byteSize()), r, Wire.TAG_NODE));
            }
        }
        w.awaitAll();
        for (int s = 0; s < w.ranks; s++) {
            if (s != w.rank && w.direct(s) && windows.usable(s)) {
                gatherFromWindow(windows.peer(s), 32L * (w.ranks + s), g, prefix[s], prefix[s + 1] - prefix[s], recvX,
                        recvS, recvM);
            }
        }
    }

    /** Puts all of x and its scales into the window once, when a peer will read them; returns their offsets. */
    private long[] shareTokens(MemorySegment xs, MemorySegment ss, Rows g, long tokens) {
        boolean readers = false;
        for (int r = 0; r < w.ranks; r++) {
            readers |= r != w.rank && w.direct(r) && windows.usable(r);
        }
        if (!readers) {
            return new long[2];
        }
        long xAt = windows.put(new IoVector().add(xs, 0, tokens * g.xRow()));
        long sAt = windows.put(new IoVector().add(ss, 0, tokens * g.sRow()));
        return new long[] {xAt, sAt};
    }

    /** Copies source {@code peer}'s rows for this rank from its window into the source's output block. */
    private void gatherFromWindow(MemorySegment peer, long msgAt, Rows g, int first, int count, MemorySegment recvX,
                                  MemorySegment recvS, MemorySegment recvM) {
        long xAt = Windows.readLong(tiny, msgAt);
        long sAt = Windows.readLong(tiny, msgAt + 8);
        long mAt = Windows.readLong(tiny, msgAt + 16);
        long idsAt = Windows.readLong(tiny, msgAt + 24);
        for (int j = 0; j < count; j++) {
            int t = peer.get(I32, idsAt + 4L * j);
            MemorySegment.copy(peer, xAt + (long) t * g.xRow(), recvX, (long) (first + j) * g.xRow(), g.xRow());
            MemorySegment.copy(peer, sAt + (long) t * g.sRow(), recvS, (long) (first + j) * g.sRow(), g.sRow());
        }
        MemorySegment.copy(peer, mAt, recvM, (long) first * g.mRow(), (long) count * g.mRow());
    }

    private static IoVector gather(IoVector v, MemorySegment xs, MemorySegment ss, Rows g, int[] list) {
        for (int t : list) {
            v.add(xs, (long) t * g.xRow(), g.xRow());
        }
        for (int t : list) {
            v.add(ss, (long) t * g.sRow(), g.sRow());
        }
        return v;
    }

    private static IoVector scatterBlock(IoVector v, Rows g, int first, int count, MemorySegment recvX,
                                         MemorySegment recvS, MemorySegment recvM) {
        v.add(recvX, (long) first * g.xRow(), (long) count * g.xRow());
        v.add(recvS, (long) first * g.sRow(), (long) count * g.sRow());
        return v.add(recvM, (long) first * g.mRow(), (long) count * g.mRow());
    }

    private static void copyOwn(MemorySegment xs, MemorySegment ss, Rows g, int[] list, int first, MemorySegment recvX,
                                MemorySegment recvS) {
        for (int i = 0; i < list.length; i++) {
            MemorySegment.copy(xs, (long) list[i] * g.xRow(), recvX, (long) (first + i) * g.xRow(), g.xRow());
            MemorySegment.copy(ss, (long) list[i] * g.sRow(), recvS, (long) (first + i) * g.sRow(), g.sRow());
        }
    }

    /** Step 3 (two-hop): pass each packet's rows on to the ranks of this node; returns the packets' masks. */
    private int[][] forward(Rows g, int[] prefix, int[] recvCount, int[] packetCount, MemorySegment recvX,
                            MemorySegment recvS, MemorySegment recvM) {
        int[][] masks = new int[w.nodes][];
        for (int n = 0; n < w.nodes; n++) {
            masks[n] = new int[n == w.myNode ? 0 : packetCount[n]];
            MemorySegment p = packets[n].ensure((long) masks[n].length * g.all());
            long metaBase = (long) masks[n].length * (g.xRow() + g.sRow());
            for (int j = 0; j < masks[n].length; j++) {
                masks[n][j] = p.get(I32, metaBase + (long) j * g.mRow() + 4);
            }
        }
        for (int l = 0; l < w.ranksPerNode; l++) {
            int q = w.at(w.myNode, l);
            if (q == w.rank) {
                continue;
            }
            IoVector out = sends[q].clear();
            IoVector in = recvs[q].clear();
            for (int n = 0; n < w.nodes; n++) {
                if (n == w.myNode) {
                    continue;
                }
                packetRows(out, g, n, masks[n], l);
                int s = w.at(n, w.local(q));
                scatterBlock(in, g, prefix[s], recvCount[s], recvX, recvS, recvM);
            }
            w.post(w.group.isend(out, q, Wire.TAG_FORWARD));
            w.post(w.group.irecv(in, q, Wire.TAG_FORWARD));
        }
        for (int n = 0; n < w.nodes; n++) {
            if (n != w.myNode) {
                IoVector own = packetRows(new IoVector(), g, n, masks[n], w.myLocal);
                copyInto(own, g, prefix[w.at(n, w.myLocal)], recvX, recvS, recvM);
            }
        }
        w.awaitAll();
        return masks;
    }

    /** The rows of node {@code n}'s packet whose mask has local rank {@code l}: [x rows][scale rows][meta rows]. */
    private IoVector packetRows(IoVector v, Rows g, int n, int[] masks, int l) {
        MemorySegment p = packets[n].ensure((long) masks.length * g.all());
        long sBase = (long) masks.length * g.xRow();
        long mBase = sBase + (long) masks.length * g.sRow();
        for (int j = 0; j < masks.length; j++) {
            if ((masks[j] >>> l & 1) != 0) {
                v.add(p, (long) j * g.xRow(), g.xRow());
            }
        }
        for (int j = 0; j < masks.length; j++) {
            if ((masks[j] >>> l & 1) != 0) {
                v.add(p, sBase + (long) j * g.sRow(), g.sRow());
            }
        }
        for (int j = 0; j < masks.length; j++) {
            if ((masks[j] >>> l & 1) != 0) {
                v.add(p, mBase + (long) j * g.mRow(), g.mRow());
            }
        }
        return v;
    }

    /** Copies a gathered message into a source block (the forwarder's own share). */
    private static void copyInto(IoVector v, Rows g, int first, MemorySegment recvX, MemorySegment recvS,
                                 MemorySegment recvM) {
        Wire.copy(v, scatterBlock(new IoVector(), g, first, (int) (v.byteSize() / Math.max(1, g.all())), recvX,
                recvS, recvM));
    }

    private DispatchResult results(DispatchRequest q, DispatchHandle cached, int tokens, int hidden, Rows g, int rows,
                                   int received, int[] prefix, MemorySegment recvX, MemorySegment recvS,
                                   MemorySegment recvM, int[][] sendTokens, int[][] toNode, int[][] masks,
                                   int[] perExpert) {
        int[] srcIdx = new int[received];
        for (int i = 0; i < received; i++) {
            srcIdx[i] = recvM.get(I32, (long) i * g.mRow());
        }
        int[] topkIdx = null;
        float[] weights = null;
        if (g.topk() > 0) {
            int local = q.numExperts() / w.ranks;
            int lo = w.rank * local;
            topkIdx = new int[rows * g.topk()];
            Arrays.fill(topkIdx, -1);
            weights = q.routing().topkWeights() == null ? null : new float[rows * g.topk()];
            for (int i = 0; i < received; i++) {
                for (int k = 0; k < g.topk(); k++) {
                    int e = recvM.get(I32, (long) i * g.mRow() + 8 + 4L * k);
                    boolean mine = e >= lo && e < lo + local;
                    topkIdx[i * g.topk() + k] = mine ? e - lo : -1;
                    if (weights != null && mine) {
                        weights[i * g.topk() + k] = recvM.get(F32, (long) i * g.mRow() + 8 + 4L * (g.topk() + k));
                    }
                }
            }
        }
        DispatchHandle handle = cached != null ? cached
                : new DispatchHandle(w.rank, w.ranks, w.ranksPerNode, w.twoHop, tokens, g.topk(), sendTokens, toNode,
                        prefix, srcIdx, masks, perExpert);
        Tensor outX = Tensor.wrap(recvX, q.x().dtype(), rows, hidden);
        Tensor outS = q.scales() == null ? null : Tensor.wrap(recvS, DType.F32, rows, hidden / 128);
        int[] counts = q.numWorstTokens() > 0 || cached != null ? new int[0] : perExpert.clone();
        return new DispatchResult(outX, outS, topkIdx, weights, counts, handle);
    }

    @Override
    public void close() {
        outputs.close();
        metaSend.close();
        metaRecv.close();
        rowsSend.close();
        for (Slab p : packets) {
            p.close();
        }
    }
}
