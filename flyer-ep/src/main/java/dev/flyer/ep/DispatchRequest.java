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
 */
public record DispatchRequest(Tensor x, Tensor scales, Routing routing, int numExperts, DispatchLayout layout,
                              DispatchHandle cached, int expertAlignment, int numWorstTokens, EpFuture<?> previous,
                              Arena resultArena) {
    public static DispatchRequest of(Tensor x, Routing routing, int numExperts) {
        return new DispatchRequest(x, null, routing, numExperts, null, null, 1, 0, null, null);
    }

    /** A cached dispatch: {@code handle}'s layout, only the tokens move. */
    public static DispatchRequest cached(Tensor x, DispatchHandle handle) {
        return new DispatchRequest(x, null, null, 0, null, handle, 1, 0, null, null);
    }

    public DispatchRequest withScales(Tensor s) {
        return new DispatchRequest(x, s, routing, numExperts, layout, cached, expertAlignment, numWorstTokens,
                previous, resultArena);
    }

    public DispatchRequest withLayout(DispatchLayout l) {
        return new DispatchRequest(x, scales, routing, numExperts, l, cached, expertAlignment, numWorstTokens,
                previous, resultArena);
    }

    public DispatchRequest withExpertAlignment(int a) {
        return new DispatchRequest(x, scales, routing, numExperts, layout, cached, a, numWorstTokens, previous,
                resultArena);
    }

    public DispatchRequest withWorstTokens(int n) {
        return new DispatchRequest(x, scales, routing, numExperts, layout, cached, expertAlignment, n, previous,
                resultArena);
    }

    public DispatchRequest after(EpFuture<?> p) {
        return new DispatchRequest(x, scales, routing, numExperts, layout, cached, expertAlignment, numWorstTokens, p,
                resultArena);
    }

    public DispatchRequest into(Arena a) {
        return new DispatchRequest(x, scales, routing, numExperts, layout, cached, expertAlignment, numWorstTokens,
                previous, a);
    }
}
