package dev.flyer.mla;

import dev.flyer.core.tensor.Tensor;

/**
 * An attention result: {@code out} and its natural-log {@code lse} (log-sum-exp of the scaled
 * scores per query row; +inf where a row saw no key, whose out is 0).
 */
public record Attention(Tensor out, Tensor lse) {}
