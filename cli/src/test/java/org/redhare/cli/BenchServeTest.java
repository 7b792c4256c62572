package org.redhare.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.testing.SharedFiles;
import org.redhare.engine.Engine;
import org.redhare.engine.EngineConfig;
import org.redhare.model.CausalLM;
import org.redhare.model.ModelLoader;
import org.redhare.server.OpenAiServer;
import org.redhare.server.PromptFormatters;
import org.redhare.server.ServedModel;
import org.redhare.server.ServerConfig;

/** {@code bench-serve} against a real server on a fixture: every level's requests, tokens and what the engine did. */
class BenchServeTest {
    @Test
    void measuresEachLevelAndReadsTheEngineFromMetrics() throws Exception {
        var fx = SharedFiles.require("fixtures/qwen3-tiny");
        try (Parallel pool = new Parallel(1); CausalLM model = ModelLoader.load(fx, pool);
                Engine engine = new Engine(model, new EngineConfig(512, 8192, KvDtype.F32, 16, 256, 16, false))) {
            OpenAiServer server = new OpenAiServer(ServerConfig.local("tiny")).start();
            try {
                server.ready(new ServedModel(engine, PromptFormatters.forModel(fx, "tiny")));
                CliRunner.Result r = CliRunner.run("bench-serve", "--url", "http://127.0.0.1:" + server.port(), "--concurrency", "1,4",
                        "--prompt-tokens", "8", "--output-tokens", "6", "--requests", "4", "--json");
                assertThat(r.exit()).as(r.err()).isZero();
                JsonNode levels = new ObjectMapper().readTree(r.out()).path("levels");
                assertThat(levels).hasSize(2);
                for (JsonNode l : levels) {
                    assertThat(l.path("failed").asInt()).isZero();
                    assertThat(l.path("output_tokens").asLong()).isEqualTo(4 * 6);
                    JsonNode e = l.path("engine");
                    // a step holds at least one token, and a whole prompt of 8 at most one decode token per request besides
                    assertThat(e.path("tokens_per_step").asDouble()).isBetween(1.0, 8.0 + 4);
                    double busy = e.path("busy_share").asDouble();
                    double forward = e.path("forward_share").asDouble();
                    assertThat(forward).isPositive().isLessThanOrEqualTo(busy);
                    assertThat(busy).isLessThanOrEqualTo(1.0);
                }
                // one request at a time: a prompt step (8 tokens) and five decode steps (1 each) per request
                assertThat(levels.get(0).path("engine").path("tokens_per_step").asDouble()).isCloseTo(13.0 / 6, org.assertj.core.data.Offset.offset(1e-9));
            } finally {
                server.shutdown(Duration.ofSeconds(1));
            }
        }
    }
}
