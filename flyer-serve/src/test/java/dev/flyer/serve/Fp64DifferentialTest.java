package dev.flyer.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.core.safetensors.SafeTensors;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The runtime (absorbed MLA over the paged cache, FP32) against {@link Fp64Reference} (naive
 * attention, FP64) on random checkpoints of both families: V3's sigmoid/grouped/biased gate with
 * q_lora, and V2-Lite's softmax/greedy gate with a plain q_proj and two shared experts, BF16 and FP8.
 */
@Timeout(120)
class Fp64DifferentialTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} fp8={1}")
    @CsvSource({"tiny-v3, false", "tiny-v3, true", "tiny-v2lite, false", "tiny-v2lite, true"})
    void logitsMatchTheFp64Reference(String preset, boolean fp8) throws Exception {
        long seed = preset.hashCode() + (fp8 ? 1 : 0);
        System.out.println("seed " + seed);
        Path dir = tmp.resolve(preset + fp8);
        RandomCheckpoint.write(RandomCheckpoint.Preset.parse(preset), 3, fp8, seed, dir);
        int[] prompt = new Random(seed).ints(21, 2, 512).toArray();
        double[] expected;
        try (SafeTensors st = SafeTensors.open(dir)) {
            expected = new Fp64Reference(ModelConfig.load(dir), st).logits(prompt);
        }
        try (DeepSeekModel model = DeepSeekModel.load(dir); KvCache cache = model.newCache(256)) {
            float[] whole = model.forward(cache, cache.newSequence(), prompt);
            assertClose(whole, expected, preset + " prefill");
            KvCache.Sequence seq = cache.newSequence();
            model.forward(cache, seq, Arrays.copyOf(prompt, 13));
            float[] last = null;
            for (int i = 13; i < prompt.length; i++) {
                last = model.forward(cache, seq, new int[] {prompt[i]});
            }
            assertClose(last, expected, preset + " chunk then decode");
        }
    }

    private static void assertClose(float[] actual, double[] expected, String label) {
        double dot = 0;
        double norms = 0;
        double max = 0;
        double err = 0;
        for (int i = 0; i < actual.length; i++) {
            dot += actual[i] * expected[i];
            norms += actual[i] * (double) actual[i] + expected[i] * expected[i];
            max = Math.max(max, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(actual[i] - expected[i]));
        }
        assertThat(1 - 2 * dot / norms).as(label + " diff").isLessThan(1e-5);
        assertThat(err).as(label + " max error").isLessThan(1e-3 * max);
    }
}
