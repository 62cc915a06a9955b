package dev.flyer.ep;

import dev.flyer.core.tensor.Tensor;

/**
 * One low-latency combine (DeepEP's {@code low_latency_combine}): the experts' outputs
 * {@code x} ({@code [localExperts, R·maxTokens, hidden]} BF16; ignored with {@code zeroCopy},
 * where they were written into {@link EpBuffer#nextLowLatencyCombineBuffer}) go back to their
 * sources and are summed there with {@code routing}'s weights into {@code out}
 * ({@code [T, hidden]} BF16; null: the buffer's own memory).
 */
public record LowLatencyCombineRequest(Tensor x, Routing routing, LowLatencyHandle handle, boolean zeroCopy,
                                       boolean returnRecvHook, Tensor out, EpFuture<?> previous) {
    public static LowLatencyCombineRequest of(Tensor x, Routing routing, LowLatencyHandle handle) {
        return new LowLatencyCombineRequest(x, routing, handle, false, false, null, null);
    }

    public LowLatencyCombineRequest withZeroCopy(boolean on) {
        return new LowLatencyCombineRequest(x, routing, handle, on, returnRecvHook, out, previous);
    }

    public LowLatencyCombineRequest withHook(boolean hook) {
        return new LowLatencyCombineRequest(x, routing, handle, zeroCopy, hook, out, previous);
    }

    public LowLatencyCombineRequest into(Tensor o) {
        return new LowLatencyCombineRequest(x, routing, handle, zeroCopy, returnRecvHook, o, previous);
    }

    public LowLatencyCombineRequest after(EpFuture<?> p) {
        return new LowLatencyCombineRequest(x, routing, handle, zeroCopy, returnRecvHook, out, p);
    }
}
