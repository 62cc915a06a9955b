package dev.flyer.serve;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Text to token ids and back, for the server: the checkpoint's own tokenizer when it has a
 * {@code tokenizer.json} ({@link ChatTokenizer}), otherwise {@link ByteCodec}, a byte-level
 * stand-in for random test models (ids {@code 2 + byte}, BOS/EOS from the config).
 */
public interface TextCodec extends AutoCloseable {
    /** Ids of {@code text}, BOS first when the tokenizer adds one. */
    int[] encode(String text);

    /** Text of {@code ids}, special tokens skipped. */
    String decode(int[] ids);

    /** Ids of a chat ready for the assistant's turn. */
    int[] encodeChat(List<ChatMessage> messages);

    @Override
    void close();

    /** The codec for the checkpoint in {@code dir} (or {@link ByteCodec} when {@code dir} is null). */
    static TextCodec forModel(Path dir, ModelConfig config) throws IOException {
        if (dir != null && Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return ChatTokenizer.load(dir);
        }
        return new ByteCodec(config);
    }

    /** Byte-level ids for models without a tokenizer: {@code id = 2 + byte}; needs a vocabulary of 258+. */
    final class ByteCodec implements TextCodec {
        private final int bos;

        public ByteCodec(ModelConfig config) {
            if (config.vocabSize() < 258) {
                throw new IllegalArgumentException("a model without tokenizer.json needs a vocabulary of at least 258 for "
                        + "byte-level text, got " + config.vocabSize());
            }
            this.bos = config.bosTokenId();
        }

        @Override
        public int[] encode(String text) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            int[] ids = new int[bytes.length + 1];
            ids[0] = bos;
            for (int i = 0; i < bytes.length; i++) {
                ids[i + 1] = 2 + (bytes[i] & 0xFF);
            }
            return ids;
        }

        @Override
        public String decode(int[] ids) {
            byte[] bytes = new byte[ids.length];
            int n = 0;
            for (int id : ids) {
                if (id >= 2 && id < 258) {
                    bytes[n++] = (byte) (id - 2);
                }
            }
            return new String(bytes, 0, n, StandardCharsets.UTF_8);
        }

        @Override
        public int[] encodeChat(List<ChatMessage> messages) {
            StringBuilder b = new StringBuilder();
            for (ChatMessage m : messages) {
                b.append(m.role()).append(": ").append(m.content() == null ? "" : m.content()).append('\n');
            }
            return encode(b.append("assistant: ").toString());
        }

        @Override
        public void close() {}
    }
}
