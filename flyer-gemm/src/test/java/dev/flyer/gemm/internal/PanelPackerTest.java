package dev.flyer.gemm.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PanelPackerTest {
    @Test
    void packsEveryRowDepthAndZeroPaddingLikeTheScalarDefinition() {
        long seed = 1129L;
        System.out.println("PanelPackerTest seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        int[][] shapes = {{32, 512}, {21, 300}, {1, 16}, {17, 257}, {32, 7}};
        try (Arena arena = Arena.ofConfined()) {
            for (DType type : new DType[] {DType.F32, DType.BF16}) {
                for (int[] shape : shapes) {
                    int cols = shape[0];
                    int k = shape[1];
                    int col0 = 3;
                    Tensor b = Tensor.allocate(arena, type, col0 + cols, k);
                    for (long i = 0; i < b.numel(); i++) {
                        float v = (float) random.nextGaussian();
                        if (type == DType.F32) {
                            b.data().setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
                        } else {
                            b.data().setAtIndex(ValueLayout.JAVA_SHORT, i, Bf16.encode(v));
                        }
                    }
                    float[] panel = new float[k * PanelKernel.PANEL];
                    java.util.Arrays.fill(panel, Float.NaN);
                    PanelPacker.pack(b, col0, cols, k, panel);
                    float[] row = new float[k];
                    for (int c = 0; c < PanelKernel.PANEL; c++) {
                        if (c < cols) {
                            GemmRunner.decodeRow(b, col0 + c, k, row, 0);
                        } else {
                            java.util.Arrays.fill(row, 0f);
                        }
                        for (int kk = 0; kk < k; kk++) {
                            assertThat(panel[kk * PanelKernel.PANEL + c])
                                    .as("%s cols=%d k=%d: column %d depth %d", type, cols, k, c, kk).isEqualTo(row[kk]);
                        }
                    }
                }
            }
        }
    }
}
