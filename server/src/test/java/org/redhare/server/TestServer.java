package org.redhare.server;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.testing.SharedFiles;
import org.redhare.engine.Engine;
import org.redhare.engine.EngineConfig;
import org.redhare.model.CausalLM;
import org.redhare.model.GenerationDefaults;
import org.redhare.model.ModelLoader;

/** A server on a free loopback port serving a model from disk (a shared fixture by default). */
final class TestServer implements AutoCloseable {
    final Parallel pool;
    final CausalLM model;
    final Engine engine;
    final OpenAiServer server;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    final PromptFormatter formatter;

    /** Serves the model at {@code modelDir} with its own text side (tokenizer and template when it has them). */
    TestServer(Path modelDir, ServerConfig config, EngineConfig engineConfig) {
        this(modelDir, config, engineConfig, m -> m);
    }

    /** As above, with the loaded model wrapped (e.g. in a {@link ScriptedModel}) before the engine gets it. */
    TestServer(Path modelDir, ServerConfig config, EngineConfig engineConfig, java.util.function.UnaryOperator<CausalLM> wrap) {
        pool = new Parallel(1);
        model = wrap.apply(ModelLoader.load(modelDir, pool));
        engine = new Engine(model, engineConfig);
        formatter = PromptFormatters.forModel(modelDir, config.servedModelName());
        server = new OpenAiServer(config).start();
        // as `serve` does by default: the model's generation_config.json fills the fields a request leaves out
        server.ready(new ServedModel(engine, formatter, GenerationDefaults.load(modelDir, w -> {})));
    }

    static EngineConfig engineConfig() {
        return new EngineConfig(512, 8192, KvDtype.F32, 16, 256, 16, false);
    }

    /** The qwen3-tiny fixture (vocab 2048, no tokenizer: token ids only), or skips the test when ../shared is absent. */
    static TestServer fixture(ServerConfig config) {
        return new TestServer(SharedFiles.require("fixtures/qwen3-tiny"), config, engineConfig());
    }

    /** A tiny random Qwen3-architecture model with the real Qwen3 tokenizer and chat template ({@link TextModels#qwen3}). */
    static TestServer text(ServerConfig config) {
        return new TestServer(TextModels.qwen3(), config, engineConfig());
    }

    static TestServer text() {
        return text(ServerConfig.local("tiny"));
    }

    static TestServer fixture() {
        return fixture(ServerConfig.local("tiny"));
    }

    String base() {
        return "http://127.0.0.1:" + server.port();
    }

    HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(60)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        server.close();
        engine.close();
        model.close();
        pool.close();
    }
}
