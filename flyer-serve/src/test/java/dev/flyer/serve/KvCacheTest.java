package dev.flyer.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Block allocation, sharing and eviction of the prefix cache. */
class KvCacheTest {
    private final ModelConfig config = ModelConfig.parse(RandomCheckpoint.config(RandomCheckpoint.Preset.TINY_V3, 1, false));

    private static int[] tokens(int n, int salt) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = (i * 31 + salt) % 500;
        }
        return t;
    }

    @Test
    void publishedBlocksAreSharedThenEvictedWhenIdleAndNeeded() {
        try (KvCache cache = new KvCache(config, 4)) {
            int[] prompt = tokens(200, 1);
            KvCache.Sequence a = cache.newSequence();
            a.reserve(200);
            a.advance(200);
            a.publishFullBlocks(prompt);
            assertThat(cache.cachedBlocks()).isEqualTo(3);
            KvCache.Sequence b = cache.newSequence();
            assertThat(b.adoptPrefix(prompt)).isEqualTo(192);
            assertThat(b.blockTable()).containsExactly(a.blockTable()[0], a.blockTable()[1], a.blockTable()[2]);
            KvCache.Sequence c = cache.newSequence();
            int[] other = tokens(200, 1);
            other[70] = 499;
            assertThat(c.adoptPrefix(other)).as("diverges in block 1").isEqualTo(64);
            a.release();
            b.release();
            c.release();
            assertThat(cache.freeBlocks()).isEqualTo(4);
            KvCache.Sequence d = cache.newSequence();
            d.reserve(256);
            assertThat(cache.cachedBlocks()).as("idle published blocks evicted for d").isZero();
            assertThatThrownBy(() -> cache.newSequence().reserve(1)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void aWholePromptInTheCacheStillLeavesItsLastTokenToCompute() {
        try (KvCache cache = new KvCache(config, 4)) {
            int[] prompt = tokens(128, 2);
            KvCache.Sequence a = cache.newSequence();
            a.reserve(128);
            a.advance(128);
            a.publishFullBlocks(prompt);
            assertThat(cache.newSequence().adoptPrefix(prompt)).isEqualTo(64);
        }
    }
}
