package dev.flyer.ep;

import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * One normal-mode combine (DeepEP's {@code Buffer.combine}): {@code x} holds this rank's rows in
 * the order its dispatch received them ({@code [N, hidden]} BF16; worst-token padding rows are
 * ignored); {@code topkWeights} ({@code [N, K]}, or null) are summed the same way; {@code bias0}
 * and {@code bias1} ({@code [T, hidden]} BF16, or null) are added at the source. {@code async} is
 * DeepEP's {@code async_finish}, as in {@link DispatchRequest}.
 */
public record CombineRequest(Tensor x, float[] topkWeights, DispatchHandle handle, Tensor bias0, Tensor bias1,
                             EpFuture<?> previous, Arena resultArena, boolean async) {
    public static CombineRequest of(Tensor x, DispatchHandle handle) {
        return new CombineRequest(x, null, handle, null, null, null, null, false);
    }

    public CombineRequest withWeights(float[] w) {
        return new CombineRequest(x, w, handle, bias0, bias1, previous, resultArena, async);
    }

    public CombineRequest withBias(Tensor b0, Tensor b1) {
        return new CombineRequest(x, topkWeights, handle, b0, b1, previous, resultArena, async);
    }

    public CombineRequest after(EpFuture<?> p) {
        return new CombineRequest(x, topkWeights, handle, bias0, bias1, p, resultArena, async);
    }

    public CombineRequest into(Arena a) {
        return new CombineRequest(x, topkWeights, handle, bias0, bias1, previous, a, async);
    }

    /** DeepEP's {@code async_finish}. */
    public CombineRequest withAsync(boolean on) {
        return new CombineRequest(x, topkWeights, handle, bias0, bias1, previous, resultArena, on);
    }
}
