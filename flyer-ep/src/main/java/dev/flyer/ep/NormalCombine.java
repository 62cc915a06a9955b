package dev.flyer.ep;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.dist.IoVector;
import dev.flyer.ep.internal.Slab;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Normal-mode combine, the reverse of {@link NormalDispatch}: every rank sends each source the
 * rows it received from it (in the same order); the source adds them up.
 *
 * <pre>
 * direct pairs   [BF16 rows][K f32 weights per row]           receiver → source
 * two-hop        receiver → forwarder: per remote source, [rows][weights] (as forwarded)
 *                forwarder → source: per token, the FP32 sum over its node's ranks (ascending)
 * source         acc = bias0 + bias1; one node: acc += row(r) for r ascending;
 *                several nodes: acc += (sum over node n's ranks, ascending) for n ascending;
 *                BF16 once at the end
 * </pre>
 *
 * <p>Implementation notes: the sum is unweighted (weights were applied by the experts, as in
 * DeepEP {@code intranode.cu} {@code combine}: biases first, then ranks in order, float
 * accumulation, one rounding). Node partials travel in FP32, so the two-hop and the flat path
 * give bit-identical results and the rounding happens once. The reduction is split over tokens
 * on the buffer's communication threads (a {@link ComputePool}); it reads rows in place from the
 * receive staging and keeps one FP32 accumulator row per worker.
 */
final class NormalCombine implements AutoCloseable {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Wire w;
    private final Windows windows;
    private final ComputePool pool;
    /** Window offsets: sent to peer r at {@code 16 r}, received from r at {@code 16 (R + r)}. */
    private final MemorySegment tiny;
    private final Outputs outputs = new Outputs(1);
    private final Slab weightsSend = new Slab();
    private final Slab[] direct;
    private final Slab[] forwarded;
    private final Slab[] partialsIn;
    private final Slab[] partialsOut;
    private final IoVector[] sends;
    private final IoVector[] recvs;
    private final IoVector[] forwardSends;
    private final IoVector[] forwardRecvs;
    private final MemorySegment[] directSeg;
    private final MemorySegment[] forwardedSeg;
    private final MemorySegment[] partialsSeg;
    private float[][] acc = new float[0][];
    private float[][] part = new float[0][];

    NormalCombine(Wire w, Windows windows, ComputePool pool) {
        this.w = w;
        this.windows = windows;
        this.tiny = java.lang.foreign.Arena.ofAuto().allocate(32L * w.ranks, 64);
        this.pool = pool;
        direct = slabs(w.ranks);
        forwarded = slabs(w.ranks);
        partialsIn = slabs(w.nodes);
        partialsOut = slabs(w.nodes);
        directSeg = new MemorySegment[w.ranks];
        forwardedSeg = new MemorySegment[w.ranks];
        partialsSeg = new MemorySegment[w.nodes];
        sends = new IoVector[w.ranks];
        recvs = new IoVector[w.ranks];
        Arrays.setAll(sends, i -> new IoVector());
        Arrays.setAll(recvs, i -> new IoVector());
        forwardSends = new IoVector[w.ranks];
        forwardRecvs = new IoVector[w.ranks];
        Arrays.setAll(forwardSends, i -> new IoVector());
        Arrays.setAll(forwardRecvs, i -> new IoVector());
    }

    private static Slab[] slabs(int n) {
        Slab[] s = new Slab[n];
        Arrays.setAll(s, i -> new Slab());
        return s;
    }

    /** Geometry of one call: BF16 row bytes and weight bytes per row. */
    private record Rows(int hidden, int topk) {
        int xRow() {
            return hidden * 2;
        }

        int wRow() {
            return topk * 4;
        }

        int row() {
            return xRow() + wRow();
        }
    }

    CombineResult run(CombineRequest q) {
        DispatchHandle h = q.handle();
        if (h == null) {
            throw new IllegalArgumentException("combine needs the dispatch's handle");
        }
        Checks.cached(h, w, h.numTokens);
        int received = h.numRecvTokens();
        Tensor x = q.x();
        if (x == null || x.rank() != 2) {
            throw new IllegalArgumentException("combine x must be [received tokens, hidden] BF16");
        }
        Checks.bf16Rows(x, received, x.size(1), "combine x");
        int topk = q.topkWeights() == null ? 0 : h.numTopk;
        if (q.topkWeights() != null && (topk == 0 || q.topkWeights().length < received * topk)) {
            throw new IllegalArgumentException("combine weights need " + received + " x " + h.numTopk
                    + " entries (a dispatch with top-k), got " + q.topkWeights().length);
        }
        Rows g = new Rows((int) x.size(1), topk);
        Checks.bf16Rows(q.bias0(), h.numTokens, g.hidden(), "bias0");
        Checks.bf16Rows(q.bias1(), h.numTokens, g.hidden(), "bias1");
        MemorySegment ws = weightsSend.ensure((long) received * g.wRow());
        if (topk > 0) {
            MemorySegment.copy(q.topkWeights(), 0, ws, F32, 0, received * topk);
        }
        int[][] fwdCounts = w.twoHop ? forwardCounts(h) : null;
        exchange(h, g, x.data(), ws, fwdCounts);
        if (w.twoHop) {
            partials(h, g, x.data(), ws, fwdCounts);
        }
        outputs.begin();
        MemorySegment out = outputs.take(q.resultArena(), (long) h.numTokens * g.xRow());
        float[] weights = topk > 0 ? new float[h.numTokens * topk] : null;
        reduce(h, g, x.data(), ws, q.bias0(), q.bias1(), out, weights);
        return new CombineResult(Tensor.wrap(out, DType.BF16, h.numTokens, g.hidden()), weights);
    }

    /** {@code [node][local]}: rows the forwarder gets back from local rank {@code local} for source node {@code node}. */
    private int[][] forwardCounts(DispatchHandle h) {
        int[][] c = new int[w.nodes][w.ranksPerNode];
        for (int n = 0; n < w.nodes; n++) {
            for (int m : h.packetMasks[n]) {
                for (int l = 0; l < w.ranksPerNode; l++) {
                    c[n][l] += m >>> l & 1;
                }
            }
        }
        return c;
    }

    private void exchange(DispatchHandle h, Rows g, MemorySegment xs, MemorySegment ws, int[][] fwdCounts) {
        int[] prefix = h.recvPrefix;
        for (int r = 0; r < w.ranks; r++) {
            if (!w.direct(r)) {
                continue;
            }
            int first = prefix[r];
            int count = prefix[r + 1] - first;
            int back = h.sendTokens[r].length;
            if (windows.usable(r)) {
                // rows go into this rank's window; the source reduces straight from there
                long at = windows.put(block(sends[r].clear(), g, xs, ws, first, count));
                Windows.writeLong(tiny, 16L * r, at);
                w.sendSmall(r, tiny, 16L * r, 8, Wire.TAG_COMBINE);
                w.recvSmall(r, tiny, 16L * (w.ranks + r), 8, Wire.TAG_COMBINE);
            } else {
                w.post(w.group.isend(block(sends[r].clear(), g, xs, ws, first, count), r, Wire.TAG_COMBINE));
                MemorySegment d = direct[r].ensure((long) back * g.row());
                directSeg[r] = d;
                w.post(w.group.irecv(recvs[r].clear().add(d, 0, d.byteSize()), r, Wire.TAG_COMBINE));
            }
            if (w.twoHop) {
                IoVector out = forwardSends[r].clear();
                long in = 0;
                for (int n = 0; n < w.nodes; n++) {
                    if (n != w.myNode) {
                        int s = w.at(n, w.local(r));
                        block(out, g, xs, ws, prefix[s], prefix[s + 1] - prefix[s]);
                        in += (long) fwdCounts[n][w.local(r)] * g.row();
                    }
                }
                w.post(w.group.isend(out, r, Wire.TAG_COMBINE_FORWARD));
                MemorySegment f = forwarded[r].ensure(in);
                forwardedSeg[r] = f;
                w.post(w.group.irecv(forwardRecvs[r].clear().add(f, 0, in), r, Wire.TAG_COMBINE_FORWARD));
            }
        }
        w.awaitAll();
        for (int r = 0; r < w.ranks; r++) {
            if (w.direct(r) && windows.usable(r)) {
                long at = Windows.readLong(tiny, 16L * (w.ranks + r));
                directSeg[r] = windows.peer(r).asSlice(at, (long) h.sendTokens[r].length * g.row());
            }
        }
    }

    private static IoVector block(IoVector v, Rows g, MemorySegment xs, MemorySegment ws, int first, int count) {
        v.add(xs, (long) first * g.xRow(), (long) count * g.xRow());
        return v.add(ws, (long) first * g.wRow(), (long) count * g.wRow());
    }

    /** Two-hop: the forwarder sums its node's rows per source token in FP32 and sends them to the source. */
    private void partials(DispatchHandle h, Rows g, MemorySegment xs, MemorySegment ws, int[][] fwdCounts) {
        int hid = g.hidden();
        float[] sum = new float[hid];
        float[] wsum = new float[g.topk()];
        for (int n = 0; n < w.nodes; n++) {
            if (n == w.myNode) {
                continue;
            }
            int s = w.at(n, w.myLocal);
            int[] masks = h.packetMasks[n];
            MemorySegment out = partialsOut[n].ensure((long) masks.length * (hid + g.topk()) * 4);
            int[] cursor = new int[w.ranksPerNode];
            for (int j = 0; j < masks.length; j++) {
                Arrays.fill(sum, 0f);
                Arrays.fill(wsum, 0f);
                for (int l = 0; l < w.ranksPerNode; l++) {
                    if ((masks[j] >>> l & 1) == 0) {
                        continue;
                    }
                    int i = cursor[l]++;
                    if (l == w.myLocal) {
                        addRow(sum, wsum, xs, (long) (h.recvPrefix[s] + i) * g.xRow(), ws,
                                (long) (h.recvPrefix[s] + i) * g.wRow(), g.topk());
                    } else {
                        int q = w.at(w.myNode, l);
                        long base = 0;
                        for (int m = 0; m < n; m++) {
                            base += m == w.myNode ? 0 : (long) fwdCounts[m][l] * g.row();
                        }
                        MemorySegment f = forwardedSeg[q];
                        long rows = (long) fwdCounts[n][l] * g.xRow();
                        addRow(sum, wsum, f, base + (long) i * g.xRow(), f, base + rows + (long) i * g.wRow(), g.topk());
                    }
                }
                MemorySegment.copy(sum, 0, out, F32, (long) j * hid * 4, hid);
                MemorySegment.copy(wsum, 0, out, F32, (long) masks.length * hid * 4 + (long) j * g.topk() * 4, g.topk());
            }
            w.post(w.group.isend(sends[s].clear().add(out, 0, out.byteSize()), s, Wire.TAG_PARTIAL));
        }
        for (int n = 0; n < w.nodes; n++) {
            if (n != w.myNode) {
                int f = w.at(n, w.myLocal);
                MemorySegment in = partialsIn[n].ensure((long) h.sendTokensToNode[n].length * (hid + g.topk()) * 4);
                partialsSeg[n] = in;
                w.post(w.group.irecv(recvs[f].clear().add(in, 0, in.byteSize()), f, Wire.TAG_PARTIAL));
            }
        }
        w.awaitAll();
    }

    private static void addRow(float[] sum, float[] wsum, MemorySegment rows, long rowOff, MemorySegment weights,
                               long wOff, int topk) {
        int i = 0;
        int bound = F.loopBound(sum.length);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, sum, i).add(Bf16.load(rows, rowOff + i * 2L)).intoArray(sum, i);
        }
        for (; i < sum.length; i++) {
            sum[i] += Bf16.decode(rows.get(ValueLayout.JAVA_SHORT_UNALIGNED, rowOff + i * 2L));
        }
        for (int k = 0; k < topk; k++) {
            wsum[k] += weights.get(F32, wOff + k * 4L);
        }
    }

    private static void addPartial(float[] acc, float[] wacc, MemorySegment p, long rowOff, long wOff, int topk) {
        int i = 0;
        int bound = F.loopBound(acc.length);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, acc, i)
                    .add(FloatVector.fromMemorySegment(F, p, rowOff + i * 4L, ByteOrder.LITTLE_ENDIAN)).intoArray(acc, i);
        }
        for (; i < acc.length; i++) {
            acc[i] += p.get(F32, rowOff + i * 4L);
        }
        for (int k = 0; k < topk; k++) {
            wacc[k] += p.get(F32, wOff + k * 4L);
        }
    }

    private void reduce(DispatchHandle h, Rows g, MemorySegment xs, MemorySegment ws, Tensor bias0, Tensor bias1,
                        MemorySegment out, float[] weightsOut) {
        int threads = pool.threads();
        if (acc.length < threads || acc[0].length != g.hidden()) {
            acc = new float[threads][g.hidden()];
            part = new float[threads][g.hidden()];
        }
        int[][] posInNode = w.twoHop ? positions(h) : null;
        int tokens = h.numTokens;
        int tiles = Math.min(tokens, threads * 8);
        pool.parallelFor(tiles, (tile, worker) -> {
            float[] a = acc[worker];
            float[] p = part[worker];
            float[] wa = new float[g.topk()];
            float[] wp = new float[g.topk()];
            for (int t = (int) ((long) tile * tokens / tiles); t < (long) (tile + 1) * tokens / tiles; t++) {
                reduceToken(h, g, xs, ws, bias0, bias1, posInNode, t, a, p, wa, wp);
                Bf16.encode(a, 0, out, (long) t * g.xRow(), g.hidden());
                if (weightsOut != null) {
                    System.arraycopy(wa, 0, weightsOut, t * g.topk(), g.topk());
                }
            }
        });
    }

    private void reduceToken(DispatchHandle h, Rows g, MemorySegment xs, MemorySegment ws, Tensor bias0,
                             Tensor bias1, int[][] posInNode, int t, float[] a, float[] p, float[] wa, float[] wp) {
        Arrays.fill(wa, 0f);
        if (w.nodes == 1) {
            sumOneNode(h, g, xs, ws, bias0, bias1, t, a, wa);
            return;
        }
        Arrays.fill(a, 0f);
        if (bias0 != null || bias1 != null) {
            for (int i = 0; i < a.length; i++) {
                a[i] = bias(bias0, t, i) + bias(bias1, t, i);
            }
        }
        for (int n = 0; n < w.nodes; n++) {
            if (w.twoHop && n != w.myNode) {
                int i = posInNode[n][t];
                if (i >= 0) {
                    MemorySegment in = partialsSeg[n];
                    long rows = (long) h.sendTokensToNode[n].length * g.hidden() * 4;
                    addPartial(a, wa, in, (long) i * g.hidden() * 4, rows + (long) i * g.topk() * 4, g.topk());
                }
                continue;
            }
            Arrays.fill(p, 0f);
            Arrays.fill(wp, 0f);
            boolean any = false;
            for (int l = 0; l < w.ranksPerNode; l++) {
                any |= addFrom(h, g, xs, ws, w.at(n, l), t, p, wp);
            }
            if (any) {
                for (int i = 0; i < a.length; i++) {
                    a[i] += p[i];
                }
                for (int k = 0; k < wa.length; k++) {
                    wa[k] += wp[k];
                }
            }
        }
    }

    /**
     * One node: {@code a = (bias0 + bias1) + row(r0) + row(r1) + ...} over ranks ascending, each
     * vector of channels summed in registers (the same additions in the same order as row by row).
     */
    private void sumOneNode(DispatchHandle h, Rows g, MemorySegment xs, MemorySegment ws, Tensor bias0, Tensor bias1,
                            int t, float[] a, float[] wa) {
        MemorySegment[] segs = new MemorySegment[w.ranks];
        long[] offs = new long[w.ranks];
        int n = 0;
        for (int r = 0; r < w.ranks; r++) {
            int i = h.posInRank[r * h.numTokens + t];
            if (i < 0) {
                continue;
            }
            long wOff;
            if (r == w.rank) {
                int row = h.recvPrefix[r] + i;
                segs[n] = xs;
                offs[n] = (long) row * g.xRow();
                wOff = (long) row * g.wRow();
                for (int k = 0; k < g.topk(); k++) {
                    wa[k] += ws.get(F32, wOff + k * 4L);
                }
            } else {
                segs[n] = directSeg[r];
                offs[n] = (long) i * g.xRow();
                wOff = (long) h.sendTokens[r].length * g.xRow() + (long) i * g.wRow();
                for (int k = 0; k < g.topk(); k++) {
                    wa[k] += directSeg[r].get(F32, wOff + k * 4L);
                }
            }
            n++;
        }
        boolean biased = bias0 != null || bias1 != null;
        int c = 0;
        int bound = F.loopBound(a.length);
        for (; c < bound; c += F.length()) {
            FloatVector v = FloatVector.zero(F);
            if (biased) {
                v = biasVector(bias0, t, c).add(biasVector(bias1, t, c));
            }
            for (int k = 0; k < n; k++) {
                v = v.add(Bf16.load(segs[k], offs[k] + c * 2L));
            }
            v.intoArray(a, c);
        }
        for (; c < a.length; c++) {
            float v = biased ? bias(bias0, t, c) + bias(bias1, t, c) : 0f;
            for (int k = 0; k < n; k++) {
                v += Bf16.decode(segs[k].get(ValueLayout.JAVA_SHORT_UNALIGNED, offs[k] + c * 2L));
            }
            a[c] = v;
        }
    }

    private static FloatVector biasVector(Tensor b, int t, int c) {
        return b == null ? FloatVector.zero(F) : Bf16.load(b.data(), ((long) t * b.size(1) + c) * 2);
    }

    /** Adds rank {@code r}'s row for token {@code t}, if it has one. */
    private boolean addFrom(DispatchHandle h, Rows g, MemorySegment xs, MemorySegment ws, int r, int t, float[] a,
                            float[] wa) {
        int i = h.posInRank[r * h.numTokens + t];
        if (i < 0) {
            return false;
        }
        if (r == w.rank) {
            int row = h.recvPrefix[r] + i;
            addRow(a, wa, xs, (long) row * g.xRow(), ws, (long) row * g.wRow(), g.topk());
        } else {
            MemorySegment d = directSeg[r];
            long rows = (long) h.sendTokens[r].length * g.xRow();
            addRow(a, wa, d, (long) i * g.xRow(), d, rows + (long) i * g.wRow(), g.topk());
        }
        return true;
    }

    private static float bias(Tensor b, int t, int i) {
        return b == null ? 0f : Bf16.decode(b.data().get(ValueLayout.JAVA_SHORT_UNALIGNED, ((long) t * b.size(1) + i) * 2));
    }

    private static int[][] positions(DispatchHandle h) {
        int[][] pos = new int[h.nodes()][h.numTokens];
        for (int n = 0; n < pos.length; n++) {
            Arrays.fill(pos[n], -1);
            int[] list = h.sendTokensToNode[n];
            for (int i = 0; i < list.length; i++) {
                pos[n][list[i]] = i;
            }
        }
        return pos;
    }

    @Override
    public void close() {
        outputs.close();
        weightsSend.close();
        for (Slab[] set : new Slab[][] {direct, forwarded, partialsIn, partialsOut}) {
            for (Slab s : set) {
                s.close();
            }
        }
    }
}
