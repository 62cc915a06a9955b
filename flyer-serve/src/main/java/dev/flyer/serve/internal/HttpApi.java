package dev.flyer.serve.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flyer.serve.ChatMessage;
import dev.flyer.serve.Engine;
import dev.flyer.serve.Sampler;
import dev.flyer.serve.TextCodec;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The routes of {@link dev.flyer.serve.OpenAiServer}: request parsing and validation, submission
 * to the engine, and the OpenAI response shapes (whole or as server-sent-event chunks).
 *
 * <p>Implementation notes: follows the OpenAI API's completion, chat completion and chunk objects;
 * {@code top_k} and {@code seed} are accepted as vLLM does. Text deltas come from decoding all
 * tokens so far and sending the new suffix (multi-byte characters split across tokens are held
 * back until complete: a trailing U+FFFD is not sent). A stop string ends the request at the
 * engine's next step and is not included. R1-style {@code <think>} output goes to
 * {@code reasoning_content}.
 */
public final class HttpApi {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Engine engine;
    private final TextCodec codec;
    private final String modelName;
    private final String apiKey;
    private final long started = System.nanoTime();

    public HttpApi(Engine engine, TextCodec codec, String modelName, String apiKey) {
        this.engine = engine;
        this.codec = codec;
        this.modelName = modelName;
        this.apiKey = apiKey;
    }

    /** A request could not be served: status, OpenAI error type and code. */
    static final class ApiError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient HttpResponseStatus status;
        final String type;
        final String code;
        final String param;

        ApiError(HttpResponseStatus status, String message, String type, String code, String param) {
            super(message);
            this.status = status;
            this.type = type;
            this.code = code;
            this.param = param;
        }

        static ApiError invalid(String message, String param) {
            return new ApiError(HttpResponseStatus.BAD_REQUEST, message, "invalid_request_error", null, param);
        }
    }

    public ChannelHandler handler() {
        return new Handler();
    }

    @ChannelHandler.Sharable
    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            try {
                route(ctx, req, keepAlive);
            } catch (ApiError e) {
                sendError(ctx, e, keepAlive);
            } catch (RuntimeException e) {
                sendError(ctx, new ApiError(HttpResponseStatus.INTERNAL_SERVER_ERROR, String.valueOf(e.getMessage()),
                        "server_error", null, null), keepAlive);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private void route(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive) {
        String path = req.uri().split("\\?", 2)[0];
        switch (path) {
            case "/health" -> send(ctx, HttpResponseStatus.OK, "application/json", "{\"status\":\"ok\"}", keepAlive);
            case "/metrics" -> send(ctx, HttpResponseStatus.OK, "text/plain; version=0.0.4", metrics(), keepAlive);
            case "/v1/models" -> {
                authorize(req);
                ObjectNode body = JSON.createObjectNode().put("object", "list");
                body.putArray("data").addObject().put("id", modelName).put("object", "model").put("owned_by", "flyer")
                        .put("created", 0);
                send(ctx, HttpResponseStatus.OK, "application/json", body.toString(), keepAlive);
            }
            case "/v1/completions", "/v1/chat/completions" -> {
                authorize(req);
                if (req.method() != HttpMethod.POST) {
                    throw new ApiError(HttpResponseStatus.METHOD_NOT_ALLOWED, "use POST for " + path,
                            "invalid_request_error", "method_not_allowed", null);
                }
                generate(ctx, parse(req), path.endsWith("chat/completions"), keepAlive);
            }
            default -> throw new ApiError(HttpResponseStatus.NOT_FOUND, "no route " + path, "invalid_request_error",
                    "not_found", null);
        }
    }

    private void authorize(FullHttpRequest req) {
        if (apiKey == null) {
            return;
        }
        String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (auth == null || !auth.equals("Bearer " + apiKey)) {
            throw new ApiError(HttpResponseStatus.UNAUTHORIZED, auth == null ? "missing API key (Authorization: Bearer ...)"
                    : "incorrect API key", "invalid_request_error", "invalid_api_key", null);
        }
    }

    private static JsonNode parse(FullHttpRequest req) {
        try {
            JsonNode n = JSON.readTree(req.content().toString(StandardCharsets.UTF_8));
            if (n == null || !n.isObject()) {
                throw ApiError.invalid("request body must be a JSON object", null);
            }
            return n;
        } catch (JsonProcessingException e) {
            throw ApiError.invalid("malformed JSON: " + e.getOriginalMessage(), null);
        }
    }

    /** Validated generation parameters. */
    private record Params(int[] prompt, int maxTokens, Sampler sampler, List<String> stop, boolean stream) {}

    private Params params(JsonNode body, boolean chat) {
        if (body.hasNonNull("model") && !body.get("model").asText().equals(modelName)) {
            throw new ApiError(HttpResponseStatus.NOT_FOUND, "model '" + body.get("model").asText() + "' does not exist; "
                    + "this server has '" + modelName + "'", "invalid_request_error", "model_not_found", "model");
        }
        if (body.has("n") && body.get("n").asInt(-1) != 1) {
            throw ApiError.invalid("only n = 1 is supported", "n");
        }
        int maxTokens = integer(body, "max_tokens", chat ? 256 : 16, 1);
        if (chat && body.has("max_completion_tokens")) {
            maxTokens = integer(body, "max_completion_tokens", maxTokens, 1);
        }
        double temperature = number(body, "temperature", 1.0, 0, 2);
        double topP = number(body, "top_p", 1.0, Double.MIN_VALUE, 1);
        int topK = integer(body, "top_k", 0, 0);
        long seed = body.has("seed") ? integer(body, "seed", 0, Integer.MIN_VALUE) : System.nanoTime();
        List<String> stop = new ArrayList<>();
        JsonNode s = body.path("stop");
        if (s.isTextual()) {
            stop.add(s.asText());
        } else if (s.isArray()) {
            for (JsonNode v : s) {
                if (!v.isTextual() || v.asText().isEmpty()) {
                    throw ApiError.invalid("stop must be a string or an array of non-empty strings", "stop");
                }
                stop.add(v.asText());
            }
        } else if (!s.isMissingNode() && !s.isNull()) {
            throw ApiError.invalid("stop must be a string or an array of strings", "stop");
        }
        int[] prompt = chat ? chatPrompt(body) : textPrompt(body);
        return new Params(prompt, maxTokens, new Sampler(temperature, topP, topK, seed), stop,
                body.path("stream").asBoolean(false));
    }

    private int[] chatPrompt(JsonNode body) {
        JsonNode messages = body.path("messages");
        if (!messages.isArray() || messages.isEmpty()) {
            throw ApiError.invalid("messages must be a non-empty array", "messages");
        }
        List<ChatMessage> list = new ArrayList<>();
        for (JsonNode m : messages) {
            if (!m.path("role").isTextual() || !(m.path("content").isTextual() || m.path("content").isNull())) {
                throw ApiError.invalid("each message needs a string role and a string content", "messages");
            }
            list.add(new ChatMessage(m.get("role").asText(), m.path("content").isNull() ? null : m.get("content").asText()));
        }
        return codec.encodeChat(list);
    }

    private int[] textPrompt(JsonNode body) {
        JsonNode p = body.path("prompt");
        if (p.isTextual()) {
            return codec.encode(p.asText());
        }
        if (p.isArray() && !p.isEmpty() && p.get(0).isInt()) {
            int[] ids = new int[p.size()];
            for (int i = 0; i < ids.length; i++) {
                if (!p.get(i).isInt()) {
                    throw ApiError.invalid("prompt token arrays must hold integers", "prompt");
                }
                ids[i] = p.get(i).asInt();
            }
            return ids;
        }
        throw ApiError.invalid("prompt must be a string or an array of token ids", "prompt");
    }

    private static int integer(JsonNode body, String field, int fallback, int min) {
        JsonNode v = body.path(field);
        if (v.isMissingNode() || v.isNull()) {
            return fallback;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < min) {
            throw ApiError.invalid(field + " must be an integer >= " + min + ", got " + v, field);
        }
        return v.asInt();
    }

    private static double number(JsonNode body, String field, double fallback, double min, double max) {
        JsonNode v = body.path(field);
        if (v.isMissingNode() || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber() || v.asDouble() < min || v.asDouble() > max) {
            throw ApiError.invalid(field + " must be a number in [" + (min == Double.MIN_VALUE ? "0 (excl.)" : min) + ", "
                    + max + "], got " + v, field);
        }
        return v.asDouble();
    }

    private void generate(ChannelHandlerContext ctx, JsonNode body, boolean chat, boolean keepAlive) {
        Params p = params(body, chat);
        Exchange x = new Exchange(ctx, p, chat, keepAlive);
        try {
            x.request = engine.submit(p.prompt(), p.maxTokens(), p.sampler(), x);
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid(e.getMessage(), chat ? "messages" : "prompt");
        } catch (IllegalStateException e) {
            throw new ApiError(HttpResponseStatus.SERVICE_UNAVAILABLE, e.getMessage(), "server_error", null, null);
        }
        if (p.stream()) {
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
                    .set(HttpHeaderNames.CACHE_CONTROL, "no-cache")
                    .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            ctx.writeAndFlush(head);
        }
    }

    /** One generation in flight: collects tokens, streams deltas, answers at the end. */
    private final class Exchange implements Engine.Listener {
        final ChannelHandlerContext ctx;
        final Params p;
        final boolean chat;
        final boolean keepAlive;
        final String id = "cmpl-" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
        final long created = System.currentTimeMillis() / 1000;
        final List<Integer> tokens = new ArrayList<>();
        volatile Engine.Request request;
        String sent = "";
        boolean stopped;
        boolean inReasoning;
        boolean roleSent;

        Exchange(ChannelHandlerContext ctx, Params p, boolean chat, boolean keepAlive) {
            this.ctx = ctx;
            this.p = p;
            this.chat = chat;
            this.keepAlive = keepAlive;
        }

        String text() {
            int[] ids = new int[tokens.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = tokens.get(i);
            }
            String t = codec.decode(ids);
            for (String s : p.stop()) {
                int at = t.indexOf(s);
                if (at >= 0) {
                    t = t.substring(0, at);
                    stopped = true;
                }
            }
            return t;
        }

        @Override
        public void onToken(int token) {
            if (stopped) {
                return;
            }
            tokens.add(token);
            String t = text();
            if (stopped && request != null) {
                request.cancel("stop");
            }
            if (!p.stream()) {
                return;
            }
            String visible = t.endsWith("\uFFFD") ? t.substring(0, t.length() - 1) : t;
            if (visible.length() > sent.length() && visible.startsWith(sent)) {
                String delta = visible.substring(sent.length());
                sent = visible;
                sendChunk(delta, null);
            }
        }

        @Override
        public void onFinish(String reason) {
            String finish = reason.equals("stop") || stopped ? "stop" : reason.equals("length") ? "length" : "error";
            String t = text();
            if (p.stream()) {
                if (t.length() > sent.length() && t.startsWith(sent)) {
                    String rest = t.substring(sent.length());
                    sent = t;
                    sendChunk(rest, null);
                }
                sendChunk("", finish);
                ctx.write(new DefaultHttpContent(Unpooled.copiedBuffer("data: [DONE]\n\n", StandardCharsets.UTF_8)));
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(closeUnlessKeptAlive());
                return;
            }
            ObjectNode body = envelope(chat ? "chat.completion" : "text_completion");
            ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
            if (chat) {
                dev.flyer.serve.Reasoning r = dev.flyer.serve.Reasoning.split(t);
                ObjectNode message = choice.putObject("message").put("role", "assistant").put("content", r.content());
                if (r.reasoning() != null) {
                    message.put("reasoning_content", r.reasoning());
                }
            } else {
                choice.put("text", t);
            }
            choice.put("finish_reason", finish);
            body.putObject("usage").put("prompt_tokens", p.prompt().length).put("completion_tokens", tokens.size())
                    .put("total_tokens", p.prompt().length + tokens.size());
            send(ctx, HttpResponseStatus.OK, "application/json", body.toString(), keepAlive);
        }

        private ObjectNode envelope(String object) {
            return JSON.createObjectNode().put("id", id).put("object", object).put("created", created).put("model", modelName);
        }

        private void sendChunk(String delta, String finish) {
            ObjectNode body = envelope(chat ? "chat.completion.chunk" : "text_completion");
            ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
            if (chat) {
                ObjectNode d = choice.putObject("delta");
                if (!roleSent) {
                    d.put("role", "assistant");
                    roleSent = true;
                }
                if (!delta.isEmpty()) {
                    routeDelta(d, delta);
                }
            } else {
                choice.put("text", delta);
            }
            if (finish != null) {
                choice.put("finish_reason", finish);
                body.putObject("usage").put("prompt_tokens", p.prompt().length).put("completion_tokens", tokens.size())
                        .put("total_tokens", p.prompt().length + tokens.size());
            } else {
                choice.putNull("finish_reason");
            }
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer("data: " + body + "\n\n", StandardCharsets.UTF_8)));
        }

        /** R1-style: text inside {@code <think>…</think>} streams as reasoning_content. */
        private void routeDelta(ObjectNode d, String delta) {
            if (sent.startsWith("<think>") && !inReasoning && !sent.contains("</think>")) {
                inReasoning = true;
            }
            if (inReasoning) {
                int close = delta.indexOf("</think>");
                if (close < 0) {
                    d.put("reasoning_content", delta.replace("<think>", ""));
                    return;
                }
                inReasoning = false;
                d.put("reasoning_content", delta.substring(0, close).replace("<think>", ""));
                d.put("content", delta.substring(close + "</think>".length()));
                return;
            }
            d.put("content", delta);
        }

        private ChannelFutureListener closeUnlessKeptAlive() {
            return keepAlive ? f -> { } : ChannelFutureListener.CLOSE;
        }
    }

    private String metrics() {
        double seconds = Math.max(1e-9, (System.nanoTime() - started) / 1e9);
        StringBuilder b = new StringBuilder();
        metric(b, "flyer_prompt_tokens_total", "counter", "Prompt tokens of finished requests.", engine.promptTokens());
        metric(b, "flyer_generation_tokens_total", "counter", "Tokens generated.", engine.generatedTokens());
        metric(b, "flyer_prompt_tokens_per_second", "gauge", "Prompt tokens per second since start.", engine.promptTokens() / seconds);
        metric(b, "flyer_generation_tokens_per_second", "gauge", "Generated tokens per second since start.",
                engine.generatedTokens() / seconds);
        metric(b, "flyer_requests_running", "gauge", "Requests in the running batch.", engine.running());
        metric(b, "flyer_requests_waiting", "gauge", "Requests waiting to join.", engine.waiting());
        metric(b, "flyer_kv_blocks_in_use", "gauge", "KV cache blocks held by sequences.", engine.kvBlocksInUse());
        metric(b, "flyer_kv_blocks_total", "gauge", "KV cache blocks.", engine.kvBlocksTotal());
        metric(b, "flyer_preemptions_total", "counter", "Requests preempted for lack of KV blocks.", engine.preemptions());
        metric(b, "flyer_prefix_cache_hit_ratio", "gauge", "Share of prompt tokens served from the prefix cache.",
                engine.prefixHitRatio());
        metric(b, "flyer_prefix_cache_hit_tokens_total", "counter", "Prompt tokens served from the prefix cache.",
                engine.prefixHitTokens());
        return b.toString();
    }

    private static void metric(StringBuilder b, String name, String type, String help, double value) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        b.append(name).append(' ').append(value == Math.rint(value) ? String.valueOf((long) value) : String.valueOf(value))
                .append('\n');
    }

    private static void sendError(ChannelHandlerContext ctx, ApiError e, boolean keepAlive) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode err = body.putObject("error").put("message", e.getMessage()).put("type", e.type);
        if (e.param != null) {
            err.put("param", e.param);
        } else {
            err.putNull("param");
        }
        if (e.code != null) {
            err.put("code", e.code);
        } else {
            err.putNull("code");
        }
        send(ctx, e.status, "application/json", body.toString(), keepAlive);
    }

    private static void send(ChannelHandlerContext ctx, HttpResponseStatus status, String type, String body,
                             boolean keepAlive) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, type).setInt(HttpHeaderNames.CONTENT_LENGTH,
                res.content().readableBytes());
        if (keepAlive) {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(res);
        } else {
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
