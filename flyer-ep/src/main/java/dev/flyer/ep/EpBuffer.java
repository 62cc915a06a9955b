package dev.flyer.ep;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.core.trace.TraceRecorder;
import dev.flyer.dist.ProcessGroup;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * Expert-parallel communication for MoE: DeepEP's {@code Buffer} over a flyer-dist process group
 * (shared memory within a host, TCP between hosts).
 *
 * <p>Contract: every rank of the group makes the same calls in the same order (as with DeepEP).
 * Calls return an {@link EpFuture} at once; the exchange runs on this buffer's communication
 * thread (one per buffer, so calls never interleave on the wire), with packing and reductions
 * split over {@link EpConfig#commThreads()} threads; transfers run on the group's per-peer
 * threads. Waiting parks, so compute threads are not spun. A peer that dies or stalls makes the
 * waits fail with a {@link dev.flyer.dist.DistException} after the group's timeout; after such a
 * failure the buffer must be closed. Bad arguments fail the future with an
 * {@link IllegalArgumentException} before anything is sent.
 *
 * <p>Implementation notes: normal mode is {@link NormalDispatch} / {@link NormalCombine},
 * low-latency mode {@link LowLatency}; see their notes for the wire formats. Follows DeepEP
 * {@code deep_ep/buffers/legacy.py} for the API and {@code csrc/kernels/legacy/*} for semantics.
 */
public final class EpBuffer implements AutoCloseable {
    private final ProcessGroup group;
    private final Wire wire;
    private final Duration timeout;
    private final ComputePool pool;
    private final CommThread comm;
    private final NormalDispatch dispatch;
    private final NormalCombine combine;
    private final LowLatency lowLatency;
    private final Windows windows;
    private volatile TraceRecorder trace = TraceRecorder.disabled();

    /** The trace lane ({@code tid}) of the communication thread's spans. */
    public static final int TRACE_TID = 1;

    /** Joins the group's buffer: collective, every rank constructs its buffer at the same time. */
    public EpBuffer(ProcessGroup group, EpConfig config) {
        this.group = group;
        this.wire = new Wire(group, config);
        this.timeout = group.options().timeout();
        this.pool = new ComputePool(config.commThreads(), "flyer-ep-" + group.rank());
        this.comm = new CommThread("flyer-ep-comm-" + group.rank());
        this.windows = new Windows(wire, config.normalBytes() + config.lowLatencyBytes() / 2,
                config.lowLatencyBytes() / 2, timeout.toNanos());
        wire.useWindows(windows);
        this.dispatch = new NormalDispatch(wire, windows, config.normalBytes());
        this.combine = new NormalCombine(wire, windows, pool);
        this.lowLatency = new LowLatency(wire, windows, pool, config.lowLatencyBytes());
    }

    public int rank() {
        return group.rank();
    }

    public int numRanks() {
        return group.size();
    }

    /** Ranks per node as used (the configured value, capped at the group size). */
    public int ranksPerNode() {
        return wire.ranksPerNode;
    }

    /** DeepEP's {@code get_dispatch_layout} for this group. */
    public DispatchLayout dispatchLayout(Routing routing, int numExperts) {
        return DispatchLayout.of(routing, numExperts, wire.ranks, wire.ranksPerNode);
    }

    /** Normal-mode dispatch; see {@link DispatchRequest} and {@link DispatchResult}. */
    public EpFuture<DispatchResult> dispatch(DispatchRequest request) {
        return submit("dispatch on rank " + rank(), request.previous(), request.async(), () -> dispatch.run(request));
    }

    /** Normal-mode combine: dispatch's reverse (unweighted sum at the source). */
    public EpFuture<CombineResult> combine(CombineRequest request) {
        return submit("combine on rank " + rank(), request.previous(), request.async(), () -> combine.run(request));
    }

    /**
     * Low-latency dispatch. Without {@code returnRecvHook} the returned future is already done;
     * with it, the call returns as soon as the exchange is queued and {@link EpFuture#await()} is
     * the receive hook: compute in between overlaps the transfer.
     */
    public EpFuture<LowLatencyDispatchResult> lowLatencyDispatch(LowLatencyDispatchRequest request) {
        EpFuture<LowLatencyDispatchResult> f = submit("low-latency dispatch on rank " + rank(), request.previous(),
                request.returnRecvHook(), () -> lowLatency.dispatch(request));
        if (!request.returnRecvHook()) {
            f.await();
        }
        return f;
    }

    /** Low-latency combine: weighted sum back at the source; hook semantics as for dispatch. */
    public EpFuture<Tensor> lowLatencyCombine(LowLatencyCombineRequest request) {
        EpFuture<Tensor> f = submit("low-latency combine on rank " + rank(), request.previous(),
                request.returnRecvHook(), () -> lowLatency.combine(request));
        if (!request.returnRecvHook()) {
            f.await();
        }
        return f;
    }

    /** The buffer a zero-copy low-latency combine with {@code handle} sends from; write expert outputs into it. */
    public Tensor nextLowLatencyCombineBuffer(LowLatencyHandle handle) {
        return lowLatency.zeroCopyBuffer(handle);
    }

    /** Receive bytes normal mode needs at most for {@code maxTokensPerRank} tokens per rank. */
    public static long normalSizeHint(int hidden, int numRanks, int maxTokensPerRank, int numTopk, boolean fp8) {
        long row = (fp8 ? hidden + hidden / 32L : 2L * hidden) + 8 + 8L * numTopk;
        return 2 * row * numRanks * maxTokensPerRank;
    }

    /** Bytes low-latency mode needs (both buffer sets; DeepEP's {@code get_low_latency_rdma_size_hint}). */
    public static long lowLatencySizeHint(int maxTokensPerRank, int hidden, int numRanks, int numExperts, int numTopk) {
        return LowLatency.sizeHint(maxTokensPerRank, hidden, numRanks, numExperts, numTopk);
    }

    /**
     * Records every call's time on the communication thread as a {@code comm} span named
     * {@code ep::<op>} on lane {@link #TRACE_TID} of {@code recorder} (flyer-profile counts them as
     * communication).
     */
    public EpBuffer traceTo(TraceRecorder recorder) {
        recorder.threadName(TRACE_TID, "ep comm");
        this.trace = recorder;
        return this;
    }

    /**
     * Queues a call on the communication thread ({@code async}), or runs it on this thread when
     * nothing is ahead of it (DeepEP's {@code async_finish=False}: the caller waits anyway, so no
     * thread is woken for it).
     */
    private <T> EpFuture<T> submit(String what, EpFuture<?> previous, boolean async, Supplier<T> body) {
        String span = "ep::" + what.substring(0, what.indexOf(" on rank")).replace(' ', '_').replace("-", "_");
        TraceRecorder recorder = trace;
        Supplier<T> call = () -> {
            if (previous != null) {
                previous.join();
            }
            try (TraceRecorder.Span _ = recorder.span(span, "comm", TRACE_TID)) {
                windows.begin();
                return body.get();
            }
        };
        CommThread.Task<T> task = async ? comm.submit(call) : comm.runOrSubmit(call);
        return new EpFuture<>(task.result, task::runIfNext, timeout, what);
    }

    /** Stops the communication thread and frees the buffers (DeepEP's {@code destroy}); the group stays open. */
    @Override
    public void close() {
        comm.close();
        pool.close();
        dispatch.close();
        combine.close();
        lowLatency.close();
        windows.close();
    }
}
