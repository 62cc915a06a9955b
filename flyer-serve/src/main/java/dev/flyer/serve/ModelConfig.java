package dev.flyer.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A DeepSeek-V2/V3 {@code config.json} ({@code model_type} {@code deepseek_v2} or
 * {@code deepseek_v3}): V2-Lite, V2, V3, R1, V3.1 and the tiny test configs, one reader.
 *
 * <p>Contract: absent optional fields take Hugging Face's defaults; {@code q_lora_rank} null or 0
 * means a plain {@code q_proj}; an unknown {@code topk_method}, {@code scoring_func} or
 * {@code rope_scaling.type} is an {@link IllegalArgumentException} naming the field and value.
 *
 * <p>Implementation notes: the mapping to deepseek-ai/DeepSeek-V3 {@code inference/model.py}'s
 * {@code ModelArgs} is the one the fixtures' notes give: {@code max_seq_len =
 * max_position_embeddings}, {@code original_seq_len = rope_scaling.original_max_position_embeddings},
 * {@code mscale = rope_scaling.mscale_all_dim}; YaRN applies only when the maximum length exceeds
 * the original one.
 */
public record ModelConfig(String modelType, int vocabSize, int hidden, int intermediate, int moeIntermediate,
                          int layers, int heads, int qLoraRank, int kvLoraRank, int qkNopeHeadDim, int qkRopeHeadDim,
                          int vHeadDim, int routedExperts, int sharedExperts, int expertsPerToken, int groups,
                          int topkGroups, double routedScalingFactor, ScoringFunc scoringFunc, TopkMethod topkMethod,
                          boolean normTopkProb, int firstKDenseReplace, int moeLayerFreq, double rmsNormEps,
                          double ropeTheta, Yarn yarn, int maxPositions, int bosTokenId, int eosTokenId) {
    /** How router logits become scores. */
    public enum ScoringFunc { SOFTMAX, SIGMOID }

    /** How experts are chosen from the scores. */
    public enum TopkMethod { GREEDY, GROUP_LIMITED_GREEDY, NOAUX_TC }

    /** YaRN rope scaling; {@code null} in a config without {@code rope_scaling}. */
    public record Yarn(double factor, int originalMaxPositions, double betaFast, double betaSlow, double mscale,
                       double mscaleAllDim) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads {@code dir/config.json}. */
    public static ModelConfig load(Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no config.json in " + dir);
        }
        return parse(JSON.readTree(file.toFile()));
    }

    /** Parses a config's JSON. */
    public static ModelConfig parse(JsonNode n) {
        String type = n.path("model_type").asText("deepseek_v3");
        if (!type.equals("deepseek_v2") && !type.equals("deepseek_v3")) {
            throw new IllegalArgumentException("model_type must be deepseek_v2 or deepseek_v3, got " + type);
        }
        int hidden = required(n, "hidden_size");
        Yarn yarn = null;
        JsonNode rope = n.path("rope_scaling");
        if (rope.isObject()) {
            String ropeType = rope.path("type").asText(rope.path("rope_type").asText(""));
            if (!ropeType.equals("yarn")) {
                throw new IllegalArgumentException("rope_scaling.type must be yarn, got '" + ropeType + "'");
            }
            yarn = new Yarn(rope.path("factor").asDouble(1), rope.path("original_max_position_embeddings").asInt(4096),
                    rope.path("beta_fast").asDouble(32), rope.path("beta_slow").asDouble(1),
                    rope.path("mscale").asDouble(1), rope.path("mscale_all_dim").asDouble(0));
        }
        return new ModelConfig(type, required(n, "vocab_size"), hidden, required(n, "intermediate_size"),
                n.path("moe_intermediate_size").asInt(0), required(n, "num_hidden_layers"),
                required(n, "num_attention_heads"), n.path("q_lora_rank").asInt(0), required(n, "kv_lora_rank"),
                required(n, "qk_nope_head_dim"), required(n, "qk_rope_head_dim"), required(n, "v_head_dim"),
                n.path("n_routed_experts").asInt(0), n.path("n_shared_experts").asInt(0),
                n.path("num_experts_per_tok").asInt(0), n.path("n_group").asInt(1), n.path("topk_group").asInt(1),
                n.path("routed_scaling_factor").asDouble(1), scoring(n.path("scoring_func").asText("softmax")),
                topk(n.path("topk_method").asText("greedy")), n.path("norm_topk_prob").asBoolean(false),
                n.path("first_k_dense_replace").asInt(0), n.path("moe_layer_freq").asInt(1),
                n.path("rms_norm_eps").asDouble(1e-6), n.path("rope_theta").asDouble(10000), yarn,
                n.path("max_position_embeddings").asInt(4096), n.path("bos_token_id").asInt(0),
                n.path("eos_token_id").asInt(1));
    }

    private static int required(JsonNode n, String field) {
        if (!n.path(field).isNumber()) {
            throw new IllegalArgumentException("config.json lacks the number " + field);
        }
        return n.path(field).asInt();
    }

    private static ScoringFunc scoring(String name) {
        return switch (name) {
            case "softmax" -> ScoringFunc.SOFTMAX;
            case "sigmoid" -> ScoringFunc.SIGMOID;
            default -> throw new IllegalArgumentException("scoring_func must be softmax or sigmoid, got " + name);
        };
    }

    private static TopkMethod topk(String name) {
        try {
            return TopkMethod.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("topk_method must be greedy, group_limited_greedy or noaux_tc, got " + name, e);
        }
    }

    /** Query/key width per head ({@code nope + rope}). */
    public int qkHeadDim() {
        return qkNopeHeadDim + qkRopeHeadDim;
    }

    /** Width of one cached latent row: {@code kv_lora_rank + qk_rope_head_dim} (576 for V3). */
    public int latentDim() {
        return kvLoraRank + qkRopeHeadDim;
    }

    /** Whether YaRN (and its softmax mscale correction) applies. */
    public boolean yarnActive() {
        return yarn != null && maxPositions > yarn.originalMaxPositions();
    }

    /** model.py's softmax scale: {@code qk_head_dim^-0.5}, times {@code mscale²} under YaRN. */
    public float softmaxScale() {
        double scale = Math.pow(qkHeadDim(), -0.5);
        if (yarnActive()) {
            double m = 0.1 * yarn.mscaleAllDim() * Math.log(yarn.factor()) + 1.0;
            scale *= m * m;
        }
        return (float) scale;
    }

    /** Whether layer {@code i} has a routed MoE (otherwise a dense MLP). */
    public boolean isMoeLayer(int i) {
        return routedExperts > 0 && i >= firstKDenseReplace && i % moeLayerFreq == 0;
    }
}
