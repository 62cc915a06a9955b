package dev.flyer.mla;

import dev.flyer.core.exec.ComputePool;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Dense decode against the FP64 reference over FlashMLA's test grid (trimmed lengths in the default run). */
@Timeout(120)
class FlashMlaDecodeTest {
    static Stream<Arguments> grid() {
        return Stream.of(
                Arguments.of(1, 1, 16, 4096, false, KvCacheFormat.BF16),
                Arguments.of(1, 2, 128, 640, true, KvCacheFormat.BF16),
                Arguments.of(3, 1, 64, 1024, false, KvCacheFormat.BF16),
                Arguments.of(3, 2, 64, 1024, true, KvCacheFormat.BF16),
                Arguments.of(3, 4, 128, 300, true, KvCacheFormat.BF16),
                Arguments.of(3, 4, 16, 1024, true, KvCacheFormat.BF16),
                Arguments.of(33, 1, 16, 600, false, KvCacheFormat.BF16),
                Arguments.of(33, 2, 128, 70, true, KvCacheFormat.BF16),
                Arguments.of(3, 1, 1, 4096, false, KvCacheFormat.BF16),
                Arguments.of(3, 2, 2, 2000, true, KvCacheFormat.BF16),
                Arguments.of(3, 1, 24, 700, false, KvCacheFormat.BF16),
                Arguments.of(3, 1, 40, 700, false, KvCacheFormat.BF16),
                Arguments.of(3, 1, 64, 1024, false, KvCacheFormat.FP8),
                Arguments.of(3, 2, 16, 1024, true, KvCacheFormat.FP8),
                Arguments.of(3, 1, 2, 1024, false, KvCacheFormat.FP8),
                Arguments.of(3, 4, 16, 700, true, KvCacheFormat.F32),
                Arguments.of(2, 1, 1, 700, false, KvCacheFormat.F32));
    }

    /** Lengths 0, multiples of 64, and random values in 1..maxLen. */
    static int[] lengths(Random random, int b, int maxLen) {
        int[] lens = new int[b];
        for (int i = 0; i < b; i++) {
            lens[i] = switch (i % 4) {
                case 0 -> maxLen;
                case 1 -> i == 1 ? 0 : 1 + random.nextInt(maxLen);
                case 2 -> 64 * Math.max(1, random.nextInt(maxLen / 64 + 1));
                default -> 1 + random.nextInt(maxLen);
            };
        }
        if (b == 1) {
            lens[0] = maxLen;
        }
        return lens;
    }

    @ParameterizedTest(name = "b={0} s_q={1} h_q={2} maxlen={3} causal={4} {5}")
    @MethodSource("grid")
    void matchesReference(int b, int sQ, int hQ, int maxLen, boolean causal, KvCacheFormat format) {
        long seed = 1000L * b + 100L * sQ + hQ + maxLen + (causal ? 7 : 0) + format.ordinal();
        System.out.println("seed " + seed);
        Random random = new Random(seed);
        DecodeCase c = new DecodeCase(seed, b, sQ, hQ, lengths(random, b, maxLen), format);
        float scale = (float) (Math.pow(192, -0.5) * 1.3);
        DecodeOptions options = DecodeOptions.mla().withScale(scale).withCausal(causal).withFormat(format);
        double[][] expected = c.reference(scale, causal);
        Attention one = FlashMla.decode(c.q, c.cache, c.blockTable, c.seqlens,
                MlaMetadata.plan(c.seqlens, sQ * hQ, 1), options);
        DecodeCase.assertClose(one, expected, "unsplit");
        Attention split = FlashMla.decode(c.q, c.cache, c.blockTable, c.seqlens,
                MlaMetadata.plan(c.seqlens, sQ * hQ, 7), options);
        DecodeCase.assertClose(split, expected, "split over 7 parts");
        Attention pooled = FlashMla.decode(c.q, c.cache, c.blockTable, c.seqlens,
                FlashMla.metadata(c.seqlens, sQ, hQ), options);
        DecodeCase.assertClose(pooled, expected, "pool " + ComputePool.shared().threads() + " workers");
    }

    static Stream<Arguments> fullGrid() {
        Stream.Builder<Arguments> out = Stream.builder();
        int i = 0;
        for (int b : new int[] {1, 3, 33}) {
            for (int sQ : new int[] {1, 2, 4}) {
                for (int hQ : new int[] {16, 64, 128}) {
                    KvCacheFormat format = i % 3 == 2 ? KvCacheFormat.FP8 : KvCacheFormat.BF16;
                    out.add(Arguments.of(b, sQ, hQ, b == 33 ? 1024 : 4096, i++ % 2 == 0, format));
                }
            }
        }
        return out.build();
    }

    /** FlashMLA's whole test grid (b x s_q x h_q, lengths up to 4096): minutes of FP64 reference, so slow-tagged. */
    @ParameterizedTest(name = "b={0} s_q={1} h_q={2} maxlen={3} causal={4} {5}")
    @MethodSource("fullGrid")
    @org.junit.jupiter.api.Tag("slow")
    @Timeout(600)
    void fullGridMatchesReference(int b, int sQ, int hQ, int maxLen, boolean causal, KvCacheFormat format) {
        matchesReference(b, sQ, hQ, maxLen, causal, format);
    }

    @Test
    void defaultScaleIsDToTheMinusHalf() {
        DecodeCase c = new DecodeCase(5, 2, 1, 16, new int[] {100, 5}, KvCacheFormat.BF16);
        Attention actual = FlashMla.decode(c.q, c.cache, c.blockTable, c.seqlens,
                FlashMla.metadata(c.seqlens, 1, 16), DecodeOptions.mla());
        DecodeCase.assertClose(actual, c.reference((float) (1 / Math.sqrt(576)), false), "default scale");
    }
}
