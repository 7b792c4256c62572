package org.redhare.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import org.redhare.core.Parallel;
import org.redhare.engine.Engine;
import org.redhare.engine.EngineConfig;
import org.redhare.model.CausalLM;
import org.redhare.model.EmbeddingConfig;
import org.redhare.model.GenerationDefaults;
import org.redhare.model.ModelLoadException;
import org.redhare.model.WarmUp;
import org.redhare.server.OpenAiServer;
import org.redhare.server.PromptFormatter;
import org.redhare.server.PromptFormatters;
import org.redhare.text.TokenizerException;
import org.redhare.server.ServedModel;
import org.redhare.server.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a model over an OpenAI-compatible HTTP API, with a web chat page at /.")
final class ServeCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to listen on (default ${DEFAULT-VALUE}; 0.0.0.0 for all)")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "port (default ${DEFAULT-VALUE}; 0 = any free port)")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY", description = "require 'Authorization: Bearer KEY' on the API (default: \\$REDHARE_API_KEY, else none)")
    String apiKey;

    @Option(names = "--served-model-name", paramLabel = "NAME", description = "model id shown to clients (default: the model directory's name)")
    String servedModelName;

    @Option(names = "--ctx-size", paramLabel = "N", description = "context length (default: the model's, at most 32768)")
    Integer ctxSize;

    @Option(names = "--kv-cache-memory", paramLabel = "SIZE", defaultValue = "2GiB",
            description = "memory for the paged KV cache shared by all requests: 512MiB, 4GiB, or 0.5 for half the free memory (default ${DEFAULT-VALUE})")
    String kvCacheMemory;

    @Option(names = "--max-waiting", paramLabel = "N", defaultValue = "" + EngineConfig.DEFAULT_MAX_WAITING,
            description = "requests queued in the engine at most; more get 429 with Retry-After (default ${DEFAULT-VALUE})")
    int maxWaiting;

    @Option(names = "--no-prefix-caching", description = "do not reuse the KV cache of identical prompt prefixes")
    boolean noPrefixCaching;

    @Option(names = "--swa-full", description = "keep the whole context in the KV cache of sliding-window layers (Gemma's local"
            + " layers) too; by default, where it saves memory, they keep a pool of their own that holds each request's last"
            + " window of keys, and the rest of --kv-cache-memory goes to the other layers (more tokens): a prompt prefix is"
            + " then reused only while its last window is still cached")
    boolean swaFull;

    @Option(names = "--no-warmup", description = "skip the warm-up forward passes before the server reports ready (the first"
            + " request then pays the kernels' JIT compilation, about 2 s)")
    boolean noWarmup;

    @Option(names = "--max-batch-tokens", paramLabel = "N", defaultValue = "512",
            description = "tokens per engine step: decode tokens plus prefill chunks (default ${DEFAULT-VALUE})")
    int maxBatchTokens;

    @Option(names = "--max-running", paramLabel = "N", defaultValue = "32", description = "sequences decoded together at most (default ${DEFAULT-VALUE})")
    int maxRunning;

    @Option(names = "--max-concurrent-requests", paramLabel = "N", defaultValue = "256",
            description = "HTTP generation requests in flight at most; more get 429 (default ${DEFAULT-VALUE})")
    int maxConcurrent;

    @Option(names = "--shutdown-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "on shutdown, how long requests in flight may finish before they are cancelled (default ${DEFAULT-VALUE})")
    int shutdownTimeout;

    @Option(names = "--generation-config", paramLabel = "auto|none|DIR", defaultValue = "auto",
            description = "sampling defaults for request fields left out: auto = the model's (generation_config.json or GGUF"
                    + " general.sampling.*), none = the OpenAI API's, DIR = that folder's generation_config.json (default ${DEFAULT-VALUE})")
    String generationConfig;

    private GenerationDefaults generationDefaults() {
        return switch (generationConfig) {
            case "auto" -> GenerationDefaults.load(modelOptions.model, Progress::info);
            case "none" -> GenerationDefaults.NONE;
            default -> {
                Path dir = Path.of(generationConfig);
                if (!Files.isRegularFile(dir.resolve("generation_config.json"))) {
                    throw CliException.usage("--generation-config " + generationConfig + ": no generation_config.json there (use auto, none"
                            + " or a folder holding one)");
                }
                yield GenerationDefaults.load(dir, Progress::info);
            }
        };
    }

    @Override
    public Integer call() throws Exception {
        if (maxBatchTokens < 1) throw CliException.usage("--max-batch-tokens must be positive, got " + maxBatchTokens);
        if (maxRunning < 1) throw CliException.usage("--max-running must be positive, got " + maxRunning);
        if (maxWaiting < 1) throw CliException.usage("--max-waiting must be positive, got " + maxWaiting);
        GenerationDefaults defaults = generationDefaults();
        EmbeddingConfig embedding;
        try {
            embedding = EmbeddingConfig.load(modelOptions.model);
        } catch (ModelLoadException e) {
            throw CliException.usage(e.getMessage());
        }
        long kvBytes;
        try {
            kvBytes = EngineConfig.parseSize(kvCacheMemory, EngineConfig.freeMemoryBytes());
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--kv-cache-memory: " + e.getMessage());
        }
        String name = servedModelName != null ? servedModelName : modelOptions.model.toAbsolutePath().normalize().getFileName().toString();
        String key = apiKey != null ? apiKey : System.getenv("REDHARE_API_KEY");
        ServerConfig sc;
        try {
            sc = new ServerConfig(host, port, key, name, ServerConfig.DEFAULT_MAX_BODY, maxConcurrent, Duration.ofSeconds(shutdownTimeout));
        } catch (IllegalArgumentException e) {
            throw CliException.usage(e.getMessage());
        }
        // Listen first, so /health answers (503) while the weights load.
        OpenAiServer server = new OpenAiServer(sc).start();
        Progress.info("listening on http://" + host + ":" + server.port() + "/ (model loading...)");
        // The tokenizer and template load on another thread while the weights are mapped.
        java.util.function.Supplier<PromptFormatter> formatting = TextCodec.inBackground(() -> PromptFormatters.forModel(modelOptions.model, name));
        Parallel pool = modelOptions.pool();
        CausalLM model;
        try {
            model = maxRunning > 1 ? modelOptions.load(pool) : modelOptions.loadForOneSequence(pool); // one: no batches
        } catch (RuntimeException e) {
            server.failed(e.getMessage());
            server.close();
            pool.close();
            throw e;
        }
        int ctx = ctxSize != null ? ctxSize : Math.min(model.config().contextLength(), 32768);
        if (ctx > model.config().contextLength()) {
            throw CliException.usage("--ctx-size " + ctx + " exceeds the model's context length " + model.config().contextLength());
        }
        EngineConfig ec;
        PromptFormatter formatter;
        try {
            ec = modelOptions.withDrafting(EngineConfig.forKvMemory(kvBytes, model.kvLayout(), ctx, modelOptions.kvDtype(model), maxBatchTokens,
                    maxRunning, maxWaiting, !noPrefixCaching, !swaFull));
            formatter = formatting.get();
        } catch (RuntimeException e) {
            server.failed(e.getMessage());
            server.close();
            model.close();
            pool.close();
            throw e instanceof IllegalArgumentException || e instanceof TokenizerException ? CliException.usage(e.getMessage()) : e;
        }
        if (ec.kvPoolTokens() < ctx) {
            Progress.info(String.format(Locale.ROOT, "note: --kv-cache-memory %s holds %d tokens, less than the context %d; longer requests will be refused",
                    kvCacheMemory, ec.kvPoolTokens(), ctx));
        }
        if (!noWarmup) {
            // /health stays 503 meanwhile: the first request should not pay the kernels' compilation
            Progress.info("warming up the kernels...");
            Progress.info("warm-up done in " + WarmUp.run(model, modelOptions.kvDtype(model)) + " ms");
        }
        Engine engine = new Engine(model, ec);
        server.ready(new ServedModel(engine, formatter, defaults, embedding));
        Progress.info("embeddings (POST /v1/embeddings): " + embedding.describe());
        if (!defaults.isEmpty()) {
            Progress.info("sampling defaults for fields a request leaves out: " + defaults.describe());
        }
        String windows = ec.windowKvTokens() == 0 ? "" : String.format(Locale.ROOT, "; its %d sliding-window layers (window %d) keep %d tokens"
                + " of their own (--swa-full: the whole context)", model.kvLayout().windowLayers(), model.kvLayout().window(), ec.windowKvBlocks() * ec.blockSize());
        Progress.info(String.format(Locale.ROOT, "ready: model '%s' (%s), context %d, KV cache %d tokens in %s (%d blocks%s), API at http://%s:%d/v1%s",
                name, formatter.describe(), ctx, ec.kvPoolTokens(), ec.kvDtype(), ec.kvBlocks(), windows, host, server.port(),
                key != null ? " (API key required)" : ""));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Progress.info("shutting down: finishing requests in flight (at most " + shutdownTimeout + " s)");
            server.shutdown(Duration.ofSeconds(shutdownTimeout));
            engine.close();
            model.close();
            pool.close();
            stopped.countDown();
        }, "redhare-shutdown"));
        stopped.await();
        return 0;
    }
}
