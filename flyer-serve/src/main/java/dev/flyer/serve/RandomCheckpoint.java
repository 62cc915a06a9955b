package dev.flyer.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.quant.Fp8Quantizer;
import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.safetensors.SafetensorsWriter;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code flyer model init}: a random checkpoint in Hugging Face's DeepSeek format ({@code config.json}
 * + {@code model.safetensors}), for demos, tests and benchmarks on machines without real weights.
 *
 * <p>Presets: {@code tiny-v3} (the fixtures' tiny V3 architecture: sigmoid gate with correction
 * bias, 4 groups, YaRN), {@code tiny-v2lite} (V2-Lite's choices at tiny width: plain q_proj,
 * softmax greedy gate, no bias, 2 shared experts), {@code v2lite-shaped} (DeepSeek-V2-Lite's real
 * widths, 102,400 vocabulary; use few layers). With {@code fp8}, every projection is stored as
 * E4M3 with 128x128 {@code weight_scale_inv} and a {@code quantization_config}, as DeepSeek-V3 ships;
 * norms, embedding, gate and head stay BF16.
 *
 * <p>Implementation notes: projections are N(0, 1/in) so activations stay O(1) through the layers;
 * norms are 1; the correction bias N(0, 0.01). One seed, one checkpoint.
 */
public final class RandomCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RandomCheckpoint() {}

    /** The known presets. */
    public enum Preset { TINY_V3, TINY_V2LITE, V2LITE_SHAPED;

        public static Preset parse(String name) {
            try {
                return valueOf(name.toUpperCase(Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("preset must be tiny-v3, tiny-v2lite or v2lite-shaped, got " + name, e);
            }
        }
    }

    /** The config of {@code preset} cut to {@code layers} layers. */
    public static ObjectNode config(Preset preset, int layers, boolean fp8) {
        if (layers < 1) {
            throw new IllegalArgumentException("layers must be >= 1, got " + layers);
        }
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add(preset == Preset.TINY_V3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM");
        c.put("model_type", preset == Preset.TINY_V3 ? "deepseek_v3" : "deepseek_v2");
        boolean real = preset == Preset.V2LITE_SHAPED;
        c.put("vocab_size", real ? 102400 : 512);
        c.put("hidden_size", real ? 2048 : 256);
        c.put("intermediate_size", real ? 10944 : 512);
        c.put("moe_intermediate_size", real ? 1408 : 128);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", real ? 16 : 4);
        c.put("num_key_value_heads", real ? 16 : 4);
        if (preset == Preset.TINY_V3) {
            c.put("q_lora_rank", 128);
        } else {
            c.putNull("q_lora_rank");
        }
        c.put("kv_lora_rank", real ? 512 : 128);
        c.put("qk_nope_head_dim", real ? 128 : 32);
        c.put("qk_rope_head_dim", real ? 64 : 16);
        c.put("v_head_dim", real ? 128 : 32);
        c.put("n_routed_experts", real ? 64 : 16);
        c.put("n_shared_experts", preset == Preset.TINY_V3 ? 1 : 2);
        c.put("num_experts_per_tok", preset == Preset.TINY_V3 ? 4 : 6);
        c.put("n_group", preset == Preset.TINY_V3 ? 4 : 1);
        c.put("topk_group", preset == Preset.TINY_V3 ? 2 : 1);
        c.put("routed_scaling_factor", preset == Preset.TINY_V3 ? 2.5 : 1.0);
        c.put("scoring_func", preset == Preset.TINY_V3 ? "sigmoid" : "softmax");
        c.put("topk_method", preset == Preset.TINY_V3 ? "noaux_tc" : "greedy");
        c.put("norm_topk_prob", preset == Preset.TINY_V3);
        c.put("first_k_dense_replace", 1);
        c.put("moe_layer_freq", 1);
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 10000.0);
        ObjectNode rope = c.putObject("rope_scaling");
        rope.put("type", "yarn");
        rope.put("factor", real ? 40.0 : 4.0);
        rope.put("original_max_position_embeddings", real ? 4096 : 64);
        rope.put("beta_fast", 32);
        rope.put("beta_slow", 1);
        rope.put("mscale", real ? 0.707 : 1.0);
        rope.put("mscale_all_dim", real ? 0.707 : 1.0);
        c.put("max_position_embeddings", real ? 163840 : 256);
        c.put("tie_word_embeddings", false);
        c.put("bos_token_id", real ? 100000 : 0);
        c.put("eos_token_id", real ? 100001 : 1);
        c.put("torch_dtype", "bfloat16");
        if (fp8) {
            ObjectNode q = c.putObject("quantization_config");
            q.put("activation_scheme", "dynamic");
            q.put("fmt", "e4m3");
            q.put("quant_method", "fp8");
            q.putArray("weight_block_size").add(128).add(128);
        }
        return c;
    }

    /** Writes the checkpoint into {@code dir} (created if needed). */
    public static void write(Preset preset, int layers, boolean fp8, long seed, Path dir) throws IOException {
        write(config(preset, layers, fp8), fp8, seed, dir);
    }

    /** Writes a random checkpoint for any config JSON (e.g. a preset with widths changed). */
    public static void write(ObjectNode json, boolean fp8, long seed, Path dir) throws IOException {
        ModelConfig c = ModelConfig.parse(json);
        int layers = c.layers();
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
        SplittableRandom random = new SplittableRandom(seed);
        try (Arena arena = Arena.ofShared()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("model.embed_tokens.weight", bf16(arena, random, 1.0, c.vocabSize(), c.hidden()));
            for (int i = 0; i < layers; i++) {
                String p = "model.layers." + i;
                t.put(p + ".input_layernorm.weight", ones(arena, c.hidden()));
                String a = p + ".self_attn";
                if (c.qLoraRank() > 0) {
                    projection(t, arena, random, a + ".q_a_proj", c.qLoraRank(), c.hidden(), fp8);
                    t.put(a + ".q_a_layernorm.weight", ones(arena, c.qLoraRank()));
                    projection(t, arena, random, a + ".q_b_proj", c.heads() * c.qkHeadDim(), c.qLoraRank(), fp8);
                } else {
                    projection(t, arena, random, a + ".q_proj", c.heads() * c.qkHeadDim(), c.hidden(), fp8);
                }
                projection(t, arena, random, a + ".kv_a_proj_with_mqa", c.latentDim(), c.hidden(), fp8);
                t.put(a + ".kv_a_layernorm.weight", ones(arena, c.kvLoraRank()));
                projection(t, arena, random, a + ".kv_b_proj", c.heads() * (c.qkNopeHeadDim() + c.vHeadDim()),
                        c.kvLoraRank(), fp8);
                projection(t, arena, random, a + ".o_proj", c.hidden(), c.heads() * c.vHeadDim(), fp8);
                t.put(p + ".post_attention_layernorm.weight", ones(arena, c.hidden()));
                if (c.isMoeLayer(i)) {
                    t.put(p + ".mlp.gate.weight", bf16(arena, random, 1 / Math.sqrt(c.hidden()), c.routedExperts(), c.hidden()));
                    if (c.topkMethod() == ModelConfig.TopkMethod.NOAUX_TC) {
                        Tensor bias = Tensor.allocate(arena, DType.F32, c.routedExperts());
                        for (int e = 0; e < c.routedExperts(); e++) {
                            bias.setFloat((float) (random.nextGaussian() * 0.01), e);
                        }
                        t.put(p + ".mlp.gate.e_score_correction_bias", bias);
                    }
                    for (int e = 0; e < c.routedExperts(); e++) {
                        mlp(t, arena, random, p + ".mlp.experts." + e, c.hidden(), c.moeIntermediate(), fp8);
                    }
                    if (c.sharedExperts() > 0) {
                        mlp(t, arena, random, p + ".mlp.shared_experts", c.hidden(), c.sharedExperts() * c.moeIntermediate(), fp8);
                    }
                } else {
                    mlp(t, arena, random, p + ".mlp", c.hidden(), c.intermediate(), fp8);
                }
            }
            t.put("model.norm.weight", ones(arena, c.hidden()));
            t.put("lm_head.weight", bf16(arena, random, 1 / Math.sqrt(c.hidden()), c.vocabSize(), c.hidden()));
            SafetensorsWriter.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
        }
    }

    private static void mlp(Map<String, Tensor> t, Arena arena, SplittableRandom random, String prefix, int hidden,
                            int inter, boolean fp8) {
        projection(t, arena, random, prefix + ".gate_proj", inter, hidden, fp8);
        projection(t, arena, random, prefix + ".up_proj", inter, hidden, fp8);
        projection(t, arena, random, prefix + ".down_proj", hidden, inter, fp8);
    }

    private static void projection(Map<String, Tensor> t, Arena arena, SplittableRandom random, String name, int out,
                                   int in, boolean fp8) {
        Tensor w = bf16(arena, random, 1 / Math.sqrt(in), out, in);
        if (!fp8) {
            t.put(name + ".weight", w);
            return;
        }
        QuantizedTensor q = Fp8Quantizer.perBlock(w, 128, false, arena);
        t.put(name + ".weight", q.values());
        t.put(name + ".weight_scale_inv", q.scales());
    }

    private static Tensor bf16(Arena arena, SplittableRandom random, double std, int rows, int cols) {
        Tensor t = Tensor.allocate(arena, DType.BF16, rows, cols);
        MemorySegment seg = t.data();
        for (long i = 0; i < (long) rows * cols; i++) {
            seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Bf16.encode((float) (random.nextGaussian() * std)));
        }
        return t;
    }

    private static Tensor ones(Arena arena, int n) {
        Tensor t = Tensor.allocate(arena, DType.BF16, n);
        for (int i = 0; i < n; i++) {
            t.segment().setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Bf16.encode(1f));
        }
        return t;
    }
}
