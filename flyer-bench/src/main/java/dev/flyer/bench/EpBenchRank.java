package dev.flyer.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.core.trace.TraceRecorder;
import dev.flyer.dist.DistEnv;
import dev.flyer.dist.ProcessGroup;
import dev.flyer.ep.CombineRequest;
import dev.flyer.ep.DispatchRequest;
import dev.flyer.ep.DispatchResult;
import dev.flyer.ep.EpBuffer;
import dev.flyer.ep.EpConfig;
import dev.flyer.ep.EpFuture;
import dev.flyer.ep.Fp8Tokens;
import dev.flyer.ep.LowLatencyCombineRequest;
import dev.flyer.ep.LowLatencyDispatchRequest;
import dev.flyer.ep.LowLatencyDispatchResult;
import dev.flyer.ep.Routing;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * One rank of {@code flyer bench ep}, started by the bench through the launcher (as
 * {@code flyer launch} does): times normal-mode FP8 dispatch and BF16 combine, low-latency
 * dispatch and combine, and the low-latency round trip with and without the receive hook around a
 * compute phase; rank 0 writes {@code result.json} (per call: the median over five samples, after
 * two dropped ones, of the slowest rank's time for {@code iters} back-to-back calls after a
 * barrier, as DeepEP's bench loop and the MPI peer time it; mean bytes per rank) and a Chrome
 * trace of the hook round trips.
 *
 * <p>Arguments are {@code key=value}: dir, tokens, llTokens, hidden, topk, experts, iters,
 * perNode, transport ({@code shm} or {@code tcp}). Routing files (int32 expert ids per token)
 * go to {@code dir/normal} and {@code dir/ll} for the Open MPI peer.
 */
public final class EpBenchRank {
    /**
     * Untimed rounds first, at least this long and this many. Two ranks and their compiler threads
     * share two cores, so C2 takes long to finish: measured on EP 2 in alternating runs, 4 s of
     * warm-up timed LL dispatch at 3.7-5.9 ms and combine at 5.0-6.8 ms, 15 s at 1.5-1.7 and 2.0 ms
     * (Open MPI: 0.9-1.3 and 2.5-3.3 ms in the same runs). Stopping when the rounds stopped getting
     * faster (alone, after 4 s) timed 2.4-3.6 ms, and waiting for the JIT to go quiet took 17-36 s
     * (small compiles never stop for long).
     */
    private static final long WARMUP_NS = 15_000_000_000L;
    private static final int WARMUP_MIN = 50;
    /** Then on until no rank's rounds have got {@link #FASTER} faster for this long. */
    private static final long PLATEAU_NS = 2_000_000_000L;
    /** A window of rounds counts as faster when it beats the best so far by this fraction. */
    private static final double FASTER = 0.05;
    /**
     * The warm-up ends at the first agreement (every ten rounds) past this, whatever the rounds do;
     * where a round takes seconds (2 x 4 over TCP, normal mode) that is up to ten rounds later.
     */
    private static final long WARMUP_MAX_NS = 60_000_000_000L;
    /** Timed samples; each is {@code iters} back-to-back calls after a barrier (DeepEP's bench loop). */
    private static final int SAMPLES = 5;
    /**
     * Samples of the timed pattern run first and dropped, as the Open MPI peer drops its first two.
     * The warm-up alternates dispatch and combine while the timed samples run each back to back,
     * and C2 was still compiling the low-latency code 3-4 s into that phase
     * ({@code -XX:+LogCompilation} of an EP 2 run), so the first timed samples could time the JIT.
     */
    private static final int DROPPED_SAMPLES = 2;

    /** Nanoseconds per call of {@code calls} back-to-back calls after a barrier. */
    private static long perCall(ProcessGroup g, int calls, Runnable call) {
        g.barrier();
        long t0 = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            call.run();
        }
        return (System.nanoTime() - t0) / calls;
    }

    /**
     * Runs {@code round} back to back (no barriers: the exchanges themselves keep ranks in step)
     * until every rank has run {@link #WARMUP_MIN} rounds and {@link #WARMUP_NS} and its rounds
     * have not got {@link #FASTER} faster for {@link #PLATEAU_NS} (or {@link #WARMUP_MAX_NS} have
     * passed); rounds are timed ten at a time and the ranks agree after each ten, so all run the
     * same number. Returns the warm-up's seconds.
     */
    private static double warmUp(ProcessGroup g, Runnable round) {
        long start = System.nanoTime();
        long windowStart = start;
        long best = Long.MAX_VALUE;
        long lastFaster = start;
        for (int n = 1; ; n++) {
            round.run();
            if (n % 10 == 0) {
                long now = System.nanoTime();
                long window = now - windowStart;
                if (window < best * (1 - FASTER)) {
                    lastFaster = now;
                }
                best = Math.min(best, window);
                boolean done = n >= WARMUP_MIN && now - start > WARMUP_NS
                        && (now - lastFaster > PLATEAU_NS || now - start > WARMUP_MAX_NS);
                boolean all = true;
                for (byte[] vote : g.allGather(new byte[] {(byte) (done ? 1 : 0)})) {
                    all &= vote[0] == 1;
                }
                if (all) {
                    return (System.nanoTime() - start) / 1e9;
                }
                windowStart = System.nanoTime();
            }
        }
    }

    private EpBenchRank() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (String arg : args) {
            a.put(arg.substring(0, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
        }
        Path dir = Path.of(a.get("dir"));
        int tokens = Integer.parseInt(a.get("tokens"));
        int llTokens = Integer.parseInt(a.get("llTokens"));
        int hidden = Integer.parseInt(a.get("hidden"));
        int topk = Integer.parseInt(a.get("topk"));
        int experts = Integer.parseInt(a.get("experts"));
        int iters = Integer.parseInt(a.get("iters"));
        int perNode = Integer.parseInt(a.get("perNode"));
        boolean tcp = a.get("transport").equals("tcp");
        DistEnv env = DistEnv.fromEnvironment();
        ProcessGroup.Options o = ProcessGroup.Options.defaults().withTimeout(Duration.ofSeconds(300));
        o = tcp ? o.byNode(perNode) : o.withTransport(ProcessGroup.Transport.SHM);
        long llBytes = EpBuffer.lowLatencySizeHint(llTokens, hidden, env.worldSize(), experts, topk);
        try (ProcessGroup g = ProcessGroup.init(env, o);
             EpBuffer buffer = new EpBuffer(g, EpConfig.defaults().withRanksPerNode(perNode).withNormalBytes(2L << 30)
                     .withLowLatencyBytes(llBytes));
             Arena arena = Arena.ofShared()) {
            ObjectNode result = new ObjectMapper().createObjectNode();
            normal(g, buffer, arena, dir, tokens, hidden, topk, experts, iters, result);
            lowLatency(g, buffer, arena, dir, llTokens, hidden, topk, experts, iters, result);
            if (g.rank() == 0) {
                new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("result.json").toFile(), result);
            }
            g.barrier();
        }
    }

    private static Tensor randomBf16(Arena arena, long seed, int rows, int hidden) {
        Tensor x = Tensor.allocate(arena, DType.BF16, rows, hidden);
        Random rnd = new Random(seed);
        for (long i = 0; i < (long) rows * hidden; i++) {
            x.data().setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, dev.flyer.core.numeric.Bf16.encode((float) rnd.nextGaussian()));
        }
        return x;
    }

    private static void writeRouting(Path dir, int rank, Routing r) throws IOException {
        Files.createDirectories(dir);
        ByteBuffer b = ByteBuffer.allocate(4 * r.topkIdx().length).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(r.topkIdx());
        Files.write(dir.resolve("routing-" + rank + ".bin"), b.array());
    }

    private static void normal(ProcessGroup g, EpBuffer buffer, Arena arena, Path dir, int tokens, int hidden, int topk,
                               int experts, int iters, ObjectNode result) throws IOException {
        Routing routing = Routing.random(new Random(17 + g.rank()), tokens, topk, experts);
        writeRouting(dir.resolve("normal"), g.rank(), routing);
        Fp8Tokens fp8 = Fp8Tokens.cast(randomBf16(arena, g.rank(), tokens, hidden), false, arena);
        long[] dispatchNs = new long[SAMPLES];
        long[] combineNs = new long[SAMPLES];
        DispatchRequest request = DispatchRequest.of(fp8.values(), routing, experts).withScales(fp8.scales());
        DispatchResult first = buffer.dispatch(request).await();
        Tensor back = Tensor.allocate(arena, DType.BF16, Math.max(1, first.numRecvTokens()), hidden);
        result.put("normal_warmup_s", warmUp(g, () -> buffer.combine(CombineRequest.of(back,
                buffer.dispatch(request).await().handle())).await()));
        DispatchResult d = buffer.dispatch(request).await();
        DispatchResult last = d;
        for (int sample = -DROPPED_SAMPLES; sample < SAMPLES; sample++) {
            long dispatch = perCall(g, iters, () -> buffer.dispatch(request).await());
            long combine = perCall(g, iters, () -> buffer.combine(CombineRequest.of(back, last.handle())).await());
            if (sample >= 0) {
                dispatchNs[sample] = dispatch;
                combineNs[sample] = combine;
            }
        }
        int rows = d.numRecvTokens();
        // bytes that cross TCP: two-hop sends each token once per other node it has experts on
        long remoteRows = 0;
        int perRank = experts / g.size();
        for (int t = 0; t < tokens; t++) {
            java.util.BitSet nodes = new java.util.BitSet();
            for (int k = 0; k < topk; k++) {
                int node = routing.expert(t, k) / perRank / buffer.ranksPerNode();
                if (node != g.rank() / buffer.ranksPerNode()) {
                    nodes.set(node);
                }
            }
            remoteRows += nodes.cardinality();
        }
        record(g, result, "normal", dispatchNs, combineNs, (long) rows * (hidden + hidden / 32),
                (long) rows * 2 * hidden, remoteRows * (hidden + hidden / 32), remoteRows * 2L * hidden);
    }

    private static void lowLatency(ProcessGroup g, EpBuffer buffer, Arena arena, Path dir, int tokens, int hidden,
                                   int topk, int experts, int iters, ObjectNode result) throws IOException {
        Routing routing = Routing.random(new Random(99 + g.rank()), tokens, topk, experts);
        writeRouting(dir.resolve("ll"), g.rank(), routing);
        Tensor x = randomBf16(arena, 1000 + g.rank(), tokens, hidden);
        int local = experts / g.size();
        Tensor expertOut = Tensor.allocate(arena, DType.BF16, local, (long) g.size() * tokens, hidden);
        long[] dispatchNs = new long[SAMPLES];
        long[] combineNs = new long[SAMPLES];
        LowLatencyDispatchRequest req = LowLatencyDispatchRequest.of(x, routing, tokens, experts);
        result.put("low_latency_warmup_s", warmUp(g, () -> buffer.lowLatencyCombine(LowLatencyCombineRequest.of(
                expertOut, routing, buffer.lowLatencyDispatch(req).await().handle())).await()));
        LowLatencyDispatchResult[] d = new LowLatencyDispatchResult[1];
        for (int sample = -DROPPED_SAMPLES; sample < SAMPLES; sample++) {
            long dispatch = perCall(g, iters, () -> d[0] = buffer.lowLatencyDispatch(req).await());
            long combine = perCall(g, iters, () -> buffer.lowLatencyCombine(
                    LowLatencyCombineRequest.of(expertOut, routing, d[0].handle())).await());
            if (sample >= 0) {
                dispatchNs[sample] = dispatch;
                combineNs[sample] = combine;
            }
        }
        long rows = Arrays.stream(d[0].recvCount()).sum();
        long remote = 0;
        for (int i = 0; i < local; i++) {
            for (int s = 0; s < g.size(); s++) {
                if (s / buffer.ranksPerNode() != g.rank() / buffer.ranksPerNode()) {
                    remote += (int) d[0].handle().layoutRange(i, s);
                }
            }
        }
        record(g, result, "low_latency", dispatchNs, combineNs, rows * (hidden + hidden / 32 + 16), rows * 2 * hidden,
                remote * (hidden + hidden / 32 + 16), remote * 2 * hidden);
        hookOverlap(g, buffer, req, expertOut, routing, SAMPLES, median(dispatchNs) + median(combineNs), dir, result);
    }

    /** The round trip around compute phases, blocking and with hooks, traced on rank 0. */
    private static void hookOverlap(ProcessGroup g, EpBuffer buffer, LowLatencyDispatchRequest req, Tensor expertOut,
                                    Routing routing, int iters, long commNs, Path dir, ObjectNode result)
            throws IOException {
        long work = calibrate(commNs / 2);
        TraceRecorder trace = g.rank() == 0 ? TraceRecorder.enabled(0) : TraceRecorder.disabled();
        buffer.traceTo(trace);
        trace.threadName(0, "compute");
        long[] blocking = new long[iters];
        long[] hooked = new long[iters];
        for (int it = 0; it < iters; it++) {
            g.barrier();
            long t0 = System.nanoTime();
            LowLatencyDispatchResult d = buffer.lowLatencyDispatch(req).await();
            compute(trace, work);
            buffer.lowLatencyCombine(LowLatencyCombineRequest.of(expertOut, routing, d.handle())).await();
            compute(trace, work);
            blocking[it] = System.nanoTime() - t0;
            g.barrier();
            long t1 = System.nanoTime();
            EpFuture<LowLatencyDispatchResult> hook = buffer.lowLatencyDispatch(req.withHook(true));
            compute(trace, work);
            LowLatencyDispatchResult h = hook.await();
            EpFuture<Tensor> back = buffer.lowLatencyCombine(LowLatencyCombineRequest.of(expertOut, routing, h.handle())
                    .withHook(true));
            compute(trace, work);
            back.await();
            hooked[it] = System.nanoTime() - t1;
        }
        if (g.rank() == 0) {
            trace.write(dir.resolve("trace-rank0.json"));
            result.put("hook_blocking_s", median(blocking) / 1e9);
            result.put("hook_overlapped_s", median(hooked) / 1e9);
            result.put("hook_compute_s", 2 * fastestNs(work) / 1e9);
        }
        buffer.traceTo(TraceRecorder.disabled());
    }

    private static final float[] SCRATCH = new float[4096];

    /**
     * The spin count whose fastest of three runs takes {@code targetNs}. The fastest, because with
     * more ranks than cores one run can be preempted midway. A single run once stopped the
     * doubling early, and the "compute" phase came out at 0.04 ms instead of ~8 (EP 4). The spin
     * is compiled first: calibrated in the interpreter, it later ran ten times shorter.
     */
    private static long calibrate(long targetNs) {
        long warm = System.nanoTime() + 300_000_000L; // compile the spin first, or it speeds up after calibration
        while (System.nanoTime() < warm) {
            spin(1 << 12);
        }
        long n = 1;
        while (fastestNs(n) < targetNs && n < (1L << 30)) {
            n *= 2;
        }
        return n;
    }

    private static long fastestNs(long work) {
        return Math.min(computeNs(work), Math.min(computeNs(work), computeNs(work)));
    }

    private static long computeNs(long work) {
        long t0 = System.nanoTime();
        spin(work);
        return System.nanoTime() - t0;
    }

    private static void compute(TraceRecorder trace, long work) {
        long t0 = trace.now();
        spin(work);
        trace.complete("expert GEMM (stand-in)", "compute", 0, t0, trace.now());
    }

    private static float sink;

    private static void spin(long work) {
        float s = 0;
        for (long i = 0; i < work; i++) {
            int j = (int) (i & (SCRATCH.length - 1));
            SCRATCH[j] = SCRATCH[j] * 0.999f + 1f;
            s += SCRATCH[j];
        }
        sink += s;
    }

    private static long median(long[] ns) {
        long[] c = ns.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    /** Gathers every rank's times and bytes; rank 0 stores medians of per-iteration maxima and mean bytes. */
    private static void record(ProcessGroup g, ObjectNode result, String mode, long[] dispatchNs, long[] combineNs,
                               long dispatchBytes, long combineBytes, long remoteDispatchBytes, long remoteCombineBytes) {
        int n = dispatchNs.length;
        ByteBuffer mine = ByteBuffer.allocate(8 * (2 * n + 4));
        for (long v : dispatchNs) {
            mine.putLong(v);
        }
        for (long v : combineNs) {
            mine.putLong(v);
        }
        mine.putLong(dispatchBytes).putLong(combineBytes).putLong(remoteDispatchBytes).putLong(remoteCombineBytes);
        byte[][] all = g.allGather(mine.array());
        long[] dMax = new long[n];
        long[] cMax = new long[n];
        double[] bytes = new double[4];
        for (byte[] b : all) {
            ByteBuffer in = ByteBuffer.wrap(b);
            for (int i = 0; i < n; i++) {
                dMax[i] = Math.max(dMax[i], in.getLong());
            }
            for (int i = 0; i < n; i++) {
                cMax[i] = Math.max(cMax[i], in.getLong());
            }
            for (int i = 0; i < 4; i++) {
                bytes[i] += (double) in.getLong() / all.length;
            }
        }
        result.put(mode + "_dispatch_s", median(dMax) / 1e9);
        result.put(mode + "_combine_s", median(cMax) / 1e9);
        result.put(mode + "_dispatch_bytes", bytes[0]);
        result.put(mode + "_combine_bytes", bytes[1]);
        result.put(mode + "_remote_dispatch_bytes", bytes[2]);
        result.put(mode + "_remote_combine_bytes", bytes[3]);
    }
}
