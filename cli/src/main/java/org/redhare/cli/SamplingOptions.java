package org.redhare.cli;

import org.redhare.engine.SamplingParams;
import picocli.CommandLine.Option;

/** Sampling options shared by generate and chat (defaults as llama.cpp's). */
final class SamplingOptions {
    @Option(names = "--temperature", defaultValue = "0.8", description = "sampling temperature; 0 = greedy (default ${DEFAULT-VALUE})")
    float temperature;

    @Option(names = "--top-p", defaultValue = "0.95", description = "nucleus sampling threshold (default ${DEFAULT-VALUE})")
    float topP;

    @Option(names = "--top-k", defaultValue = "40", description = "sample among the k most likely tokens; 0 = all (default ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--min-p", defaultValue = "0.05", description = "drop tokens below min-p x p(top) (default ${DEFAULT-VALUE})")
    float minP;

    @Option(names = "--repetition-penalty", defaultValue = "1.0", description = "penalty for tokens already seen; 1 = off (default ${DEFAULT-VALUE})")
    float repetitionPenalty;

    @Option(names = "--seed", description = "random seed (same seed, same output)")
    Long seed;

    SamplingParams params() {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, 0f, 0f, seed);
    }
}
