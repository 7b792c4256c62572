package org.redhare.cli;

import java.nio.file.Path;
import org.redhare.engine.SamplingParams;
import org.redhare.model.GenerationDefaults;
import picocli.CommandLine.Option;

/**
 * Sampling options shared by generate and chat. An option left out takes the model's recommendation
 * ({@link GenerationDefaults}: generation_config.json, or a GGUF file's {@code general.sampling.*}), else llama.cpp's
 * default.
 */
final class SamplingOptions {
    static final float TEMPERATURE = 0.8f;
    static final float TOP_P = 0.95f;
    static final int TOP_K = 40;
    static final float MIN_P = 0.05f;
    static final float REPETITION_PENALTY = 1f;

    @Option(names = "--temperature", paramLabel = "T",
            description = "sampling temperature; 0 = greedy (default: the model's generation config, else " + TEMPERATURE + ")")
    Float temperature;

    @Option(names = "--top-p", paramLabel = "P", description = "nucleus sampling threshold (default: the model's, else " + TOP_P + ")")
    Float topP;

    @Option(names = "--top-k", paramLabel = "K", description = "sample among the k most likely tokens; 0 = all (default: the model's, else "
            + TOP_K + ")")
    Integer topK;

    @Option(names = "--min-p", paramLabel = "P", description = "drop tokens below min-p x p(top) (default: the model's, else " + MIN_P + ")")
    Float minP;

    @Option(names = "--repetition-penalty", paramLabel = "R",
            description = "penalty for tokens already seen; 1 = off (default: the model's, else " + REPETITION_PENALTY + ")")
    Float repetitionPenalty;

    @Option(names = "--seed", description = "random seed (same seed, same output)")
    Long seed;

    /** The options given, completed with the recommendations of the model at {@code model}, then the built-in defaults. */
    SamplingParams params(Path model) {
        GenerationDefaults d = model != null ? GenerationDefaults.load(model, Progress::info) : GenerationDefaults.NONE;
        if (!d.isEmpty()) {
            Progress.info("sampling: the model recommends " + d.describe() + "; options given on the command line win");
        }
        return params(d);
    }

    SamplingParams params(GenerationDefaults d) {
        return new SamplingParams(
                temperature != null ? temperature : d.temperature(TEMPERATURE),
                topK != null ? topK : d.topK(TOP_K),
                topP != null ? topP : d.topP(TOP_P),
                minP != null ? minP : d.minP(MIN_P),
                repetitionPenalty != null ? repetitionPenalty : d.repetitionPenalty(REPETITION_PENALTY),
                0f, 0f, seed);
    }
}
