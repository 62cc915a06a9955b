package dev.flyer.serve.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.serve.LoadOptions;
import dev.flyer.serve.ModelConfig;
import dev.flyer.serve.RandomCheckpoint;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MoE layer gives the same output whether its experts run side by side on the pool or one
 * after the other. (Bit for bit once the kernels are compiled; before C2 compiles them the Vector
 * API's lane reductions run in a fallback whose order differs, in either mode, so the check
 * allows float rounding.)
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MoeTest {
    @TempDir
    Path dir;

    @Test
    void expertParallelAndSequentialAgreeBitForBit() throws Exception {
        for (boolean fp8 : new boolean[] {false, true}) {
            Path ckpt = dir.resolve(fp8 ? "fp8" : "bf16");
            RandomCheckpoint.write(RandomCheckpoint.Preset.TINY_V2LITE, 2, fp8, 11, ckpt);
            ModelConfig c = ModelConfig.load(ckpt);
            int layer = 0;
            while (!c.isMoeLayer(layer)) {
                layer++;
            }
            try (SafeTensors st = SafeTensors.open(ckpt); Projections w = new Projections(st, LoadOptions.defaults())) {
                Moe moe = new Moe(w, "model.layers." + layer + ".mlp", c);
                long seed = System.nanoTime();
                System.out.println("MoeTest seed " + seed + (fp8 ? " (fp8)" : " (bf16)"));
                SplittableRandom rnd = new SplittableRandom(seed);
                for (int rows : new int[] {1, 3, 16}) {
                    float[] x = new float[rows * c.hidden()];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) rnd.nextGaussian();
                    }
                    float[] side = moe.forward(x, rows, true);
                    float[] serial = moe.forward(x, rows, false);
                    float scale = 0;
                    for (float v : serial) {
                        scale = Math.max(scale, Math.abs(v));
                    }
                    assertThat(scale).isPositive();
                    assertThat(side).as("rows %d, fp8 %s", rows, fp8).containsExactly(serial, within(1e-5f * scale));
                    assertThat(moe.forward(x, rows)).containsExactly(serial, within(1e-5f * scale));
                }
            }
        }
    }
}
