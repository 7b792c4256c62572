package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Health while loading, auth on the API routes only, and shutdown that refuses new work. */
class LifecycleTest {
    final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> get(OpenAiServer s, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).GET();
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthIs503UntilTheModelIsReadyAndTheApiSaysWhy() throws Exception {
        OpenAiServer s = new OpenAiServer(ServerConfig.local("m")).start();
        try {
            HttpResponse<String> h = get(s, "/health");
            assertThat(h.statusCode()).isEqualTo(503);
            assertThat(h.body()).contains("loading");
            HttpResponse<String> m = get(s, "/v1/models");
            assertThat(m.statusCode()).isEqualTo(503);
            assertThat(m.headers().firstValue("Retry-After")).isPresent();
            assertThat(new ObjectMapper().readTree(m.body()).path("error").path("message").asText()).contains("still loading");
            assertThat(get(s, "/").body()).contains("RedHare");
            s.failed("no config.json in /x");
            assertThat(get(s, "/health").body()).contains("failed").contains("no config.json");
        } finally {
            s.shutdown(Duration.ofSeconds(1));
        }
    }

    @Test
    void apiKeyGuardsTheApiButNotHealthOrThePage() throws Exception {
        OpenAiServer s = new OpenAiServer(ServerConfig.local("m").withApiKey("k1")).start();
        try {
            HttpResponse<String> none = get(s, "/v1/models");
            assertThat(none.statusCode()).isEqualTo(401);
            assertThat(none.body()).contains("\"type\":\"authentication_error\"").contains("missing API key");
            assertThat(get(s, "/v1/models", "Authorization", "Bearer k2").statusCode()).isEqualTo(401);
            assertThat(get(s, "/v1/models", "Authorization", "Bearer k1").statusCode()).isEqualTo(503); // authorized; still loading
            assertThat(get(s, "/health").statusCode()).isEqualTo(503);
            assertThat(get(s, "/").statusCode()).isEqualTo(200);
        } finally {
            s.shutdown(Duration.ofSeconds(1));
        }
    }

    /** A 500-token completion of the fixture, sent without waiting, with {@code extra} JSON fields ending in a comma. */
    private static <T> java.util.concurrent.CompletableFuture<HttpResponse<T>> postCompletion(TestServer ts, String extra,
            HttpResponse.BodyHandler<T> handler) {
        return ts.http.sendAsync(HttpRequest.newBuilder(URI.create(ts.base() + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"tiny\",\"prompt\":[1,2,3],\"max_tokens\":500," + extra + "\"ignore_eos\":true}")).build(), handler);
    }

    /** The fixture at 5 ms a step: 500 tokens take seconds, so a 50 ms shutdown deadline always falls mid-reply. */
    private static TestServer paced() {
        return new TestServer(org.redhare.core.testing.SharedFiles.require("fixtures/qwen3-tiny"), ServerConfig.local("tiny"),
                TestServer.engineConfig(), m -> new PacedModel(m, 5));
    }

    @Test
    void shutdownCancelsStreamsInFlightAtTheDeadline() throws Exception {
        try (TestServer ts = paced()) {
            var r = postCompletion(ts, "\"stream\":true,", HttpResponse.BodyHandlers.ofLines());
            var lines = r.get().body().iterator();
            String first = lines.next();
            while (!first.startsWith("data: ")) {
                first = lines.next(); // keep-alive comments and blank separators
            }
            assertThat(first).startsWith("data: {"); // it is streaming
            ts.server.shutdown(Duration.ofMillis(50));
            String last = null;
            int chunks = 1;
            while (lines.hasNext()) {
                String l = lines.next();
                if (!l.isEmpty()) last = l;
                if (l.startsWith("data: {")) chunks++;
            }
            assertThat(last).isEqualTo("data: [DONE]"); // ended cleanly,
            assertThat(chunks).isLessThan(500);          // early
            RobustnessTest.awaitTrue(() -> ts.engine.usedBlocks() == 0, Duration.ofSeconds(10));
            assertThat(ts.engine.usedBlocks()).isZero();
        }
    }

    @Test
    void shutdownAnswersARequestInFlightWithWhatItHasGenerated() throws Exception {
        try (TestServer ts = paced()) {
            var r = postCompletion(ts, "", HttpResponse.BodyHandlers.ofString());
            RobustnessTest.awaitTrue(() -> ts.engine.usedBlocks() > 1, Duration.ofSeconds(30)); // it is generating
            ts.server.shutdown(Duration.ofMillis(50));
            HttpResponse<String> h = r.get();
            assertThat(h.statusCode()).as(h.body()).isEqualTo(200);
            var reply = new ObjectMapper().readTree(h.body());
            assertThat(reply.path("choices").path(0).path("finish_reason").asText()).isNotEqualTo("length"); // cut short
            assertThat(reply.path("usage").path("completion_tokens").asInt()).as(h.body()).isBetween(1, 499);
        }
    }

    /**
     * A request whose handler is still running when the server stops (here a /tokenize whose client is slow to send
     * its body) is answered, not cut off: Jetty's own graceful stop waits for it, on every route.
     */
    @Test
    void shutdownLetsAnyRequestInFlightFinish() throws Exception {
        try (TestServer ts = TestServer.text(); java.net.Socket c = new java.net.Socket("127.0.0.1", ts.server.port())) {
            byte[] body = "{\"prompt\":\"hello\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            var out = c.getOutputStream();
            out.write(("POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.write(body, 0, 5);
            out.flush();
            Thread.sleep(300); // the handler is reading the body
            Thread stop = Thread.ofPlatform().start(() -> ts.server.shutdown(Duration.ofMillis(50)));
            Thread.sleep(300); // the server is stopping
            out.write(body, 5, body.length - 5);
            out.flush();
            c.setSoTimeout(10_000);
            String reply = new String(c.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            stop.join();
            assertThat(reply).startsWith("HTTP/1.1 200").contains("\"tokens\"");
        }
    }
}
