package org.redhare.cli;

import java.nio.file.Path;
import org.redhare.core.DType;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.model.CausalLM;
import org.redhare.model.Fp8Scheme;
import org.redhare.model.LoadOptions;
import org.redhare.model.ModelLoader;
import org.redhare.model.ModelSummary;
import org.redhare.model.quant.Quantization;
import picocli.CommandLine.Option;

/** Options every command that loads a model shares. */
final class ModelOptions {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "PATH",
            description = "Hugging Face model directory (config.json + *.safetensors) or a .gguf file")
    Path model;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "worker threads (default: all processors)")
    Integer threads;

    @Option(names = "--kv-cache-dtype", paramLabel = "TYPE", defaultValue = "auto",
            description = "KV cache element type: auto (bf16, or f32 for models with f32 weights), f32 (exact), bf16 (half the memory, as "
                    + "fast), f16 (half the memory, closer to f32, slower prompts), q8 (8-bit integers with a scale per token and KV "
                    + "head: about a quarter of f32's memory, a larger accuracy cost than bf16's; not for latent caches) (default: auto)")
    String kvCacheDtype;

    @Option(names = "--draft-tokens", paramLabel = "N", defaultValue = "0",
            description = "requests guess up to N tokens a step from their own text (prompt lookup decoding: what followed "
                    + "their last few tokens where these occurred before) and keep those the model's own draw (greedy or sampled) confirms: the same tokens, in "
                    + "fewer steps when the text repeats its input (quotes, edits, extraction); 0 turns it off (default: 0)")
    int draftTokens;

    /** {@code c} with this command's {@code --draft-tokens}. */
    org.redhare.engine.EngineConfig withDrafting(org.redhare.engine.EngineConfig c) {
        if (draftTokens < 0 || draftTokens > org.redhare.engine.EngineConfig.MAX_DRAFT_TOKENS) {
            throw CliException.usage("--draft-tokens must be in [0, " + org.redhare.engine.EngineConfig.MAX_DRAFT_TOKENS + "], got " + draftTokens);
        }
        return c.withDraftTokens(draftTokens);
    }

    Parallel pool() {
        int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (n < 1 || n > 1024) {
            throw CliException.usage("--threads must be between 1 and 1024, got " + n);
        }
        return new Parallel(n);
    }

    @Option(names = "--quantize", paramLabel = "TYPE", defaultValue = "none",
            description = "quantize a BF16/F16/F32 checkpoint's linear weights at load: fp8 (E4M3, 128x128 block scales), "
                    + "q8_0 or q4_0 (GGML blocks of 32), q4_k or q6_k (GGML super-blocks of 256; rows only a multiple of 32 long become "
                    + "q5_0 or q8_0); the "
                    + "embedding table stays as stored, a tied LM head gets a quantized copy; on an FP8 checkpoint (128x128 block "
                    + "scales), fp8 quantizes only the weights it keeps in BF16, such as the LM head (default: none)")
    String quantize;

    @Option(names = "--head-screen", paramLabel = "MODE", defaultValue = "auto",
            description = "greedy and top-k sampling read an int8 copy of a BF16, F16 or F32 LM head and compute exactly only the rows that "
                    + "could be among the k largest (same tokens, fewer bytes per token, the copy's memory; not with logprobs); of an FP8 head "
                    + "(--quantize fp8) only several tokens decoded in one step (users of serve, drafted tokens) read the copy, multiplying integers "
                    + "(AVX512-VNNI, AVX2), so auto builds none for one sequence without --draft-tokens: auto (where the "
                    + "head is at least 10%% of a token's reads: small models, FP8 checkpoints as published), on, off (default: auto)")
    String headScreen;

    LoadOptions.HeadScreen headScreen() {
        try {
            return LoadOptions.HeadScreen.parse(headScreen);
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--head-screen: " + e.getMessage());
        }
    }

    Quantization quantization() {
        try {
            return Quantization.parse(quantize);
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--quantize: " + e.getMessage());
        }
    }

    /** The {@code --kv-cache-dtype} for {@code model}: what it names, or the model's own choice for {@code auto} ({@link CausalLM#autoKvDtype}). */
    KvDtype kvDtype(CausalLM model) {
        if (resolvedFor != model) {
            resolved = isAuto() ? model.autoKvDtype() : namedKvDtype();
            String why = model.kvLayout().unsupported(resolved);
            if (why != null) {
                throw CliException.usage("--kv-cache-dtype " + resolved + ": " + why);
            }
            resolvedFor = model;
        }
        return resolved;
    }

    private CausalLM resolvedFor;
    private KvDtype resolved;

    private boolean isAuto() {
        return kvCacheDtype.equalsIgnoreCase("auto");
    }

    private KvDtype namedKvDtype() {
        try {
            return KvDtype.parse(kvCacheDtype);
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--kv-cache-dtype: " + e.getMessage() + " or auto");
        }
    }

    CausalLM load(Parallel pool) {
        return load(pool, quantization());
    }

    /**
     * {@link #load(Parallel)} for a command that decodes one sequence (generate, chat, perplexity, serve --max-running 1): it decodes several tokens
     * in one step only with {@code --draft-tokens}, so {@code --head-screen auto} builds no screen of an FP8 head, which only
     * such steps would read ({@link LoadOptions#withBatches}).
     */
    CausalLM loadForOneSequence(Parallel pool) {
        return load(pool, quantization(), draftTokens > 0);
    }

    /** {@link #load(Parallel)} with linear weights quantized to {@code q} whatever {@code --quantize} says. */
    CausalLM load(Parallel pool, Quantization q) {
        return load(pool, q, true);
    }

    /** {@link #load(Parallel, Quantization)} of another model, with these options (bench's {@code --paired-model}). */
    CausalLM load(Parallel pool, Path other, Quantization q) {
        return load(other, pool, q, true);
    }

    private CausalLM load(Parallel pool, Quantization q, boolean batches) {
        return load(model, pool, q, batches);
    }

    private CausalLM load(Path model, Parallel pool, Quantization q, boolean batches) {
        if (!isAuto()) {
            namedKvDtype(); // a misspelt type fails before the model loads, not after
        }
        long t0 = System.nanoTime();
        LoadOptions options = new LoadOptions(q, (done, total) -> Progress.bar("quantizing to " + q, done, total), Progress::info,
                headScreen(), batches);
        CausalLM m = ModelLoader.load(model, pool, options);
        Progress.info(String.format("loaded %s (%s%s) in %.0f ms, %d threads", model.getFileName(), m.config().architecture(),
                q == Quantization.NONE ? "" : ", linear weights " + q, (System.nanoTime() - t0) / 1e6, pool.threads()));
        if (q == Quantization.NONE) {
            fp8HeadHint(m);
        }
        if (isAuto()) {
            Progress.info("KV cache in " + kvDtype(m) + " (--kv-cache-dtype auto; f32 is exact, f16 and bf16 take half the memory)");
        }
        return m;
    }

    /**
     * FP8 checkpoints as published (DeepSeek-V3/R1, Qwen3-FP8, and what {@code quantize --to fp8} writes) keep the LM head
     * in BF16; on small models it is a large part of what every decoded token reads (Qwen2.5-0.5B: 272 of 630 MB), and
     * decode speed follows the bytes. Says so, with the option that changes it, since nothing else would tell the user.
     */
    private static void fp8HeadHint(CausalLM m) {
        if (!Fp8Scheme.completesWithFp8(m.config())) {
            return;
        }
        ModelSummary s = m.summary();
        if (s.lmHeadDtype() != DType.BF16 && s.lmHeadDtype() != DType.F16 && s.lmHeadDtype() != DType.F32) {
            return;
        }
        Progress.info(String.format("this FP8 checkpoint keeps its LM head in %s, as published: %s of the %s MB each decoded"
                + " token reads (%.0f%%%s); --quantize fp8 stores it in FP8 too, for faster decode at a small cost in accuracy"
                + " (docs/PERFORMANCE.md)", s.lmHeadDtype(), megabytes(s.lmHeadBytes()), megabytes(s.decodeBytesPerToken()),
                100.0 * s.lmHeadBytes() / s.decodeBytesPerToken(), s.headScreenBytes() == 0 ? ""
                        : "; greedy and top-k tokens read its screen instead, " + megabytes(s.greedyDecodeBytesPerToken()) + " MB in all"));
    }

    private static String megabytes(long bytes) {
        return bytes >= 100_000_000 ? String.format("%.0f", bytes / 1e6) : String.format("%.3g", bytes / 1e6);
    }
}
