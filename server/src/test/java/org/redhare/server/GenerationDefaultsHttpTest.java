package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.engine.GenerationRequest;
import org.redhare.engine.SamplingParams;

/** A model's generation_config.json fills the sampling fields a request leaves out; the fields a request gives win. */
class GenerationDefaultsHttpTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String PROMPT = "The capital of France is";
    @TempDir static Path tmp;
    static TestServer ts;

    @BeforeAll
    static void up() throws Exception {
        Path base = TextModels.qwen3();
        Path dir = Files.createDirectories(tmp.resolve("with-generation-config"));
        try (Stream<Path> files = Files.list(base)) {
            for (Path f : files.toList()) {
                Files.createSymbolicLink(dir.resolve(f.getFileName()), f);
            }
        }
        // top_k 1 leaves one token to draw: a request that takes it decodes greedily whatever its seed
        Files.writeString(dir.resolve("generation_config.json"),
                "{\"do_sample\": true, \"temperature\": 0.9, \"top_k\": 1, \"top_p\": 0.5, \"min_p\": \"x\", \"eos_token_id\": 151645}");
        ts = new TestServer(dir, ServerConfig.local("tiny"), TestServer.engineConfig());
    }

    @AfterAll
    static void down() {
        if (ts != null) ts.close();
    }

    private static String complete(String fields) throws Exception {
        HttpResponse<String> r = ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":8,"
                + "\"ignore_eos\":true" + fields + "}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).path("choices").get(0).path("text").asText();
    }

    private static String engine(SamplingParams sp) throws Exception {
        int[] prompt = ts.formatter.encode(PROMPT);
        return ts.formatter.decode(ts.engine.submit(new GenerationRequest(prompt, sp, 8, Set.of(), true)).await().tokens());
    }

    @Test
    void modelsListsTheRecommendationsItApplies() throws Exception {
        JsonNode d = JSON.readTree(ts.get("/v1/models").body()).path("data").get(0).path("sampling_defaults");
        // min_p "x" is not a number: left out (with a warning), the rest kept
        assertThat(d).isEqualTo(JSON.readTree("{\"temperature\":0.9,\"top_k\":1,\"top_p\":0.5}"));
    }

    @Test
    void aRequestWithoutTopKTakesTheModels() throws Exception {
        String greedy = engine(SamplingParams.GREEDY);
        assertThat(complete("")).isEqualTo(greedy);
        assertThat(complete(",\"seed\":3")).isEqualTo(greedy);
        assertThat(complete(",\"temperature\":1.5,\"seed\":4")).isEqualTo(greedy);
    }

    @Test
    void theFieldsARequestGivesWin() throws Exception {
        SamplingParams sampled = new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, 11L);
        String expected = engine(sampled);
        assertThat(expected).as("this seed draws other tokens than the argmax").isNotEqualTo(engine(SamplingParams.GREEDY));
        assertThat(complete(",\"temperature\":1.0,\"top_k\":0,\"top_p\":1.0,\"seed\":11")).isEqualTo(expected);
    }
}
