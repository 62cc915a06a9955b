package dev.flyer.ep;

import dev.flyer.core.tensor.Tensor;

/**
 * What a rank received from a normal dispatch: rows grouped by source rank ascending, then by the
 * source's token index ascending, each token once.
 *
 * @param recvX {@code [N, hidden]} in the input's dtype
 * @param recvScales with FP8 input, {@code [N, hidden/128]} F32 (else null)
 * @param recvTopkIdx {@code [N, K]} local expert ids, {@code -1} for experts on other ranks (null
 *        without routing)
 * @param recvTopkWeights {@code [N, K]}, 0 where not local (null without weights)
 * @param numRecvTokensPerExpert per local expert, rounded up to the alignment (empty in
 *        worst-token mode and for cached dispatches)
 * @param handle for {@link EpBuffer#combine} and cached dispatches
 */
public record DispatchResult(Tensor recvX, Tensor recvScales, int[] recvTopkIdx, float[] recvTopkWeights,
                             int[] numRecvTokensPerExpert, DispatchHandle handle) {
    /** Received rows (without worst-token padding). */
    public int numRecvTokens() {
        return handle.numRecvTokens();
    }
}
