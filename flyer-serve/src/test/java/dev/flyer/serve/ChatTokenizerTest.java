package dev.flyer.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** DeepSeek-V3's real tokenizer (fixture), DJL + Jinjava. */
@Timeout(60)
class ChatTokenizerTest {
    static ChatTokenizer tok;
    static Map<String, Integer> added = new HashMap<>();

    @BeforeAll
    static void load() throws Exception {
        Path dir = GoldenLogitsTest.fixture("tokenizer-deepseek-v3");
        tok = ChatTokenizer.load(dir);
        JsonNode json = new ObjectMapper().readTree(dir.resolve("tokenizer.json").toFile());
        for (JsonNode t : json.get("added_tokens")) {
            added.put(t.get("content").asText(), t.get("id").asInt());
        }
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    @Test
    void roundTripsTextInManyScripts() {
        for (String s : new String[] {"Hello, world!", "DeepSeek-V3 在 2024 年发布。", "emoji 🚀 and tabs\tand\nnewlines",
            "x = 12345678; // digits", "  leading spaces", "Ünïcödé façade"}) {
            int[] ids = tok.encodeRaw(s);
            assertThat(ids).as(s).isNotEmpty();
            assertThat(tok.decode(ids, false)).isEqualTo(s);
        }
    }

    @Test
    void digitsSplitIntoGroupsOfAtMostThree() {
        int[] ids = tok.encodeRaw("1234567");
        assertThat(ids).hasSize(3);
        assertThat(tok.decode(new int[] {ids[0]}, false)).isEqualTo("123");
        assertThat(tok.decode(new int[] {ids[2]}, false)).isEqualTo("7");
    }

    @Test
    void bosPerConfigAndSpecialTokensAreSingleIds() {
        assertThat(tok.bosId()).isEqualTo(0);
        assertThat(tok.eosId()).isEqualTo(1);
        assertThat(tok.encode("hi")[0]).isZero();
        assertThat(tok.encodeRaw("hi")[0]).isNotZero();
        assertThat(tok.encodeRaw("<｜User｜>")).containsExactly(added.get("<｜User｜>"));
    }

    @Test
    void chatTemplateRendersLikeHuggingFace() {
        List<ChatMessage> chat = List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi"),
                new ChatMessage("assistant", "Hello!"), new ChatMessage("user", "2+2?"));
        String text = tok.renderChat(chat, true);
        assertThat(text).isEqualTo("<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜>"
                + "<｜User｜>2+2?<｜Assistant｜>");
        int[] ids = tok.encodeChat(chat, true);
        assertThat(ids[0]).isZero();
        assertThat(ids[ids.length - 1]).isEqualTo(added.get("<｜Assistant｜>"));
    }

    @Test
    void reasoningSplitsR1Output() {
        assertThat(Reasoning.split("<think>\nadd them\n</think>\n\n4")).isEqualTo(new Reasoning("add them", "4"));
        assertThat(Reasoning.split("add them</think>4")).isEqualTo(new Reasoning("add them", "4"));
        assertThat(Reasoning.split("just 4")).isEqualTo(new Reasoning(null, "just 4"));
        assertThat(Reasoning.split("<think>still thinking")).isEqualTo(new Reasoning("still thinking", ""));
    }
}
