package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * 200 malformed or hostile requests (bad JSON, wrong types, huge and negative values, 10 MB bodies, slow and
 * vanishing clients) while well-formed streams run: every bad one gets a well-formed error, the good ones
 * get exactly what they get alone, and the server ends healthy with every KV block free.
 */
class RobustnessTest {
    static TestServer ts;
    static final ObjectMapper JSON = new ObjectMapper();
    // The fixture has no tokenizer: its generated ids come back as logprobs tokens ("token_id:N"), which the test compares.
    static final String GOOD = "{\"model\":\"tiny\",\"prompt\":[5,17,300,42,1000,7,99],\"max_tokens\":40,\"temperature\":0,\"ignore_eos\":true,\"logprobs\":0}";

    @BeforeAll
    static void up() {
        ts = TestServer.fixture();
    }

    @AfterAll
    static void down() {
        if (ts != null) ts.close();
    }

    static final String[] BAD_BODIES = {
        "{", "[]", "null", "\"text\"", "{\"model\":\"tiny\"", "{\"model\":\"tiny\",\"prompt\":[1,2,3],\"max_tokens\":\"abc\"}",
        "{\"model\":\"tiny\",\"prompt\":[1,2,3],\"temperature\":\"hot\"}", "{\"model\":\"tiny\",\"prompt\":[1,2,3],\"stream\":\"yes\"}",
        "{\"model\":\"tiny\",\"prompt\":[1,2,3],\"n\":1000}", "{\"model\":\"tiny\",\"prompt\":[1,2,3],\"max_tokens\":1000000000000}",
        "{\"model\":\"tiny\",\"prompt\":[1,2,3],\"max_tokens\":2000000000}", "{\"model\":\"tiny\",\"prompt\":[1,2,3],\"max_tokens\":-5}",
        "{\"model\":\"tiny\",\"prompt\":[1,2,3],\"top_p\":2}", "{\"model\":\"tiny\",\"prompt\":{}}", "{\"model\":\"tiny\",\"prompt\":[1.5]}",
        "{\"model\":\"tiny\",\"prompt\":[-1]}", "{\"model\":\"tiny\",\"prompt\":[99999999]}", "{\"model\":\"tiny\",\"prompt\":[]}",
        "{\"model\":\"tiny\",\"prompt\":[1],\"stop\":42}", "{\"model\":\"tiny\",\"prompt\":[1],\"logprobs\":-1}",
        "{\"model\":\"tiny\",\"prompt\":[1],\"presence_penalty\":9}", "{\"model\":\"tiny\",\"prompt\":[1],\"seed\":\"x\"}",
        "{\"prompt\":[1,2]}", "{\"model\":\"tiny\",\"prompt\":[1],\"stream_options\":{\"include_usage\":3}}",
    };
    static final String[] BAD_CHAT = {
        "{\"model\":\"tiny\",\"messages\":\"x\"}", "{\"model\":\"tiny\",\"messages\":[]}", "{\"model\":\"tiny\",\"messages\":[{\"content\":\"hi\"}]}",
        "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":7}]}", "{\"model\":\"tiny\",\"messages\":[1,2]}",
        "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_completion_tokens\":0}",
        "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\"}]}", // seven entries: k = 6, 16, ..., 196 reach every one
    };

    static final String[] BAD_RESPONSES = {
        "{\"model\":\"tiny\"}", "{\"model\":\"tiny\",\"input\":7}", "{\"model\":\"tiny\",\"input\":[{\"type\":\"computer_call\"}]}",
        "{\"model\":\"tiny\",\"input\":\"hi\",\"previous_response_id\":\"resp_1\"}",
        "{\"model\":\"tiny\",\"input\":\"hi\",\"max_output_tokens\":-3}",
        "{\"model\":\"tiny\",\"input\":\"hi\",\"tools\":[{\"type\":\"web_search\"}]}",
        "{\"model\":\"tiny\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_image\",\"image_url\":\"x\"}]}]}",
        "{\"model\":\"tiny\",\"input\":\"hi\",\"text\":{\"format\":{\"type\":\"yaml\"}}}",
        "[1,2]",
    };

    @Test
    void hostileRequestsLeaveTheServerHealthyAndOthersUnaffected() throws Exception {
        String reference = text(ts.post("/v1/completions", GOOD));
        assertThat(reference.split(" ")).hasSize(40);
        try (ExecutorService ex = Executors.newFixedThreadPool(8)) {
            List<Future<String>> good = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                good.add(ex.submit(() -> streamedText(GOOD.replace("}", ",\"stream\":true}"))));
            }
            List<Future<String>> bad = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int k = i;
                bad.add(ex.submit(() -> hostile(k)));
            }
            for (Future<String> f : bad) {
                assertThat(f.get()).isEqualTo("ok");
            }
            for (Future<String> f : good) {
                assertThat(f.get()).isEqualTo(reference);
            }
        }
        assertThat(ts.get("/health").statusCode()).isEqualTo(200);
        awaitTrue(() -> ts.engine.usedBlocks() == 0, Duration.ofSeconds(30));
        assertThat(ts.engine.usedBlocks()).isZero();
        assertThat(text(ts.post("/v1/completions", GOOD))).isEqualTo(reference);
    }

    /** One hostile request; returns "ok" when the server answered it as it should. */
    private static String hostile(int k) throws Exception {
        switch (k % 10) {
            case 7 -> { // 10 MB body: refused with 413 (or the connection is dropped while we still send)
                if (k % 30 != 7) {
                    return expectError(ts.post("/v1/completions", BAD_BODIES[k % BAD_BODIES.length]), 400);
                }
                byte[] big = new byte[10 << 20];
                java.util.Arrays.fill(big, (byte) ' ');
                try {
                    HttpResponse<String> r = ts.http.send(HttpRequest.newBuilder(URI.create(ts.base() + "/v1/completions"))
                            .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofByteArray(big)).build(), HttpResponse.BodyHandlers.ofString());
                    return expectError(r, 413);
                } catch (java.io.IOException dropped) {
                    return "ok";
                }
            }
            case 8 -> { // a slow client that sends half a request and vanishes
                try (Socket s = new Socket("127.0.0.1", ts.server.port())) {
                    OutputStream o = s.getOutputStream();
                    o.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"mod")
                            .getBytes(StandardCharsets.US_ASCII));
                    o.flush();
                }
                return "ok";
            }
            case 9 -> { // a streaming client that reads one event and hangs up: its sequence must be cancelled
                HttpResponse<InputStream> r = ts.http.send(HttpRequest.newBuilder(URI.create(ts.base() + "/v1/completions"))
                        .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"tiny\",\"prompt\":[9,8,7],\"max_tokens\":400,\"stream\":true,\"ignore_eos\":true}")).build(),
                        HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream in = r.body()) {
                    in.read(new byte[64]);
                }
                return r.statusCode() == 200 ? "ok" : "status " + r.statusCode();
            }
            case 6 -> {
                return expectError(ts.post("/v1/chat/completions", BAD_CHAT[k % BAD_CHAT.length]), 400);
            }
            case 5 -> {
                return expectError(ts.post("/v1/responses", BAD_RESPONSES[(k / 10) % BAD_RESPONSES.length]), 400);
            }
            default -> {
                return expectError(ts.post("/v1/completions", BAD_BODIES[k % BAD_BODIES.length]), 400);
            }
        }
    }

    private static String expectError(HttpResponse<String> r, int status) throws Exception {
        if (r.statusCode() != status) {
            return "expected " + status + " but got " + r.statusCode() + ": " + r.body();
        }
        JsonNode e = JSON.readTree(r.body()).path("error");
        if (!e.path("message").isTextual() || !e.path("type").isTextual() || !e.has("param") || !e.has("code")) {
            return "malformed error body: " + r.body();
        }
        return "ok";
    }

    private static String text(HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        StringBuilder sb = new StringBuilder();
        for (JsonNode t : JSON.readTree(r.body()).path("choices").get(0).path("logprobs").path("tokens")) {
            sb.append(t.asText()).append(' ');
        }
        return sb.toString();
    }

    private static String streamedText(String body) throws Exception {
        HttpResponse<String> r = ts.post("/v1/completions", body);
        StringBuilder sb = new StringBuilder();
        for (String block : r.body().split("\n\n")) {
            if (block.startsWith("data: {")) {
                for (JsonNode ch : JSON.readTree(block.substring(6)).path("choices")) {
                    for (JsonNode t : ch.path("logprobs").path("tokens")) {
                        sb.append(t.asText()).append(' ');
                    }
                }
            }
        }
        return sb.toString();
    }

    /** Waits for a condition the server reaches on its own (cancelled sequences freed), up to a bound. */
    static void awaitTrue(BooleanSupplier c, Duration max) {
        long end = System.nanoTime() + max.toNanos();
        while (!c.getAsBoolean() && System.nanoTime() < end) {
            LockSupport.parkNanos(5_000_000);
        }
    }
}
