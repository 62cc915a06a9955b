package dev.flyer.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The OpenAI API over loopback with a real HTTP client: answers, streams, errors, and load. */
@Timeout(180)
class OpenAiServerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String KEY = "sk-test";
    @TempDir
    static Path tmp;
    static DeepSeekModel model;
    static Engine engine;
    static TextCodec codec;
    static OpenAiServer server;
    static HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        Path dir = tmp.resolve("tiny");
        RandomCheckpoint.write(RandomCheckpoint.Preset.TINY_V3, 2, false, 3, dir);
        model = DeepSeekModel.load(dir);
        engine = new Engine(model, new Engine.Options(8192, 32, 128));
        codec = TextCodec.forModel(dir, model.config());
        server = OpenAiServer.start(engine, codec, "tiny", "127.0.0.1", 0, KEY);
    }

    @AfterAll
    static void stop() {
        server.close();
        engine.close();
        model.close();
    }

    static HttpResponse<String> post(String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Authorization", "Bearer " + KEY).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void completionMatchesTheGeneratorAndCountsUsage() throws Exception {
        HttpResponse<String> r = post("/v1/completions",
                "{\"model\":\"tiny\",\"prompt\":\"hello\",\"max_tokens\":5,\"temperature\":0}", KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        int[] prompt = codec.encode("hello");
        int[] expected = Generator.generate(model, prompt, 5, Sampler.greedy(), false, null).tokens();
        assertThat(body.at("/choices/0/text").asText()).isEqualTo(codec.decode(expected));
        assertThat(body.at("/usage/prompt_tokens").asInt()).isEqualTo(prompt.length);
        assertThat(body.at("/usage/completion_tokens").asInt()).isEqualTo(expected.length);
        assertThat(body.get("object").asText()).isEqualTo("text_completion");
    }

    @Test
    void chatStreamsServerSentEventsThatAddUpToTheWholeAnswer() throws Exception {
        String req = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8,\"temperature\":0";
        JsonNode whole = JSON.readTree(post("/v1/chat/completions", req + "}", KEY).body());
        HttpResponse<String> s = post("/v1/chat/completions", req + ",\"stream\":true}", KEY);
        assertThat(s.statusCode()).isEqualTo(200);
        assertThat(s.headers().firstValue("content-type")).hasValue("text/event-stream");
        StringBuilder text = new StringBuilder();
        String finish = null;
        List<String> events = s.body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
        assertThat(events.getLast()).isEqualTo("[DONE]");
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode chunk = JSON.readTree(e);
            assertThat(chunk.get("object").asText()).isEqualTo("chat.completion.chunk");
            text.append(chunk.at("/choices/0/delta/content").asText(""));
            if (!chunk.at("/choices/0/finish_reason").isNull()) {
                finish = chunk.at("/choices/0/finish_reason").asText();
            }
        }
        assertThat(text.toString()).isEqualTo(whole.at("/choices/0/message/content").asText());
        assertThat(finish).isEqualTo(whole.at("/choices/0/finish_reason").asText());
    }

    @Test
    void aStopStringEndsTheAnswerWithoutItself() throws Exception {
        String base = "{\"prompt\":\"stop test\",\"max_tokens\":12,\"temperature\":0";
        String text = JSON.readTree(post("/v1/completions", base + "}", KEY).body()).at("/choices/0/text").asText();
        int cut = -1;
        for (int i = 1; i < text.length() && cut < 0; i++) {
            if (text.charAt(i) != '\uFFFD' && !Character.isSurrogate(text.charAt(i))) {
                cut = i;
            }
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(cut > 0, "the greedy answer has no usable stop character: " + text);
        String stop = String.valueOf(text.charAt(cut));
        JsonNode stopped = JSON.readTree(post("/v1/completions", base + ",\"stop\":" + JSON.writeValueAsString(stop) + "}", KEY)
                .body());
        assertThat(stopped.at("/choices/0/text").asText()).isEqualTo(text.substring(0, text.indexOf(stop)));
        assertThat(stopped.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
    }

    @Test
    void modelsHealthAndMetrics() throws Exception {
        assertThat(JSON.readTree(get("/v1/models").body()).at("/data/0/id").asText()).isEqualTo("tiny");
        assertThat(get("/health").body()).contains("ok");
        String metrics = get("/metrics").body();
        assertThat(metrics).contains("# TYPE flyer_generation_tokens_total counter").contains("flyer_kv_blocks_total 128")
                .contains("flyer_requests_running");
    }

    @Test
    void badRequestsGetOpenAiErrorsAndTheServerKeepsServing() throws Exception {
        assertError(post("/v1/completions", "{\"prompt\": \"x\"", KEY), 400, "malformed JSON");
        assertError(post("/v1/completions", "{\"model\":\"gpt-4\",\"prompt\":\"x\"}", KEY), 404, "model 'gpt-4' does not exist");
        assertError(post("/v1/completions", "{\"prompt\":\"x\",\"temperature\":5}", KEY), 400, "temperature must be");
        assertError(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":0}", KEY), 400, "max_tokens must be an integer >= 1");
        assertError(post("/v1/completions", "{\"prompt\":\"" + "a".repeat(300) + "\"}", KEY), 400, "does not fit the context");
        assertError(post("/v1/chat/completions", "{\"messages\":[]}", KEY), 400, "messages must be a non-empty array");
        assertError(post("/v1/completions", "{\"prompt\":\"x\"}", null), 401, "missing API key");
        assertError(post("/v1/completions", "{\"prompt\":\"x\"}", "wrong"), 401, "incorrect API key");
        assertError(post("/v1/nothing", "{}", KEY), 404, "no route");
        assertThat(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}", KEY).statusCode()).isEqualTo(200);
    }

    private static void assertError(HttpResponse<String> r, int status, String message) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode err = JSON.readTree(r.body()).get("error");
        assertThat(err.get("message").asText()).contains(message);
        assertThat(err.has("type")).isTrue();
    }

    @Test
    void sixtyFourConcurrentStreamsAllComplete() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            String body = "{\"prompt\":\"request " + i + "\",\"max_tokens\":6,\"stream\":true,\"seed\":" + i + "}";
            all.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/completions"))
                    .header("Authorization", "Bearer " + KEY).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        int done = 0;
        for (CompletableFuture<HttpResponse<String>> f : all) {
            HttpResponse<String> r = f.get(150, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("\"finish_reason\":\"length\"").endsWith("data: [DONE]\n\n");
            done++;
        }
        assertThat(done).isEqualTo(64);
    }
}
