package dev.flyer.serve;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint's tokenizer: {@code tokenizer.json} through DJL's Hugging Face tokenizers (offline,
 * native library bundled), BOS as {@code tokenizer_config.json} says, and its chat template
 * rendered with Jinjava.
 *
 * <p>Contract: {@link #encode} adds BOS iff {@code add_bos_token} (DJL itself adds nothing);
 * {@link #encodeChat} renders the template (which writes BOS itself) and tokenizes the text
 * without adding more, as {@code apply_chat_template(tokenize=True)} does. Missing files are
 * {@link IllegalArgumentException}s naming them.
 */
public final class ChatTokenizer implements TextCodec {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tokenizer;
    private final boolean addBos;
    private final String bosToken;
    private final String eosToken;
    private final String template;
    private final int bosId;
    private final int eosId;

    private ChatTokenizer(HuggingFaceTokenizer tokenizer, JsonNode config) {
        this.tokenizer = tokenizer;
        this.addBos = config.path("add_bos_token").asBoolean(false);
        this.bosToken = tokenText(config.path("bos_token"));
        this.eosToken = tokenText(config.path("eos_token"));
        this.template = config.path("chat_template").isTextual() ? config.path("chat_template").asText() : null;
        this.bosId = bosToken == null ? -1 : single(bosToken);
        this.eosId = eosToken == null ? -1 : single(eosToken);
    }

    /** The tokenizer in {@code dir} ({@code tokenizer.json}, optional {@code tokenizer_config.json}). */
    public static ChatTokenizer load(Path dir) throws IOException {
        Path json = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) {
            throw new IllegalArgumentException("no tokenizer.json in " + dir);
        }
        Path configFile = dir.resolve("tokenizer_config.json");
        JsonNode config = Files.isRegularFile(configFile) ? JSON.readTree(configFile.toFile()) : JSON.createObjectNode();
        HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(json, Map.of("addSpecialTokens", "false"));
        return new ChatTokenizer(t, config);
    }

    private static String tokenText(JsonNode node) {
        if (node.isTextual()) {
            return node.asText();
        }
        return node.path("content").isTextual() ? node.path("content").asText() : null;
    }

    private int single(String token) {
        long[] ids = tokenizer.encode(token).getIds();
        return ids.length == 1 ? (int) ids[0] : -1;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    /** Token ids of {@code text}, with BOS first when the tokenizer config asks for it. */
    public int[] encode(String text) {
        int[] ids = encodeRaw(text);
        if (!addBos || bosId < 0) {
            return ids;
        }
        int[] out = new int[ids.length + 1];
        out[0] = bosId;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** Token ids of {@code text} without any added special token. */
    public int[] encodeRaw(String text) {
        Encoding e = tokenizer.encode(text);
        long[] ids = e.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** The text of {@code ids}; special tokens kept unless {@code skipSpecial}. */
    public String decode(int[] ids, boolean skipSpecial) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return tokenizer.decode(l, skipSpecial);
    }

    /** The chat template applied to {@code messages}. */
    public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        if (template == null) {
            throw new IllegalArgumentException("this tokenizer has no chat_template");
        }
        List<Map<String, Object>> list = new ArrayList<>();
        for (ChatMessage m : messages) {
            Map<String, Object> map = new HashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            list.add(map);
        }
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", list);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        bindings.put("bos_token", bosToken == null ? "" : bosToken);
        bindings.put("eos_token", eosToken == null ? "" : eosToken);
        return new Jinjava().render(template, bindings);
    }

    @Override
    public String decode(int[] ids) {
        return decode(ids, true);
    }

    @Override
    public int[] encodeChat(List<ChatMessage> messages) {
        return encodeChat(messages, true);
    }

    /** Token ids of the rendered chat (the template writes BOS itself). */
    public int[] encodeChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return encodeRaw(renderChat(messages, addGenerationPrompt));
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
