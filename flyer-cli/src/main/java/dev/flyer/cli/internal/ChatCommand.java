package dev.flyer.cli.internal;

import dev.flyer.serve.ChatMessage;
import dev.flyer.serve.DeepSeekModel;
import dev.flyer.serve.Engine;
import dev.flyer.serve.Reasoning;
import dev.flyer.serve.Sampler;
import dev.flyer.serve.TextCodec;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flyer chat}: an interactive terminal chat over the engine, streaming the answer as it is generated. */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Chats with a DeepSeek checkpoint in the terminal (empty line or /exit to quit, /reset to forget).")
public final class ChatCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Checkpoint directory (with tokenizer.json for real text).")
    Path model;

    @Option(names = "--max-tokens", defaultValue = "512", description = "Tokens per answer (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0.6", description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--system", description = "A system prompt.")
    String system;

    @Override
    public Integer call() throws Exception {
        try (DeepSeekModel m = DeepSeekModel.load(model);
             Engine engine = new Engine(m, Engine.Options.defaults());
             TextCodec codec = TextCodec.forModel(model, m.config())) {
            List<ChatMessage> history = new ArrayList<>();
            if (system != null) {
                history.add(new ChatMessage("system", system));
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            long seed = System.nanoTime();
            while (true) {
                System.out.print("> ");
                System.out.flush();
                String line = in.readLine();
                if (line == null || line.isBlank() || line.equals("/exit")) {
                    return 0;
                }
                if (line.equals("/reset")) {
                    history.subList(system != null ? 1 : 0, history.size()).clear();
                    continue;
                }
                history.add(new ChatMessage("user", line));
                List<Integer> tokens = new ArrayList<>();
                StringBuilder shown = new StringBuilder();
                Engine.Request r = engine.submit(codec.encodeChat(history), maxTokens, new Sampler(temperature, 0.95, 0, seed++),
                        new Engine.Listener() {
                            @Override
                            public void onToken(int token) {
                                tokens.add(token);
                                String text = codec.decode(tokens.stream().mapToInt(Integer::intValue).toArray());
                                if (text.length() > shown.length() && !text.endsWith("\uFFFD")) {
                                    System.out.print(text.substring(shown.length()));
                                    System.out.flush();
                                    shown.setLength(0);
                                    shown.append(text);
                                }
                            }

                            @Override
                            public void onFinish(String reason) {
                                System.out.println();
                            }
                        });
                r.done().join();
                history.add(new ChatMessage("assistant", Reasoning.split(shown.toString()).content()));
            }
        }
    }
}
