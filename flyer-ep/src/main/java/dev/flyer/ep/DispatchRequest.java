package dev.flyer.ep;

import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * One normal-mode dispatch (DeepEP's {@code Buffer.dispatch} arguments).
 *
 * @param x tokens {@code [T, hidden]}, BF16 or F8_E4M3 (contiguous)
 * @param scales with FP8 tokens, their F32 scales {@code [T, hidden/128]}, passed through untouched
 * @param routing the gate's choices (null for a cached dispatch)
 * @param numExperts experts in the job (with routing)
 * @param layout a precomputed layout of {@code routing} (null: computed)
 * @param cached a previous dispatch's handle: reuse its layout, move only {@code x}
 * @param expertAlignment received per-expert counts are rounded up to a multiple of this
 * @param numWorstTokens when positive, outputs have exactly this many rows, padded with
 *        {@code topkIdx = -1} and no per-expert counts are returned
 * @param previous a call this one starts after (null: none)
 * @param resultArena where the outputs are allocated; null: the buffer's own memory, valid
 *        until the second next dispatch
 * @param async DeepEP's {@code async_finish}: run on the communication thread so the caller can
 *        compute before awaiting; false (the default) runs the call on the caller's thread when
 *        nothing is ahead of it
 */
public record DispatchRequest(Tensor x, Tensor scales, Routing routing, int numExperts, DispatchLayout layout,
                              DispatchHandle cached, int expertAlignment, int numWorstTokens, EpFuture<?> previous,
                              Arena resultArena, boolean async) {
    public static DispatchRequest of(Tensor x, Routing routing, int numExperts) {
        return new DispatchRequest(x, null, routing, numExperts, null, null, 1, 0, null, null, false);
    }

    /** A cached dispatch: {@code handle}'s layout, only the tokens move. */
    public static DispatchRequest cached(Tensor x, DispatchHandle handle) {
        return new DispatchRequest(x, null, null, 0, null, handle, 1, 0, null, null, false);
    }

    public DispatchRequest withScales(Tensor s) {
        return new DispatchRequest(x, s, routing, numExperts, layout, cached, expertAlignment, numWorstTokens,
                previous, resultArena, async);
    }

    public DispatchRequest withLayout(DispatchLayout l) {
        return new DispatchRequest(x, scales, routing, numExperts, l, cached, expertAlignment, numWorstTokens,
                previous, resultArena, async);
    }

    public DispatchRequest withExpertAlignment(int a) {
        return new DispatchRequest(x, scales, routing, numExperts, layout, cached, a, numWorstTokens, previous,
                resultArena, async);
    }

    public DispatchRequest withWorstTokens(int n) {
        return new DispatchRequest(x, scales, routing, numExperts, layout, cached, expertAlignment, n, previous,
                resultArena, async);
    }

    public DispatchRequest after(EpFuture<?> p) {
        return new DispatchRequest(x, scales, routing, numExperts, layout, cached, expertAlignment, numWorstTokens, p,
                resultArena, async);
    }

    public DispatchRequest into(Arena a) {
        return new DispatchRequest(x, scales, routing, numExperts, layout, cached, expertAlignment, numWorstTokens,
                previous, a, async);
    }

    /** DeepEP's {@code async_finish}. */
    public DispatchRequest withAsync(boolean on) {
        return new DispatchRequest(x, scales, routing, numExperts, layout, cached, expertAlignment, numWorstTokens,
                previous, resultArena, on);
    }
}
