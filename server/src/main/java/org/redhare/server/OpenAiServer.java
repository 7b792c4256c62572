package org.redhare.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.redhare.engine.GenerationHandle;

/**
 * The OpenAI-compatible HTTP server (Javalin on Jetty). It starts listening before the model is loaded:
 * /health answers 503 until {@link #ready} is called, so orchestrators can wait on it.
 */
public final class OpenAiServer implements AutoCloseable {
    /** How long stopping Jetty waits for requests still in its handlers (see start). */
    private static final long STOP_TIMEOUT_MILLIS = 5_000;
    private final ServerConfig config;
    private final ObjectMapper json = new ObjectMapper();
    private final ServerMetrics metrics = new ServerMetrics();
    private final Set<GenerationHandle> active = ConcurrentHashMap.newKeySet();
    private final GenerationApi api;
    private final ResponsesApi responses;
    private final EmbeddingsApi embeddings;
    private final long created = System.currentTimeMillis() / 1000;
    private volatile ServedModel model;
    private volatile String loadFailure;
    private volatile boolean draining;
    private Javalin app;

    public OpenAiServer(ServerConfig config) {
        this.config = config;
        this.api = new GenerationApi(json, metrics, active, config.servedModelName());
        this.responses = new ResponsesApi(json, api, config.servedModelName());
        this.embeddings = new EmbeddingsApi(json, metrics, active, config.servedModelName());
    }

    /** Starts listening; returns once the port is bound. */
    public synchronized OpenAiServer start() {
        app = Javalin.create(c -> {
            c.concurrency.useVirtualThreads = true; // one blocked virtual thread per streaming client
            c.http.maxRequestSize = config.maxBodyBytes();
            c.startup.showJavalinBanner = false;
            c.jetty.host = config.host();
            c.jetty.port = config.port();
            c.jetty.modifyServer(server -> {
                // Jetty's graceful stop: once shutdown() has let generations finish or cancelled them, stopping waits
                // up to this long for any request still being handled or written, on every route (Javalin nests its
                // handlers inside this wrapper), instead of closing its connection mid-reply.
                server.setHandler(new GracefulHandler());
                server.setStopTimeout(STOP_TIMEOUT_MILLIS);
                // A client that stalls mid-request (slowloris) is dropped after this long without bytes.
                for (var connector : server.getConnectors()) {
                    if (connector instanceof ServerConnector sc) {
                        sc.setIdleTimeout(30_000);
                    }
                }
            });
            c.staticFiles.add(s -> {
                s.hostedPath = "/";
                s.directory = "/web";
                s.location = Location.CLASSPATH;
            });
            c.routes.before("/v1/*", this::authorize);
            c.routes.before("/tokenize", this::authorize);
            c.routes.before("/detokenize", this::authorize);
            c.routes.get("/health", this::health);
            c.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape()));
            c.routes.get("/v1/models", this::models);
            c.routes.post("/v1/completions", ctx -> generate(ctx, Endpoint.COMPLETIONS));
            c.routes.post("/v1/chat/completions", ctx -> generate(ctx, Endpoint.CHAT));
            c.routes.post("/v1/responses", ctx -> generate(ctx, Endpoint.RESPONSES));
            c.routes.post("/v1/embeddings", ctx -> generate(ctx, Endpoint.EMBEDDINGS));
            c.routes.post("/tokenize", this::tokenize);
            c.routes.post("/detokenize", this::detokenize);
            c.routes.exception(ApiException.class, (e, ctx) -> error(ctx, e));
            c.routes.exception(Exception.class, (e, ctx) -> error(ctx, ApiException.internal("internal error: " + e)));
        });
        app.start();
        return this;
    }

    public int port() {
        return app.port();
    }

    /** The model is loaded: generation routes open and /health turns 200. */
    public void ready(ServedModel m) {
        metrics.attach(m.engine());
        this.model = m;
    }

    /** Loading failed: /health reports it (503) and generation routes say why. */
    public void failed(String message) {
        this.loadFailure = message;
    }

    private ServedModel model() {
        ServedModel m = model;
        if (draining) {
            throw ApiException.unavailable("the server is shutting down", 5);
        }
        if (m == null) {
            if (loadFailure != null) {
                throw ApiException.unavailable("the model failed to load: " + loadFailure, 60);
            }
            throw ApiException.unavailable("the model is still loading: retry shortly (GET /health turns 200 when ready)", 5);
        }
        return m;
    }

    private void authorize(Context ctx) {
        String key = config.apiKey();
        if (key == null) {
            return;
        }
        String h = ctx.header("Authorization");
        if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw ApiException.unauthorized("missing API key: send the header 'Authorization: Bearer <key>'");
        }
        byte[] given = h.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, key.getBytes(StandardCharsets.UTF_8))) {
            throw ApiException.unauthorized("invalid API key: check the key the server was started with (--api-key)");
        }
    }

    private void health(Context ctx) {
        ObjectNode o = json.createObjectNode();
        if (model != null && !draining) {
            o.put("status", "ok");
            ctx.status(200);
        } else {
            o.put("status", draining ? "shutting_down" : loadFailure != null ? "failed" : "loading");
            if (loadFailure != null) {
                o.put("message", loadFailure);
            }
            ctx.status(503);
        }
        ctx.contentType("application/json").result(o.toString());
    }

    private void models(Context ctx) {
        ServedModel m = model();
        ObjectNode o = json.createObjectNode();
        o.put("object", "list");
        ObjectNode e = o.putArray("data").addObject();
        e.put("id", config.servedModelName());
        e.put("object", "model");
        e.put("created", created);
        e.put("owned_by", "redhare");
        e.put("max_model_len", m.maxContext());
        // what a request that leaves these fields out gets from the model's generation config (the chat page shows them)
        ObjectNode d = e.putObject("sampling_defaults");
        m.defaults().asRequestFields().forEach((k, v) -> d.putPOJO(k, v));
        ctx.contentType("application/json").result(o.toString());
    }

    private JsonNode body(Context ctx) {
        long declared = ctx.req().getContentLengthLong();
        if (declared > config.maxBodyBytes()) {
            throw tooLarge();
        }
        byte[] bytes;
        try (InputStream in = ctx.req().getInputStream()) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, config.maxBodyBytes() + 1));
        } catch (IOException e) {
            throw ApiException.invalid(null, "could not read the request body: " + e.getMessage());
        }
        if (bytes.length > config.maxBodyBytes()) {
            throw tooLarge();
        }
        if (bytes.length == 0) {
            throw ApiException.invalid(null, "the request body is empty: send a JSON object");
        }
        try {
            return json.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw ApiException.invalid(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.invalid(null, "could not read the request body: " + e.getMessage());
        }
    }

    private ApiException tooLarge() {
        return ApiException.tooLarge("the request body exceeds " + config.maxBodyBytes() + " bytes: send a smaller request");
    }

    private enum Endpoint { COMPLETIONS, CHAT, RESPONSES, EMBEDDINGS }

    /** Opens a streamed reply: status, headers, and the body's output stream, committed so the client sees it open. */
    private static OutputStream openStream(Context ctx) throws IOException {
        ctx.status(200);
        ctx.res().setContentType("text/event-stream; charset=utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no");
        OutputStream out = ctx.res().getOutputStream();
        out.flush(); // commit the headers now, so the client sees the stream open
        return out;
    }

    private void generate(Context ctx, Endpoint kind) throws Exception {
        String endpoint = switch (kind) {
            case COMPLETIONS -> "completions";
            case CHAT -> "chat";
            case RESPONSES -> "responses";
            case EMBEDDINGS -> "embeddings";
        };
        ServedModel m = model();
        JsonNode body = body(ctx);
        if (metrics.enter() > config.maxConcurrentRequests()) {
            metrics.exit();
            throw ApiException.overloaded("the server is at its limit of " + config.maxConcurrentRequests()
                    + " concurrent requests: retry after a moment", 1);
        }
        try {
            GenerationApi.Response streaming = () -> GenerationApi.serverSentEvents(openStream(ctx), json);
            ObjectNode reply = switch (kind) {
                case COMPLETIONS -> api.completions(m, body, streaming);
                case CHAT -> api.chat(m, body, streaming);
                case RESPONSES -> responses.create(m, body, () -> ResponsesApi.serverSentEvents(openStream(ctx), json));
                case EMBEDDINGS -> embeddings.create(m, body);
            };
            if (reply != null) {
                // Written and closed here rather than through ctx.result(), which Javalin writes after the
                // handler returns: by then the request no longer counts as in flight, and a shutdown
                // could stop Jetty before the answer left.
                byte[] bytes = json.writeValueAsBytes(reply);
                ctx.status(200).contentType("application/json");
                ctx.res().setContentLength(bytes.length);
                try (OutputStream out = ctx.res().getOutputStream()) {
                    out.write(bytes);
                }
            }
            metrics.request(endpoint, 200);
        } catch (ApiException e) {
            metrics.request(endpoint, e.status());
            if (ctx.res().isCommitted()) {
                streamError(ctx, e, kind == Endpoint.RESPONSES); // the stream is open: report in-band
                return;
            }
            throw e;
        } catch (IOException e) {
            metrics.request(endpoint, 499); // the client went away; its sequences are already cancelled
        } finally {
            metrics.exit();
        }
    }

    private void streamError(Context ctx, ApiException e, boolean responses) {
        try {
            ServerSentEvents sse = new ServerSentEvents(ctx.res().getOutputStream());
            if (responses) {
                // the Responses API's error event; it has no [DONE]
                ObjectNode ev = json.createObjectNode().put("type", "error").put("code", e.code()).put("message", e.getMessage());
                ev.put("param", e.param());
                sse.send("error", json.writeValueAsString(ev));
            } else {
                sse.send(null, errorJson(e));
                sse.send(null, "[DONE]");
            }
            sse.close();
        } catch (IOException ignored) {
            // the client is gone too
        }
    }

    private void tokenize(Context ctx) {
        ServedModel m = model();
        Params p = new Params(body(ctx));
        int[] ids;
        if (p.has("messages")) {
            ids = api.renderChat(m, p).ids(); // as /v1/chat/completions would render it: tools and chat_template_kwargs too
        } else {
            String prompt = p.string("prompt");
            if (prompt == null) {
                throw ApiException.invalid("prompt", "send {\"prompt\": \"text\"} or {\"messages\": [...]}");
            }
            ids = m.formatter().encode(prompt);
        }
        ObjectNode o = json.createObjectNode();
        ArrayNode arr = o.putArray("tokens");
        for (int id : ids) {
            arr.add(id);
        }
        o.put("count", ids.length);
        o.put("max_model_len", m.maxContext());
        ctx.contentType("application/json").result(o.toString());
    }

    private void detokenize(Context ctx) {
        ServedModel m = model();
        Params p = new Params(body(ctx));
        JsonNode t = p.get("tokens");
        if (t == null || !t.isArray()) {
            throw ApiException.invalid("tokens", "send {\"tokens\": [ids...]}");
        }
        int vocab = m.engine().model().vocabSize();
        int[] ids = new int[t.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode x = t.get(i);
            if (!x.isIntegralNumber() || !x.canConvertToInt() || x.asInt() < 0 || x.asInt() >= vocab) {
                throw ApiException.invalid("tokens", "token " + i + " (" + x + ") is not an id in [0, " + vocab + ")");
            }
            ids[i] = x.asInt();
        }
        ObjectNode o = json.createObjectNode();
        o.put("prompt", m.formatter().decode(ids));
        ctx.contentType("application/json").result(o.toString());
    }

    private String errorJson(ApiException e) {
        ObjectNode o = json.createObjectNode();
        ObjectNode err = o.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        if (e.param() != null) err.put("param", e.param()); else err.putNull("param");
        if (e.code() != null) err.put("code", e.code()); else err.putNull("code");
        return o.toString();
    }

    private void error(Context ctx, ApiException e) {
        if (e.retryAfterSeconds() != null) {
            ctx.header("Retry-After", String.valueOf(e.retryAfterSeconds()));
        }
        if (e.status() == 401) {
            ctx.header("WWW-Authenticate", "Bearer");
        }
        ctx.status(e.status()).contentType("application/json").result(errorJson(e));
    }

    /**
     * Graceful shutdown: refuse new requests (503), let generations in flight finish until the deadline,
     * cancel what is left, then stop listening.
     */
    public synchronized void shutdown(Duration deadline) {
        draining = true;
        long end = System.nanoTime() + deadline.toNanos();
        while (metrics.inFlight() > 0 && System.nanoTime() < end) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (GenerationHandle h : active) {
            h.cancel();
        }
        long end2 = System.nanoTime() + 2_000_000_000L; // cancelled streams close within a step or two
        while (metrics.inFlight() > 0 && System.nanoTime() < end2) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (app != null) {
            app.stop();
            app = null;
        }
    }

    @Override
    public void close() {
        shutdown(config.shutdownDeadline());
    }
}
