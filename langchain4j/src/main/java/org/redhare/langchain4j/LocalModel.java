package org.redhare.langchain4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.engine.Engine;
import org.redhare.engine.EngineConfig;
import org.redhare.model.CausalLM;
import org.redhare.model.EmbeddingConfig;
import org.redhare.model.GenerationDefaults;
import org.redhare.model.LoadOptions;
import org.redhare.model.ModelLoader;
import org.redhare.model.quant.Quantization;
import org.redhare.server.LocalApi;
import org.redhare.server.PromptFormatter;
import org.redhare.server.PromptFormatters;
import org.redhare.server.ServedModel;

/**
 * A model loaded into this JVM with its engine, ready for {@link RedHareChatModel} and {@link RedHareStreamingChatModel}
 * (any number of them, on any threads: the engine batches their requests as {@code redhare serve} does). Loads what
 * {@code serve} loads: a Hugging Face folder (BF16, F16, F32 or FP8 as published) or a GGUF file, with the model's
 * tokenizer, chat template and recommended sampling. Close it to free the weights, the KV cache and the threads.
 *
 * <pre>{@code
 * try (LocalModel model = LocalModel.builder(Path.of("/models/Qwen3-0.6B")).threads(4).build()) {
 *     ChatModel chat = RedHareChatModel.builder().model(model).build();
 *     System.out.println(chat.chat("Hello!"));
 * }
 * }</pre>
 */
public final class LocalModel implements AutoCloseable {
    private final LocalApi api;
    private final List<AutoCloseable> owned;

    private LocalModel(LocalApi api, List<AutoCloseable> owned) {
        this.api = api;
        this.owned = owned;
    }

    /** The model at {@code path} with the default settings (every CPU, the model's context up to 32768, 2 GiB of KV cache). */
    public static LocalModel load(Path path) {
        return builder(path).build();
    }

    public static Builder builder(Path path) {
        return new Builder(path);
    }

    /** A model already being served in this process (its engine and text side); closing the result closes none of it. */
    public static LocalModel of(LocalApi api) {
        return new LocalModel(api, List.of());
    }

    /** The OpenAI chat API of this model, in process: what the LangChain4j models call. */
    public LocalApi api() {
        return api;
    }

    public String name() {
        return api.modelName();
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (AutoCloseable c : owned) {
            try {
                c.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = new IllegalStateException("closing the model failed: " + e.getMessage(), e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Settings with the defaults of {@code redhare serve}. */
    public static final class Builder {
        private final Path path;
        private int threads = Runtime.getRuntime().availableProcessors();
        private Integer contextLength;
        private String kvCacheMemory = "2GiB";
        private KvDtype kvDtype; // null: the model's choice (CausalLM#autoKvDtype)
        private int maxRunning = 32;
        private int draftTokens;
        private Quantization quantize = Quantization.NONE;
        private String name;
        private boolean warmUp = true;
        private boolean swaFull;
        private Consumer<String> log = s -> {};

        private Builder(Path path) {
            this.path = path;
        }

        /** Compute threads (default: every available processor). */
        public Builder threads(int threads) {
            if (threads < 1) throw new IllegalArgumentException("threads must be positive, got " + threads);
            this.threads = threads;
            return this;
        }

        /** Tokens a conversation may hold, prompt and reply (default: the model's, at most 32768). */
        public Builder contextLength(int tokens) {
            if (tokens < 2) throw new IllegalArgumentException("the context must hold at least 2 tokens, got " + tokens);
            this.contextLength = tokens;
            return this;
        }

        /** Memory for the KV cache shared by all requests: "512MiB", "4GiB", or "0.5" for half the free memory (default 2GiB). */
        public Builder kvCacheMemory(String size) {
            this.kvCacheMemory = size;
            return this;
        }

        /**
         * How the KV cache stores keys and values: F32 (exact), BF16 or F16 (half the memory); by default BF16, or F32 for a
         * model whose weights are mostly F32 ({@code CausalLM.autoKvDtype}).
         */
        public Builder kvCacheDtype(KvDtype dtype) {
            this.kvDtype = dtype;
            return this;
        }

        /** Sequences decoded together at most (default 32). */
        public Builder maxRunning(int n) {
            if (n < 1) throw new IllegalArgumentException("maxRunning must be positive, got " + n);
            this.maxRunning = n;
            return this;
        }

        /**
         * Greedy requests guess up to this many tokens a step from their own text and keep those the model confirms (prompt
         * lookup decoding: the same tokens, fewer steps where the reply repeats its input); 0 turns it off (the default).
         */
        public Builder draftTokens(int n) {
            if (n < 0 || n > EngineConfig.MAX_DRAFT_TOKENS) {
                throw new IllegalArgumentException("draftTokens must be in [0, " + EngineConfig.MAX_DRAFT_TOKENS + "], got " + n);
            }
            this.draftTokens = n;
            return this;
        }

        /**
         * Whether sliding-window layers (Gemma's local layers) keep the whole context in the KV cache (default false: where
         * it saves memory they keep each request's last window in a pool of their own, and the rest of the memory goes to
         * the other layers; a cached prompt prefix is then reused only while its last window is cached); serve's --swa-full.
         */
        public Builder swaFull(boolean swaFull) {
            this.swaFull = swaFull;
            return this;
        }

        /** Quantizes a BF16/F16/F32 checkpoint's linear weights at load: FP8, Q8_0 or Q4_0 (default none). */
        public Builder quantize(Quantization q) {
            this.quantize = q;
            return this;
        }

        /** The name replies carry (default: the folder's or file's name). */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /** Whether to run the kernels once before the first request, so that it does not pay their compilation (default true). */
        public Builder warmUp(boolean warmUp) {
            this.warmUp = warmUp;
            return this;
        }

        /** Where loading reports what it does (quantization progress, notes); default nowhere. */
        public Builder log(Consumer<String> log) {
            this.log = log;
            return this;
        }

        public LocalModel build() {
            if (!Files.exists(path)) {
                throw new IllegalArgumentException("no model at " + path + ": give a Hugging Face model folder or a .gguf file");
            }
            String served = name != null ? name : path.toAbsolutePath().normalize().getFileName().toString();
            long kvBytes = EngineConfig.parseSize(kvCacheMemory, EngineConfig.freeMemoryBytes());
            List<AutoCloseable> owned = new ArrayList<>();
            Parallel pool = new Parallel(threads);
            owned.add(0, pool);
            try {
                Quantization q = quantize;
                CausalLM model = ModelLoader.load(path, pool, new LoadOptions(q, (done, total) -> {}, log));
                owned.add(0, model);
                int ctx = contextLength != null ? contextLength : Math.min(model.config().contextLength(), 32768);
                if (ctx > model.config().contextLength()) {
                    throw new IllegalArgumentException("a context of " + ctx + " tokens exceeds the model's " + model.config().contextLength());
                }
                KvDtype kvDtype = this.kvDtype != null ? this.kvDtype : model.autoKvDtype();
                EngineConfig ec = EngineConfig.forKvMemory(kvBytes, model.kvLayout(), ctx, kvDtype, 512, maxRunning,
                        EngineConfig.DEFAULT_MAX_WAITING, true, !swaFull).withDraftTokens(draftTokens);
                PromptFormatter formatter = PromptFormatters.forModel(path, served);
                if (warmUp) {
                    org.redhare.model.WarmUp.run(model, kvDtype);
                }
                Engine engine = new Engine(model, ec);
                owned.add(0, engine);
                GenerationDefaults defaults = GenerationDefaults.load(path, log);
                EmbeddingConfig embedding = EmbeddingConfig.load(path);
                return new LocalModel(new LocalApi(new ServedModel(engine, formatter, defaults, embedding), served), List.copyOf(owned));
            } catch (RuntimeException e) {
                new LocalModel(null, owned).close();
                throw e;
            }
        }
    }
}
