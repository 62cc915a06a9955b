package dev.flyer.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class ModelConfigTest {
    @Test
    void tinyV3FixtureConfig() throws Exception {
        ModelConfig c = ModelConfig.load(GoldenLogitsTest.fixture("tiny-v3"));
        assertThat(c.latentDim()).isEqualTo(144);
        assertThat(c.qkHeadDim()).isEqualTo(48);
        assertThat(c.yarnActive()).isTrue();
        assertThat(c.topkMethod()).isEqualTo(ModelConfig.TopkMethod.NOAUX_TC);
        assertThat(c.isMoeLayer(0)).isFalse();
        assertThat(c.isMoeLayer(1)).isTrue();
        double mscale = 0.1 * Math.log(4) + 1;
        assertThat((double) c.softmaxScale()).isCloseTo(Math.pow(48, -0.5) * mscale * mscale, org.assertj.core.data.Offset.offset(1e-7));
    }

    @Test
    void v2LiteShapeHasPlainQueryAndSoftmaxGreedyGate() {
        ModelConfig c = ModelConfig.parse(RandomCheckpoint.config(RandomCheckpoint.Preset.V2LITE_SHAPED, 27, false));
        assertThat(c.qLoraRank()).isZero();
        assertThat(c.latentDim()).isEqualTo(576);
        assertThat(c.scoringFunc()).isEqualTo(ModelConfig.ScoringFunc.SOFTMAX);
        assertThat(c.topkMethod()).isEqualTo(ModelConfig.TopkMethod.GREEDY);
        assertThat(c.modelType()).isEqualTo("deepseek_v2");
    }

    @Test
    void unknownMethodsAndMissingFieldsAreClearErrors() {
        ObjectNode n = RandomCheckpoint.config(RandomCheckpoint.Preset.TINY_V3, 2, false);
        n.put("topk_method", "magic");
        assertThatThrownBy(() -> ModelConfig.parse(n)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("topk_method must be greedy, group_limited_greedy or noaux_tc, got magic");
        ObjectNode s = RandomCheckpoint.config(RandomCheckpoint.Preset.TINY_V3, 2, false);
        s.put("scoring_func", "relu");
        assertThatThrownBy(() -> ModelConfig.parse(s)).hasMessageContaining("scoring_func must be softmax or sigmoid, got relu");
        ObjectNode m = RandomCheckpoint.config(RandomCheckpoint.Preset.TINY_V3, 2, false);
        m.remove("kv_lora_rank");
        assertThatThrownBy(() -> ModelConfig.parse(m)).hasMessageContaining("lacks the number kv_lora_rank");
        ObjectNode t = new ObjectMapper().createObjectNode().put("model_type", "llama");
        assertThatThrownBy(() -> ModelConfig.parse(t)).hasMessageContaining("model_type must be deepseek_v2 or deepseek_v3");
    }
}
