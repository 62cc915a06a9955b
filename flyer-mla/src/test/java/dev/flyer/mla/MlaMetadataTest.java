package dev.flyer.mla;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The split-KV planner: FlashMLA's greedy payloads, full coverage, balance on ragged batches. */
class MlaMetadataTest {
    @Test
    void handWorkedExample() {
        // lengths 640, 64, 0 -> blocks 10, 1, 1 (+5 each) = 27; 2 parts -> payload ceil(27/2)+5 = 19.
        MlaMetadata meta = MlaMetadata.plan(new int[] {640, 64, 0}, 16, 2);
        assertThat(meta.parts()).isEqualTo(2);
        // part 0 takes request 0 whole (15) and stops in request 1 (needs 6 > remaining 4, cut 4-5 <= 0: no split)
        assertThat(meta.splitOffsets()).containsExactly(0, 1, 2, 3);
        assertThat(meta.beginRequest[1]).isEqualTo(1);
        assertThat(meta.endRequest[0]).isEqualTo(0);
    }

    @Test
    void longSequenceIsSplitAcrossParts() {
        MlaMetadata meta = MlaMetadata.plan(new int[] {64 * 100}, 16, 4);
        assertThat(meta.numSplits(0)).isEqualTo(4);
        assertThat(meta.splitOffsets()).containsExactly(0, 4);
    }

    @Test
    void rowBlocksReducePartsAsFlashMlaDoes() {
        assertThat(MlaMetadata.plan(new int[] {100}, 128, 2).parts()).isEqualTo(1);
        assertThat(MlaMetadata.plan(new int[] {100}, 128, 2).rowBlocks()).isEqualTo(2);
        assertThat(MlaMetadata.plan(new int[] {100}, 64, 8).parts()).isEqualTo(8);
        assertThat(MlaMetadata.plan(new int[] {100}, 2, 8).rowBlocks()).isEqualTo(1);
    }

    @Test
    void everyBlockIsCoveredOnceAndPartsAreBalanced() {
        long seed = 20261129;
        System.out.println("seed " + seed);
        Random random = new Random(seed);
        for (int trial = 0; trial < 300; trial++) {
            int b = 1 + random.nextInt(64);
            int[] lengths = new int[b];
            for (int i = 0; i < b; i++) {
                lengths[i] = random.nextInt(5) == 0 ? 0 : 1 + random.nextInt(8192);
            }
            int workers = 1 + random.nextInt(16);
            MlaMetadata meta = MlaMetadata.plan(lengths, 16, workers);
            int[][] covered = new int[b][];
            long total = 0;
            for (int i = 0; i < b; i++) {
                covered[i] = new int[Math.max(1, (lengths[i] + 63) / 64)];
                total += covered[i].length + MlaMetadata.FIXED_OVERHEAD_BLOCKS;
            }
            long payload = (total + meta.parts() - 1) / meta.parts() + MlaMetadata.FIXED_OVERHEAD_BLOCKS;
            int[] splitsSeen = new int[b];
            for (int p = 0; p < meta.parts(); p++) {
                long work = 0;
                for (int r = meta.beginRequest[p]; r <= meta.endRequest[p]; r++) {
                    int from = r == meta.beginRequest[p] ? meta.beginBlock[p] : 0;
                    int to = r == meta.endRequest[p] ? meta.endBlock[p] : covered[r].length;
                    for (int k = from; k < to; k++) {
                        covered[r][k]++;
                    }
                    work += to - from + MlaMetadata.FIXED_OVERHEAD_BLOCKS;
                    splitsSeen[r]++;
                }
                assertThat(work).as("trial %d part %d work", trial, p).isLessThanOrEqualTo(payload + MlaMetadata.FIXED_OVERHEAD_BLOCKS);
            }
            for (int i = 0; i < b; i++) {
                assertThat(covered[i]).as("trial %d request %d", trial, i).containsOnly(1);
                assertThat(splitsSeen[i]).isEqualTo(meta.numSplits(i));
            }
        }
    }
}
