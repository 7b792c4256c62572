package org.redhare.model;

import java.util.function.Consumer;
import org.redhare.model.quant.Quantization;

/**
 * How {@link ModelLoader} loads a model.
 *
 * @param quantize   online quantization of linear weights at load ({@link Quantization#NONE} keeps them as stored)
 * @param progress   receives progress of slow load steps (quantization): {@code done} and {@code total} bytes
 * @param log        receives one-line status messages (what is quantized)
 * @param headScreen whether greedy and top-k sampling screen a BF16, F16 or F32 LM head through an int8 copy ({@code org.redhare.core.matrix.ScreenedHead})
 */
public record LoadOptions(Quantization quantize, Progress progress, Consumer<String> log, HeadScreen headScreen, boolean batches) {

    /** Progress of a load step in bytes. */
    @FunctionalInterface
    public interface Progress {
        void update(long done, long total);
    }

    /**
     * The screened LM head: greedy and top-k tokens read an int8 copy of a BF16 or F16 head (about half its bytes; a quarter of an F32 one) and compute
     * exactly only the rows that could be the argmax (among the k largest); same tokens, more memory (the copy). An FP8
     * head's copy (as {@code --quantize fp8} makes the head) has as many bytes: there only batches of greedy users read
     * it, multiplying integers (AVX512-VNNI, AVX2) where the head would widen every code.
     */
    public enum HeadScreen {
        /** Where the head is at least {@link #AUTO_SHARE} of what a decoded token reads (small models, FP8 checkpoints as published). */
        AUTO,
        ON,
        OFF;

        /** The head's share of a token's reads from which {@link #AUTO} screens it. */
        public static final double AUTO_SHARE = 0.10;

        public static HeadScreen parse(String s) {
            return switch (s.toLowerCase(java.util.Locale.ROOT)) {
                case "auto" -> AUTO;
                case "on" -> ON;
                case "off" -> OFF;
                default -> throw new IllegalArgumentException("unknown head screen setting '" + s + "': use auto, on or off");
            };
        }
    }

    public static final LoadOptions DEFAULT = new LoadOptions(Quantization.NONE, (d, t) -> {}, s -> {});

    public LoadOptions {
        if (quantize == null || progress == null || log == null || headScreen == null) {
            throw new IllegalArgumentException("LoadOptions fields must not be null");
        }
    }

    public LoadOptions(Quantization quantize, Progress progress, Consumer<String> log) {
        this(quantize, progress, log, HeadScreen.AUTO);
    }

    /** Options for a model that may decode several sequences in one step ({@link #batches}). */
    public LoadOptions(Quantization quantize, Progress progress, Consumer<String> log, HeadScreen headScreen) {
        this(quantize, progress, log, headScreen, true);
    }

    public LoadOptions withQuantize(Quantization q) {
        return new LoadOptions(q, progress, log, headScreen, batches);
    }

    public LoadOptions withHeadScreen(HeadScreen h) {
        return new LoadOptions(quantize, progress, log, h, batches);
    }

    /**
     * These options for a model that decodes several tokens in one step ({@code true}: a server's users, drafted tokens;
     * the default) or one at a time ({@code false}: a single sequence without drafting). {@link HeadScreen#AUTO} screens
     * an FP8 head only where batches come, since one token reads it rather than its copy.
     */
    public LoadOptions withBatches(boolean b) {
        return new LoadOptions(quantize, progress, log, headScreen, b);
    }
}
