package dev.flyer.ep;

import dev.flyer.core.tensor.Tensor;

/**
 * What a rank's experts received from a low-latency dispatch. Only the first
 * {@code recvCount[e]} rows of expert {@code e} are valid; within them, source ranks ascending,
 * then source token index ascending. Views of buffer memory: valid until the second next
 * low-latency dispatch (two alternating buffer sets, as in DeepEP).
 *
 * @param recvX {@code [localExperts, R·maxTokens, hidden]}, F8_E4M3 or BF16
 * @param recvScales with FP8: F32 {@code [localExperts, R·maxTokens, hidden/128]} (row-major), or
 *        with UE8M0 I32 {@code [localExperts, R·maxTokens, hidden/512]} (four exponent bytes per
 *        int); null for BF16
 * @param recvCount valid rows per local expert
 * @param handle for {@link EpBuffer#lowLatencyCombine}
 */
public record LowLatencyDispatchResult(Tensor recvX, Tensor recvScales, int[] recvCount, LowLatencyHandle handle) {}
