package dev.flyer.ep;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.dist.IoVector;
import dev.flyer.ep.internal.Fp8Cast;
import dev.flyer.ep.internal.Slab;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Low-latency dispatch and combine (decoding): one row per (token, selected expert), written into
 * fixed slots of the receiver's output {@code [localExpert][R · maxTokens]}, so nothing is queued
 * or compacted after arrival.
 *
 * <pre>
 * dispatch  cast     every token once, FP8 (or BF16 as is), into the sender's window; token ids
 *                    per (destination, local expert) beside it
 *           counts   src → dst: [rows per local expert of dst][where rows, scales, ids sit]
 *           data     window peers: dst gathers its rows from src's window (one copy);
 *                    others: src → dst per local expert [rows][scales][ids] over the transport,
 *                    scattered straight into recvX[e][begin(e, src) ..]; begin = rows of lower
 *                    source ranks, so rows are packed and ordered (src, token)
 * combine   data     window peers: dst puts src's block of each expert's outputs in its window
 *                    (nothing with zero copy) and tells src where; others: over the transport
 *           reduce   at the source: out[t] = BF16(sum over k of weight[t,k] · row(t,k)), k ascending,
 *                    reading peers' windows in place
 * </pre>
 *
 * <p>Implementation notes: follows DeepEP {@code csrc/kernels/legacy/internode_ll.cu}
 * (message = source index + payload + scales; FP8 cast per 128 channels; combine reduces with
 * the top-k weights in FP32, ordered by k) and {@code deep_ep/buffers/legacy.py} (two buffer sets
 * used alternately; results are views valid until the second next call). DeepEP orders rows
 * within a (expert, source) block by an atomic counter; here the order is ascending token index,
 * so results are deterministic. Scales are row-major (DeepEP: column-major for TMA).
 */
final class LowLatency implements AutoCloseable {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Wire w;
    private final Windows windows;
    private final ComputePool pool;
    /** Window offsets per (rank, local expert): sent at {@code 8 (r L + i)}, received at {@code 8 ((R + r) L + i)}. */
    private MemorySegment tiny = MemorySegment.NULL;
    private final Slab tinySlab = new Slab();
    private final long budgetBytes;
    private final Slab counts = new Slab();
    private final Slab[][] sets = new Slab[2][5];
    private final Slab[][] combineIn;
    private final IoVector[] sends;
    private final IoVector[] recvs;
    private final MemorySegment[] combineSeg;
    private int dispatches;
    private int combines;
    private float[][] acc = new float[0][];
    private MemorySegment[][] rowsOf = new MemorySegment[0][];
    private long[][] offsets = new long[0][];
    private float[][] weights = new float[0][];

    LowLatency(Wire w, Windows windows, ComputePool pool, long budgetBytes) {
        this.w = w;
        this.windows = windows;
        this.pool = pool;
        this.budgetBytes = budgetBytes;
        for (Slab[] set : sets) {
            Arrays.setAll(set, i -> new Slab());
        }
        combineIn = new Slab[2][w.ranks];
        for (Slab[] set : combineIn) {
            Arrays.setAll(set, i -> new Slab());
        }
        sends = new IoVector[w.ranks];
        recvs = new IoVector[w.ranks];
        Arrays.setAll(sends, i -> new IoVector());
        Arrays.setAll(recvs, i -> new IoVector());
        combineSeg = new MemorySegment[w.ranks];
    }

    /** Bytes both buffer sets need (dispatch slots, source ids, combine receive rows). */
    static long sizeHint(int maxTokensPerRank, int hidden, int ranks, int numExperts, int numTopk) {
        long slots = (long) numExperts * maxTokensPerRank;
        return 2 * (slots * (2L * hidden + 4) + (long) maxTokensPerRank * numTopk * 2 * hidden);
    }

    private static final int X = 0;
    private static final int SCALES = 1;
    private static final int PACKED = 2;
    private static final int SRC = 3;
    private static final int OUT = 4;

    LowLatencyDispatchResult dispatch(LowLatencyDispatchRequest q) {
        Tensor x = q.x();
        int tokens = Checks.tokens(x, null, "x");
        int hidden = (int) x.size(1);
        Routing routing = q.routing();
        checkDispatch(q, tokens, hidden);
        int local = q.numExperts() / w.ranks;
        int topk = routing.numTopk();
        int slots = w.ranks * q.maxTokensPerRank();
        int generation = ++dispatches;
        int set = generation & 1;
        int xRow = q.useFp8() ? hidden : 2 * hidden;
        int sRow = q.useFp8() ? hidden / 32 : 0;
        // per destination rank and local expert, the tokens that chose it
        int[] sent = new int[w.ranks * local];
        int[] slot = new int[tokens * topk];
        Arrays.fill(slot, -1);
        for (int t = 0; t < tokens; t++) {
            for (int k = 0; k < topk; k++) {
                int e = routing.expert(t, k);
                if (e >= 0) {
                    sent[e]++;
                }
            }
        }
        int[] sentPrefix = new int[w.ranks * local + 1];
        for (int i = 0; i < sent.length; i++) {
            sentPrefix[i + 1] = sentPrefix[i] + sent[i];
        }
        // token ids per (destination rank, local expert), then the payload rows: all in this rank's window
        MemorySegment win = windows.own();
        long idsAt = windows.reserve(4L * sentPrefix[sent.length]);
        MemorySegment order = win.asSlice(idsAt, 4L * sentPrefix[sent.length]);
        int[] fill = Arrays.copyOf(sentPrefix, sent.length);
        for (int t = 0; t < tokens; t++) {
            for (int k = 0; k < topk; k++) {
                int e = routing.expert(t, k);
                if (e >= 0) {
                    int at = fill[e]++;
                    order.setAtIndex(I32, at, t);
                    slot[t * topk + k] = at - sentPrefix[e / local * local];
                }
            }
        }
        long valuesAt = windows.reserve((long) tokens * (xRow + sRow));
        MemorySegment src = win.asSlice(valuesAt, (long) tokens * xRow);
        MemorySegment srcScales = win.asSlice(valuesAt + (long) tokens * xRow, (long) tokens * sRow);
        MemorySegment xs = x.data();
        if (q.useFp8()) {
            pool.parallelFor(Math.max(1, tokens), (t, worker) -> {
                if (t < tokens) {
                    Fp8Cast.castRow(xs, (long) t * hidden * 2, hidden, src, (long) t * xRow, srcScales,
                            (long) t * sRow, q.roundScale());
                }
            });
        } else {
            MemorySegment.copy(xs, 0, src, 0, (long) tokens * xRow);
        }
        // counts first, with where this rank's rows and ids sit in its window
        int msg = 4 * local + 24;
        MemorySegment cnt = counts.ensure(2L * w.ranks * msg);
        for (int r = 0; r < w.ranks; r++) {
            long at = (long) r * msg;
            for (int i = 0; i < local; i++) {
                cnt.set(I32, at + 4L * i, sent[r * local + i]);
            }
            Windows.writeLong(cnt, at + 4L * local, valuesAt);
            Windows.writeLong(cnt, at + 4L * local + 8, valuesAt + (long) tokens * xRow);
            Windows.writeLong(cnt, at + 4L * local + 16, idsAt + 4L * sentPrefix[r * local]);
            if (r != w.rank) {
                w.sendSmall(r, cnt, at, msg, Wire.TAG_LL_COUNTS);
                w.recvSmall(r, cnt, (long) (w.ranks + r) * msg, msg, Wire.TAG_LL_COUNTS);
            } else {
                MemorySegment.copy(cnt, at, cnt, (long) (w.ranks + r) * msg, msg);
            }
        }
        w.awaitAll();
        long[] range = new long[local * w.ranks];
        int[] recvCount = new int[local];
        for (int i = 0; i < local; i++) {
            for (int s = 0; s < w.ranks; s++) {
                int c = cnt.get(I32, (long) (w.ranks + s) * msg + 4L * i);
                if (c > q.maxTokensPerRank()) {
                    throw new IllegalArgumentException("rank " + s + " sent " + c + " rows to local expert " + i
                            + ", more than maxTokensPerRank = " + q.maxTokensPerRank() + " (duplicate experts in a row?)");
                }
                range[i * w.ranks + s] = (long) recvCount[i] << 32 | c;
                recvCount[i] += c;
            }
        }
        Slab[] mine = sets[set];
        MemorySegment recvX = mine[X].ensure((long) local * slots * xRow);
        MemorySegment recvS = mine[SCALES].ensure((long) local * slots * sRow);
        MemorySegment srcInfo = mine[SRC].ensure(4L * local * slots);
        // peers without a window: rows through the transport, straight into their slots
        for (int r = 0; r < w.ranks; r++) {
            if (windows.usable(r)) {
                continue;
            }
            IoVector out = sends[r].clear();
            IoVector in = recvs[r].clear();
            for (int i = 0; i < local; i++) {
                int e = r * local + i;
                for (int j = sentPrefix[e]; j < sentPrefix[e + 1]; j++) {
                    out.add(src, (long) order.getAtIndex(I32, j) * xRow, xRow);
                }
                for (int j = sentPrefix[e]; j < sentPrefix[e + 1]; j++) {
                    out.add(srcScales, (long) order.getAtIndex(I32, j) * sRow, sRow);
                }
                out.add(order, 4L * sentPrefix[e], 4L * sent[e]);
                long first = (long) i * slots + (range[i * w.ranks + r] >>> 32);
                long c = range[i * w.ranks + r] & 0xFFFF_FFFFL;
                in.add(recvX, first * xRow, c * xRow).add(recvS, first * sRow, c * sRow).add(srcInfo, first * 4, c * 4);
            }
            w.post(w.group.isend(out, r, Wire.TAG_LL_DATA));
            w.post(w.group.irecv(in, r, Wire.TAG_LL_DATA));
        }
        // peers with a window (and this rank): gather their rows from where they were cast, one copy
        pool.parallelFor(w.ranks * local, (tile, worker) -> {
            int s = tile / local;
            int i = tile % local;
            if (windows.usable(s)) {
                gather(windows.peer(s), cnt, (long) (w.ranks + s) * msg, local, i, range[i * w.ranks + s],
                        (long) i * slots, xRow, sRow, recvX, recvS, srcInfo);
            }
        });
        w.awaitAll();
        Tensor scales = null;
        if (q.useFp8()) {
            scales = Tensor.wrap(recvS, DType.F32, local, slots, hidden / 128);
            if (q.ue8m0()) {
                MemorySegment packed = mine[PACKED].ensure((long) local * slots * hidden / 128);
                Fp8Cast.packUe8m0(recvS, 0, local * slots * (hidden / 128), packed, 0);
                scales = Tensor.wrap(packed, DType.I32, local, slots, hidden / 512);
            }
        }
        if (q.cumulativeRecvStats() != null) {
            for (int i = 0; i < local; i++) {
                q.cumulativeRecvStats()[i] += recvCount[i];
            }
        }
        LowLatencyHandle h = new LowLatencyHandle(generation, tokens, topk, hidden, q.maxTokensPerRank(), q.numExperts(),
                w.ranks, routing.topkIdx().clone(), slot, sentPrefix, srcInfo, range);
        Tensor outX = Tensor.wrap(recvX, q.useFp8() ? DType.F8_E4M3 : DType.BF16, local, slots, hidden);
        return new LowLatencyDispatchResult(outX, scales, recvCount, h);
    }

    private void checkDispatch(LowLatencyDispatchRequest q, int tokens, int hidden) {
        if (q.x().dtype() != DType.BF16) {
            throw new IllegalArgumentException("low-latency dispatch takes BF16 tokens, got " + q.x().dtype());
        }
        if (q.routing() == null || q.routing().numTokens() != tokens) {
            throw new IllegalArgumentException("routing must cover the " + tokens + " tokens of x");
        }
        if (tokens > q.maxTokensPerRank()) {
            throw new IllegalArgumentException("rank " + w.rank + " has " + tokens
                    + " tokens, more than maxTokensPerRank = " + q.maxTokensPerRank() + " (nothing was sent)");
        }
        if (q.numExperts() < 1 || q.numExperts() % w.ranks != 0) {
            throw new IllegalArgumentException(q.numExperts() + " experts cannot be split over " + w.ranks + " ranks");
        }
        q.routing().check(q.numExperts());
        if (q.useFp8() && hidden % 128 != 0) {
            throw new IllegalArgumentException("FP8 dispatch needs hidden % 128 == 0, got " + hidden);
        }
        if (q.ue8m0() && (!q.roundScale() || !q.useFp8() || hidden % 512 != 0)) {
            throw new IllegalArgumentException("UE8M0 scales need useFp8, roundScale and hidden % 512 == 0");
        }
        long need = sizeHint(q.maxTokensPerRank(), hidden, w.ranks, q.numExperts(), q.routing().numTopk());
        if (need > budgetBytes) {
            throw new IllegalArgumentException("low-latency mode needs " + need + " bytes (EpBuffer.lowLatencySizeHint("
                    + q.maxTokensPerRank() + ", " + hidden + ", " + w.ranks + ", " + q.numExperts() + ", "
                    + q.routing().numTopk() + ")) but the buffer has " + budgetBytes + " (EpConfig.lowLatencyBytes)");
        }
    }

    /** Copies source {@code peer}'s rows for local expert {@code i} from its window into their slots. */
    private static void gather(MemorySegment peer, MemorySegment cnt, long msgAt, int local, int i, long range,
                               long slotBase, int xRow, int sRow, MemorySegment recvX, MemorySegment recvS,
                               MemorySegment srcInfo) {
        long valuesAt = Windows.readLong(cnt, msgAt + 4L * local);
        long scalesAt = Windows.readLong(cnt, msgAt + 4L * local + 8);
        long idsAt = Windows.readLong(cnt, msgAt + 4L * local + 16);
        for (int i2 = 0; i2 < i; i2++) {
            idsAt += 4L * cnt.get(I32, msgAt + 4L * i2);
        }
        long first = slotBase + (range >>> 32);
        int count = (int) range;
        for (int j = 0; j < count; j++) {
            int token = peer.get(I32, idsAt + 4L * j);
            MemorySegment.copy(peer, valuesAt + (long) token * xRow, recvX, (first + j) * xRow, xRow);
            MemorySegment.copy(peer, scalesAt + (long) token * sRow, recvS, (first + j) * sRow, sRow);
            srcInfo.set(I32, (first + j) * 4, token);
        }
    }

    /** The buffer the next zero-copy combine with {@code h} sends from. */
    Tensor zeroCopyBuffer(LowLatencyHandle h) {
        int slots = w.ranks * h.maxTokensPerRank;
        MemorySegment seg = windows.zeroCopy(h.generation, (long) h.localExperts() * slots * h.hidden * 2);
        return Tensor.wrap(seg, DType.BF16, h.localExperts(), slots, h.hidden);
    }

    Tensor combine(LowLatencyCombineRequest q) {
        LowLatencyHandle h = q.handle();
        if (h == null) {
            throw new IllegalArgumentException("low-latency combine needs the dispatch's handle");
        }
        if (dispatches - h.generation >= 2) {
            throw new IllegalArgumentException("the handle's buffers were reused by two newer low-latency dispatches");
        }
        Routing routing = q.routing();
        if (routing == null || routing.topkWeights() == null || !Arrays.equals(routing.topkIdx(), h.topkIdx)) {
            throw new IllegalArgumentException("low-latency combine needs the dispatch's topkIdx and its weights");
        }
        int local = h.localExperts();
        int slots = w.ranks * h.maxTokensPerRank;
        int hidden = h.hidden;
        Tensor src = q.zeroCopy() ? zeroCopyBuffer(h) : q.x();
        if (src == null || src.dtype() != DType.BF16 || !src.isContiguous() || src.rank() != 3 || src.size(0) != local
                || src.size(1) != slots || src.size(2) != hidden) {
            throw new IllegalArgumentException("combine x must be contiguous BF16 [" + local + ", " + slots + ", "
                    + hidden + "]");
        }
        MemorySegment xs = src.data();
        long row = 2L * hidden;
        tiny = tinySlab.ensure(16L * w.ranks * local);
        for (int r = 0; r < w.ranks; r++) {
            if (r == w.rank) {
                continue;
            }
            if (windows.usable(r)) {
                // r's rows of each expert: in place in the zero-copy buffer, else copied into the window once;
                // r reduces straight from there
                for (int i = 0; i < local; i++) {
                    long range = h.layoutRange[i * w.ranks + r];
                    long first = ((long) i * slots + (range >>> 32)) * row;
                    long at = q.zeroCopy() ? windows.offsetOf(xs) + first
                            : windows.put(sends[r].clear().add(xs, first, (range & 0xFFFF_FFFFL) * row));
                    Windows.writeLong(tiny, 8L * (r * local + i), at);
                }
                w.sendSmall(r, tiny, 8L * r * local, 8L * local, Wire.TAG_LL_COMBINE);
                w.recvSmall(r, tiny, 8L * (w.ranks + r) * local, 8L * local, Wire.TAG_LL_COMBINE);
                continue;
            }
            IoVector out = sends[r].clear();
            for (int i = 0; i < local; i++) {
                long range = h.layoutRange[i * w.ranks + r];
                out.add(xs, ((long) i * slots + (range >>> 32)) * row, (range & 0xFFFF_FFFFL) * row);
            }
            w.post(w.group.isend(out, r, Wire.TAG_LL_COMBINE));
            long rows = h.sentPrefix[(r + 1) * local] - h.sentPrefix[r * local];
            combineSeg[r] = combineIn[combines & 1][r].ensure(rows * row);
            w.post(w.group.irecv(recvs[r].clear().add(combineSeg[r], 0, rows * row), r, Wire.TAG_LL_COMBINE));
        }
        combines++;
        w.awaitAll();
        Tensor out = q.out();
        if (out == null) {
            out = Tensor.wrap(sets[h.generation & 1][OUT].ensure((long) h.numTokens * row), DType.BF16, h.numTokens, hidden);
        }
        Checks.bf16Rows(out, h.numTokens, hidden, "out");
        reduce(h, routing, xs, out.data(), slots);
        return out;
    }

    private void reduce(LowLatencyHandle h, Routing routing, MemorySegment xs, MemorySegment out, int slots) {
        int threads = pool.threads();
        int topk = h.numTopk;
        if (acc.length < threads || acc[0].length != h.hidden) {
            acc = new float[threads][h.hidden];
            rowsOf = new MemorySegment[threads][topk];
            offsets = new long[threads][topk];
            weights = new float[threads][topk];
        }
        long row = 2L * h.hidden;
        int tokens = h.numTokens;
        int tiles = Math.max(1, Math.min(tokens, threads * 4));
        pool.parallelFor(tiles, (tile, worker) -> {
            float[] a = acc[worker];
            MemorySegment[] segs = rowsOf[worker].length < topk ? new MemorySegment[topk] : rowsOf[worker];
            long[] offs = offsets[worker].length < topk ? new long[topk] : offsets[worker];
            float[] ws = weights[worker].length < topk ? new float[topk] : weights[worker];
            for (int t = (int) ((long) tile * tokens / tiles); t < (long) (tile + 1) * tokens / tiles; t++) {
                int n = locate(h, routing, xs, slots, row, t, segs, offs, ws);
                weightedSum(a, segs, offs, ws, n);
                Bf16.encode(a, 0, out, t * row, h.hidden);
            }
        });
    }

    /** Where token {@code t}'s expert rows are and their weights, in top-k order; returns how many. */
    private int locate(LowLatencyHandle h, Routing routing, MemorySegment xs, int slots, long row, int t,
                       MemorySegment[] segs, long[] offs, float[] ws) {
        int local = h.localExperts();
        int topk = h.numTopk;
        int n = 0;
        for (int k = 0; k < topk; k++) {
            int e = h.topkIdx[t * topk + k];
            if (e < 0) {
                continue;
            }
            int r = e / local;
            int i = e % local;
            int s = h.slot[t * topk + k];
            long j = s - (h.sentPrefix[r * local + i] - h.sentPrefix[r * local]);
            ws[n] = routing.topkWeights()[t * topk + k];
            if (r == w.rank) {
                segs[n] = xs;
                offs[n] = ((long) i * slots + (h.layoutRange[i * w.ranks + r] >>> 32) + j) * row;
            } else if (windows.usable(r)) {
                segs[n] = windows.peer(r);
                offs[n] = Windows.readLong(tiny, 8L * ((w.ranks + r) * local + i)) + j * row;
            } else {
                segs[n] = combineSeg[r];
                offs[n] = s * row;
            }
            n++;
        }
        return n;
    }

    /** {@code a = Σ_k ws[k] · rows[k]} in top-k order, one FMA chain per vector of channels (kept in registers). */
    private static void weightedSum(float[] a, MemorySegment[] segs, long[] offs, float[] ws, int n) {
        int i = 0;
        int bound = F.loopBound(a.length);
        for (; i < bound; i += F.length()) {
            FloatVector v = FloatVector.zero(F);
            for (int k = 0; k < n; k++) {
                v = Bf16.load(segs[k], offs[k] + i * 2L).fma(FloatVector.broadcast(F, ws[k]), v);
            }
            v.intoArray(a, i);
        }
        for (; i < a.length; i++) {
            float v = 0;
            for (int k = 0; k < n; k++) {
                v = Math.fma(Bf16.decode(segs[k].get(ValueLayout.JAVA_SHORT_UNALIGNED, offs[k] + i * 2L)), ws[k], v);
            }
            a[i] = v;
        }
    }

    @Override
    public void close() {
        counts.close();
        tinySlab.close();
        for (Slab[] set : sets) {
            for (Slab s : set) {
                s.close();
            }
        }
        for (Slab[] set : combineIn) {
            for (Slab s : set) {
                s.close();
            }
        }
    }
}
