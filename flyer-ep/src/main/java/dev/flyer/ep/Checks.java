package dev.flyer.ep;

import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.util.Arrays;

/** Argument checks shared by the exchanges: each names the argument and what it must be. */
final class Checks {
    private Checks() {}

    /** Checks {@code x} ({@code [T, hidden]} BF16 or FP8 with F32 scales) and returns T. */
    static int tokens(Tensor x, Tensor scales, String name) {
        if (x == null) {
            throw new IllegalArgumentException(name + " is required");
        }
        if (x.rank() != 2 || !x.isContiguous()) {
            throw new IllegalArgumentException(name + " must be a contiguous [tokens, hidden] tensor, got shape "
                    + Arrays.toString(x.shape()));
        }
        if (x.dtype() == DType.BF16) {
            if (scales != null) {
                throw new IllegalArgumentException("scales are only for F8_E4M3 tokens, " + name + " is BF16");
            }
        } else if (x.dtype() == DType.F8_E4M3) {
            if (x.size(1) % 128 != 0) {
                throw new IllegalArgumentException("FP8 tokens need hidden % 128 == 0, got " + x.size(1));
            }
            if (scales == null || scales.dtype() != DType.F32 || scales.rank() != 2 || !scales.isContiguous()
                    || scales.size(0) != x.size(0) || scales.size(1) != x.size(1) / 128) {
                throw new IllegalArgumentException("FP8 tokens need contiguous F32 scales [" + x.size(0) + ", "
                        + x.size(1) / 128 + "], got " + (scales == null ? "none" : scales.dtype() + " "
                        + Arrays.toString(scales.shape())));
            }
        } else {
            throw new IllegalArgumentException(name + " must be BF16 or F8_E4M3, got " + x.dtype());
        }
        return Math.toIntExact(x.size(0));
    }

    static void bf16Rows(Tensor t, long rows, long hidden, String name) {
        if (t == null) {
            return;
        }
        if (t.dtype() != DType.BF16 || t.rank() != 2 || !t.isContiguous() || t.size(0) < rows || t.size(1) != hidden) {
            throw new IllegalArgumentException(name + " must be contiguous BF16 [" + rows + ", " + hidden + "], got "
                    + t.dtype() + " " + Arrays.toString(t.shape()));
        }
    }

    static void cached(DispatchHandle h, Wire w, int tokens) {
        if (h.rank != w.rank || h.numRanks != w.ranks || h.ranksPerNode != w.ranksPerNode || h.twoHop != w.twoHop) {
            throw new IllegalArgumentException("the handle belongs to rank " + h.rank + " of " + h.numRanks
                    + " (or another buffer layout), this is rank " + w.rank + " of " + w.ranks);
        }
        if (h.numTokens != tokens) {
            throw new IllegalArgumentException("the handle is for " + h.numTokens + " tokens, x has " + tokens);
        }
    }
}
