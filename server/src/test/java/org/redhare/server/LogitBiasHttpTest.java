package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.engine.GenerationRequest;
import org.redhare.engine.SamplingParams;

/** OpenAI's {@code logit_bias}: +100 all but forces a token, -100 bans one, smaller biases shift the draw as the engine's. */
class LogitBiasHttpTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int[] PROMPT = {5, 17, 300, 42, 1000, 7, 99};
    static TestServer ids;

    @BeforeAll
    static void up() {
        ids = TestServer.fixture();
    }

    @AfterAll
    static void down() {
        if (ids != null) ids.close();
    }

    private static List<Integer> tokens(String fields) throws Exception {
        HttpResponse<String> r = ids.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":[5,17,300,42,1000,7,99],\"max_tokens\":8,"
                + "\"ignore_eos\":true,\"logprobs\":0" + fields + "}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<Integer> out = new ArrayList<>();
        JSON.readTree(r.body()).path("choices").get(0).path("logprobs").path("tokens")
                .forEach(x -> out.add(Integer.parseInt(x.asText().substring("token_id:".length()))));
        return out;
    }

    private static List<Integer> engine(SamplingParams sp) throws Exception {
        List<Integer> out = new ArrayList<>();
        for (int t : ids.engine.submit(new GenerationRequest(PROMPT, sp, 8, Set.of(), true)).await().tokens()) {
            out.add(t);
        }
        return out;
    }

    @Test
    void biasesForceBanAndShift() throws Exception {
        List<Integer> greedy = engine(SamplingParams.GREEDY);
        assertThat(tokens(",\"temperature\":0")).isEqualTo(greedy);
        assertThat(tokens(",\"temperature\":0,\"logit_bias\":{\"1234\":100}")).containsOnly(1234);
        assertThat(tokens(",\"temperature\":1.0,\"seed\":3,\"logit_bias\":{\"77\":100}")).containsOnly(77);
        // ban what greedy chose: none of those tokens comes out, and the rest is the engine's own run with the same bias
        StringBuilder ban = new StringBuilder();
        Map<Integer, Float> bans = new java.util.HashMap<>();
        for (int t : greedy) {
            if (bans.put(t, -100f) == null) {
                ban.append(ban.isEmpty() ? "" : ",").append('"').append(t).append("\":-100");
            }
        }
        List<Integer> banned = tokens(",\"temperature\":0,\"logit_bias\":{" + ban + "}");
        assertThat(banned).doesNotContainAnyElementsOf(greedy);
        assertThat(banned).isEqualTo(engine(new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, bans)));
        SamplingParams shifted = new SamplingParams(0.8f, 20, 1f, 0f, 1f, 0f, 0f, 9L, Map.of(greedy.get(0), -3.5f, 11, 6f));
        assertThat(tokens(",\"temperature\":0.8,\"top_k\":20,\"seed\":9,\"logit_bias\":{\"" + greedy.get(0) + "\":-3.5,\"11\":6}"))
                .isEqualTo(engine(shifted));
    }

    @Test
    void badBiasesAreClearErrors() throws Exception {
        for (String bad : new String[] {"{\"x\":1}", "{\"5\":101}", "{\"-1\":1}", "{\"5\":\"1\"}", "[1]", "{\"99999999\":1}"}) {
            HttpResponse<String> r = ids.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":[1,2],\"max_tokens\":2,\"logit_bias\":" + bad + "}");
            assertThat(r.statusCode()).as(bad).isEqualTo(400);
            JsonNode e = JSON.readTree(r.body()).path("error");
            assertThat(e.path("message").asText()).as(bad).containsIgnoringCase("logit");
        }
    }
}
