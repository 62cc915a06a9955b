package dev.flyer.ep;

import dev.flyer.core.tensor.Tensor;

/**
 * A combine's output at the source rank: {@code combinedX} {@code [T, hidden]} BF16 and, when
 * weights were given, {@code combinedTopkWeights} {@code [T, K]} (else null).
 */
public record CombineResult(Tensor combinedX, float[] combinedTopkWeights) {}
