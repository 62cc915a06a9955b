package dev.flyer.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.core.quant.Fp8Quantizer;
import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.core.safetensors.SafetensorsWriter;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Random checkpoints, the FP8 path against its dequantised twin, generation, and bad input. */
@Timeout(120)
class ModelRuntimeTest {
    @TempDir
    Path tmp;

    @Test
    void fp8CheckpointEqualsItsDequantisedTwin() throws Exception {
        Path fp8 = tmp.resolve("fp8");
        RandomCheckpoint.write(RandomCheckpoint.Preset.TINY_V3, 2, true, 7, fp8);
        Path twin = tmp.resolve("twin");
        Files.createDirectories(twin);
        Files.copy(fp8.resolve("config.json"), twin.resolve("config.json"));
        try (SafeTensors st = SafeTensors.open(fp8); Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : st.names()) {
                if (name.endsWith("weight_scale_inv")) {
                    continue;
                }
                Tensor t = st.get(name);
                if (t.dtype() == DType.F8_E4M3) {
                    QuantizedTensor q = new QuantizedTensor(t, st.get(name + "_scale_inv"), 128, 128);
                    out.put(name, Fp8Quantizer.dequantize(q, arena));
                } else {
                    out.put(name, t);
                }
            }
            SafetensorsWriter.write(twin.resolve("model.safetensors"), out, Map.of());
        }
        int[] prompt = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38};
        try (DeepSeekModel a = DeepSeekModel.load(fp8); DeepSeekModel b = DeepSeekModel.load(twin);
             DeepSeekModel q = DeepSeekModel.load(fp8, GemmImpl.FP8);
             KvCache ca = a.newCache(64); KvCache cb = b.newCache(64); KvCache cq = q.newCache(64)) {
            float[] la = a.forward(ca, ca.newSequence(), prompt);
            float[] lb = b.forward(cb, cb.newSequence(), prompt);
            float[] lq = q.forward(cq, cq.newSequence(), prompt);
            assertThat(diff(la, lb)).as("FP8 weights vs dequantised F32 twin").isLessThan(1e-10);
            assertThat(diff(la, lq)).as("activation-quantised FP8 GEMMs vs dequantised").isLessThan(1e-2).isGreaterThan(0);
        }
    }

    @Test
    void quantisingABf16CheckpointAtLoadEqualsTheFp8Release() throws Exception {
        Path bf16 = tmp.resolve("q-bf16");
        Path fp8 = tmp.resolve("q-fp8");
        RandomCheckpoint.write(RandomCheckpoint.Preset.TINY_V3, 2, false, 5, bf16);
        RandomCheckpoint.write(RandomCheckpoint.Preset.TINY_V3, 2, true, 5, fp8);
        int[] prompt = {7, 8, 9, 10, 11};
        try (DeepSeekModel q = DeepSeekModel.load(bf16, new LoadOptions(GemmImpl.BF16, true));
             DeepSeekModel r = DeepSeekModel.load(fp8); DeepSeekModel plain = DeepSeekModel.load(bf16);
             KvCache cq = q.newCache(64); KvCache cr = r.newCache(64); KvCache cp = plain.newCache(64)) {
            float[] lq = q.forward(cq, cq.newSequence(), prompt);
            float[] lr = r.forward(cr, cr.newSequence(), prompt);
            float[] lp = plain.forward(cp, cp.newSequence(), prompt);
            assertThat(diff(lq, lr)).as("quantised at load vs FP8 checkpoint of the same weights").isLessThan(1e-10);
            // FP8 really is used (the logits move); on random weights the E4M3 rounding also flips some
            // expert choices, so the move is large (measured diff 0.08), unlike on trained weights
            assertThat(diff(lq, lp)).as("FP8 vs BF16 weights").isGreaterThan(1e-6).isLessThan(0.2);
        }
    }

    @Test
    void bf16AndFp8CacheRowsStayCloseToFp32() throws Exception {
        // a tiny V3 whose latent is V3's real 512 + 64, so FlashMLA's FP8 token layout applies
        com.fasterxml.jackson.databind.node.ObjectNode config = RandomCheckpoint.config(RandomCheckpoint.Preset.TINY_V3, 2, false);
        config.put("kv_lora_rank", 512).put("qk_rope_head_dim", 64);
        Path dir = tmp.resolve("wide-latent");
        RandomCheckpoint.write(config, false, 13, dir);
        int[] prompt = new java.util.Random(13).ints(80, 2, 512).toArray();
        try (DeepSeekModel model = DeepSeekModel.load(dir)) {
            float[][] logits = new float[3][];
            dev.flyer.mla.KvCacheFormat[] formats = {dev.flyer.mla.KvCacheFormat.F32, dev.flyer.mla.KvCacheFormat.BF16,
                dev.flyer.mla.KvCacheFormat.FP8};
            for (int f = 0; f < 3; f++) {
                try (KvCache cache = model.newCache(128, formats[f])) {
                    KvCache.Sequence seq = cache.newSequence();
                    model.forward(cache, seq, java.util.Arrays.copyOf(prompt, 70));
                    for (int i = 70; i < prompt.length; i++) {
                        logits[f] = model.forward(cache, seq, new int[] {prompt[i]});
                    }
                }
            }
            assertThat(diff(logits[0], logits[1])).as("BF16 rows").isGreaterThan(0).isLessThan(1e-4);
            assertThat(diff(logits[0], logits[2])).as("FP8 rows").isGreaterThan(0).isLessThan(1e-2);
        }
        try (DeepSeekModel tiny = DeepSeekModel.load(GoldenLogitsTest.fixture("tiny-v3"))) {
            assertThatThrownBy(() -> tiny.newCache(64, dev.flyer.mla.KvCacheFormat.FP8))
                    .hasMessageContaining("needs a 576-wide latent (512 + 64 rope), this model's is 144");
        }
    }

    @Test
    void tinyV2LiteGeneratesAndSeedsReproduce() throws Exception {
        Path dir = tmp.resolve("v2");
        RandomCheckpoint.write(RandomCheckpoint.Preset.TINY_V2LITE, 3, false, 11, dir);
        try (DeepSeekModel model = DeepSeekModel.load(dir)) {
            int[] prompt = {5, 6, 7};
            Generator.Result greedy = Generator.generate(model, prompt, 6, Sampler.greedy(), true, null);
            assertThat(greedy.stepLogits()).hasSize(greedy.tokens().length);
            assertThat(greedy.tokens()[0]).isEqualTo(Sampler.argmax(greedy.stepLogits().get(0)));
            Generator.Result s1 = Generator.generate(model, prompt, 6, new Sampler(0.8, 0.9, 50, 42), false, null);
            Generator.Result s2 = Generator.generate(model, prompt, 6, new Sampler(0.8, 0.9, 50, 42), false, null);
            assertThat(s1.tokens()).containsExactly(s2.tokens());
        }
    }

    @Test
    void greedyGenerationReproducesTheGoldenTokens() throws Exception {
        try (DeepSeekModel model = DeepSeekModel.load(GoldenLogitsTest.fixture("tiny-v3"))) {
            Generator.Result r = Generator.generate(model, new int[] {203, 339, 321, 318, 423, 29, 235}, 4,
                    Sampler.greedy(), false, null);
            assertThat(r.tokens()).containsExactly(494, 353, 71, 336);
            assertThat(r.stopReason()).isEqualTo("length");
        }
    }

    @Test
    void badInputIsRejectedAndTheCacheIsUnchanged() throws Exception {
        try (DeepSeekModel model = DeepSeekModel.load(GoldenLogitsTest.fixture("tiny-v3")); KvCache cache = model.newCache(64)) {
            KvCache.Sequence seq = cache.newSequence();
            assertThatThrownBy(() -> model.forward(cache, seq, new int[] {1, 512})).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("token 512 at 1 is outside the vocabulary of 512");
            assertThatThrownBy(() -> model.forward(cache, seq, new int[0])).hasMessageContaining("must not be empty");
            assertThatThrownBy(() -> model.forward(cache, seq, new int[257])).hasMessageContaining("exceed max_position_embeddings 256");
            model.forward(cache, seq, new int[60]);
            KvCache.Sequence other = cache.newSequence();
            assertThatThrownBy(() -> model.forward(cache, other, new int[10])).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("out of blocks");
            assertThat(other.length()).isZero();
            assertThat(seq.length()).isEqualTo(60);
            seq.release();
            assertThat(cache.freeBlocks()).isEqualTo(1);
        }
        Path broken = tmp.resolve("broken");
        RandomCheckpoint.write(RandomCheckpoint.Preset.TINY_V3, 1, false, 1, broken);
        try (SafeTensors st = SafeTensors.open(broken)) {
            Map<String, Tensor> kept = new LinkedHashMap<>(st.tensors());
            kept.remove("model.layers.0.self_attn.o_proj.weight");
            Path cut = tmp.resolve("cut");
            Files.createDirectories(cut);
            Files.copy(broken.resolve("config.json"), cut.resolve("config.json"));
            SafetensorsWriter.write(cut.resolve("model.safetensors"), kept, Map.of());
            assertThatThrownBy(() -> DeepSeekModel.load(cut)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("checkpoint lacks tensor model.layers.0.self_attn.o_proj.weight");
        }
    }

    private static double diff(float[] x, float[] y) {
        double dot = 0;
        double norms = 0;
        for (int i = 0; i < x.length; i++) {
            dot += (double) x[i] * y[i];
            norms += (double) x[i] * x[i] + (double) y[i] * y[i];
        }
        return 1 - 2 * dot / norms;
    }
}
