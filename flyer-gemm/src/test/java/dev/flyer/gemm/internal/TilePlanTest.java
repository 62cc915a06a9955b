package dev.flyer.gemm.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TilePlanTest {
    @Test
    void fewRowsWhoseActivationsFitL2RunSkinnyTheRestOnPanels() {
        assertThat(TilePlan.choose(1, 2112, 16384, 2).skinny()).isTrue();
        assertThat(TilePlan.choose(16, 2112, 7168, 2).skinny()).isTrue();
        assertThat(TilePlan.choose(32, 7168, 2048, 2).skinny()).isTrue();
        assertThat(TilePlan.choose(32, 2112, 7168, 2).skinny()).isTrue();
        assertThat(TilePlan.choose(48, 7168, 2048, 2).skinny()).isTrue();
        assertThat(TilePlan.choose(48, 2112, 7168, 2).skinny()).isFalse();
        assertThat(TilePlan.choose(64, 7168, 2048, 2).skinny()).isFalse();
        assertThat(TilePlan.choose(128, 2112, 7168, 2)).isEqualTo(new TilePlan(false, PanelKernel.PANEL));
    }

    @Test
    void tileWidthKeepsManyWorkersBusyAndStaysWideOnFew() {
        // 2 workers: widened in steps of 16 to about 16 tiles each
        assertThat(TilePlan.tileCols(2112, 2)).isEqualTo(80);
        assertThat(TilePlan.tileCols(576, 2)).isEqualTo(32);
        assertThat(TilePlan.tileCols(128, 2)).isEqualTo(16);
        assertThat(TilePlan.tileCols(65536, 2)).isEqualTo(2048);
        assertThat(TilePlan.widened(102400, 64, 2)).isEqualTo(3200);
        assertThat(TilePlan.widened(100, 64, 2)).isEqualTo(64);
        // 64 workers: 16 wide gives 36 tiles (one wave of 16), 2 wide 288 tiles (5 waves of 2)
        assertThat(TilePlan.tileCols(576, 64)).isEqualTo(2);
        assertThat(TilePlan.tileCols(4096, 64)).isEqualTo(16);
        assertThat(TilePlan.tileCols(16384, 64)).isEqualTo(16);
        assertThat(TilePlan.tileCols(65536, 64)).isEqualTo(64);
        assertThat(TilePlan.tileCols(1, 8)).isEqualTo(16);
    }

    @Test
    void everyTileWidthGivesTheSameSumsBitForBit() {
        long seed = 20261129L;
        System.out.println("TilePlanTest seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        int n = 37;
        int k = 384;
        int kBlocks = k / PanelKernel.K_BLOCK;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment b = arena.allocate((long) n * k);
            for (long i = 0; i < b.byteSize(); i++) {
                int code = random.nextInt(256);
                b.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) ((code & 0x7F) == 0x7F ? 0x3C : code));
            }
            float[] bScale = new float[((n + 127) / 128) * kBlocks];
            for (int i = 0; i < bScale.length; i++) {
                bScale[i] = (float) (0.5 + random.nextDouble()) * 0x1p-120f;
            }
            for (int rows : new int[] {1, 3, 7}) {
                float[] a = new float[rows * k];
                float[] aScale = new float[rows * kBlocks];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) random.nextGaussian();
                }
                java.util.Arrays.fill(aScale, 1f);
                float[] want = new float[rows * n];
                SkinnyKernel.run(a, rows, k, aScale, b, 0, k, bScale, n, want, false, 16);
                for (int w : new int[] {32, 8, 4, 2}) {
                    float[] got = new float[rows * n];
                    SkinnyKernel.run(a, rows, k, aScale, b, 0, k, bScale, n, got, false, w);
                    assertThat(got).as("rows=%d width=%d", rows, w).containsExactly(want);
                }
            }
        }
    }
}
