package dev.flyer.mla;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Sparse (top-k) decode, V3.2 style, against the FP64 reference over the gathered tokens. */
@Timeout(120)
class SparseDecodeTest {
    @ParameterizedTest(name = "b={0} s_q={1} h_q={2} topk={3} {4}")
    @CsvSource({"2, 1, 64, 128, BF16", "3, 2, 16, 100, FP8", "1, 4, 128, 64, FP8", "2, 1, 2, 300, BF16"})
    void matchesReference(int b, int sQ, int hQ, int topk, KvCacheFormat format) {
        long seed = 31L * b + 7L * sQ + hQ + topk + format.ordinal();
        System.out.println("seed " + seed);
        Random random = new Random(seed);
        int[] seqlens = new int[b];
        for (int i = 0; i < b; i++) {
            seqlens[i] = 200 + random.nextInt(600);
        }
        DecodeCase c = new DecodeCase(seed, b, sQ, hQ, seqlens, format);
        List<Integer> valid = new ArrayList<>();
        for (int slot = 0; slot < c.tokens.length; slot++) {
            if (c.tokens[slot] != null) {
                valid.add(slot);
            }
        }
        int[] indices = new int[b * sQ * topk];
        for (int i = 0; i < indices.length; i++) {
            indices[i] = random.nextInt(8) == 0 ? -1 : valid.get(random.nextInt(valid.size()));
        }
        if (b * sQ > 1) {
            java.util.Arrays.fill(indices, topk, 2 * topk, -1);
        }
        float scale = 0.07f;
        double[] out = new double[b * sQ * hQ * DecodeCase.DV];
        double[] lse = new double[b * hQ * sQ];
        for (int i = 0; i < b; i++) {
            for (int s = 0; s < sQ; s++) {
                int base = (i * sQ + s) * topk;
                int[] slots = java.util.stream.IntStream.range(base, base + topk).map(t -> indices[t])
                        .filter(v -> v >= 0).toArray();
                c.attendReference(i, s, null, slots, scale, out, lse);
            }
        }
        DecodeOptions options = DecodeOptions.mla().withScale(scale).withFormat(format);
        Attention actual = FlashMla.sparseDecode(c.q, c.cache, indices, topk,
                FlashMla.sparseMetadata(b, sQ, hQ, topk), options);
        DecodeCase.assertClose(actual, new double[][] {out, lse}, "sparse");
        Attention split = FlashMla.sparseDecode(c.q, c.cache, indices, topk,
                MlaMetadata.plan(lengthsOf(b * sQ, topk), hQ, 5), options);
        DecodeCase.assertClose(split, new double[][] {out, lse}, "sparse split over 5 parts");
    }

    private static int[] lengthsOf(int requests, int topk) {
        int[] lengths = new int[requests];
        java.util.Arrays.fill(lengths, topk);
        return lengths;
    }
}
