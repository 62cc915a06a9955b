package dev.flyer.ep;

import dev.flyer.core.tensor.Tensor;

/**
 * One low-latency dispatch (DeepEP's {@code low_latency_dispatch}).
 *
 * @param x BF16 tokens {@code [T, hidden]}, {@code T <= maxTokensPerRank}
 * @param routing the gate's experts (weights are not used here)
 * @param maxTokensPerRank the same on every rank; sizes the fixed slots
 * @param numExperts experts in the job
 * @param useFp8 cast to FP8 per token per 128 channels before sending
 * @param roundScale power-of-two scales
 * @param ue8m0 pack the scales as UE8M0 bytes, four per int (needs {@code roundScale})
 * @param returnRecvHook return at once: the result's {@link EpFuture#await()} is the receive hook
 * @param cumulativeRecvStats when not null, per local expert received counts are added to it
 * @param previous a call this one starts after (null: none)
 */
public record LowLatencyDispatchRequest(Tensor x, Routing routing, int maxTokensPerRank, int numExperts,
                                        boolean useFp8, boolean roundScale, boolean ue8m0, boolean returnRecvHook,
                                        int[] cumulativeRecvStats, EpFuture<?> previous) {
    public static LowLatencyDispatchRequest of(Tensor x, Routing routing, int maxTokensPerRank, int numExperts) {
        return new LowLatencyDispatchRequest(x, routing, maxTokensPerRank, numExperts, true, false, false, false,
                null, null);
    }

    public LowLatencyDispatchRequest withFp8(boolean fp8, boolean round, boolean packUe8m0) {
        return new LowLatencyDispatchRequest(x, routing, maxTokensPerRank, numExperts, fp8, round, packUe8m0,
                returnRecvHook, cumulativeRecvStats, previous);
    }

    public LowLatencyDispatchRequest withHook(boolean hook) {
        return new LowLatencyDispatchRequest(x, routing, maxTokensPerRank, numExperts, useFp8, roundScale, ue8m0, hook,
                cumulativeRecvStats, previous);
    }

    public LowLatencyDispatchRequest withStats(int[] stats) {
        return new LowLatencyDispatchRequest(x, routing, maxTokensPerRank, numExperts, useFp8, roundScale, ue8m0,
                returnRecvHook, stats, previous);
    }

    public LowLatencyDispatchRequest after(EpFuture<?> p) {
        return new LowLatencyDispatchRequest(x, routing, maxTokensPerRank, numExperts, useFp8, roundScale, ue8m0,
                returnRecvHook, cumulativeRecvStats, p);
    }
}
