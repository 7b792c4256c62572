package org.redhare.model;

import java.util.function.Consumer;
import org.redhare.model.quant.Quantization;

/**
 * How {@link ModelLoader} loads a model.
 *
 * @param quantize online quantization of linear weights at load ({@link Quantization#NONE} keeps them as stored)
 * @param progress receives progress of slow load steps (quantization): {@code done} and {@code total} bytes
 * @param log      receives one-line status messages (what is quantized)
 */
public record LoadOptions(Quantization quantize, Progress progress, Consumer<String> log) {

    /** Progress of a load step in bytes. */
    @FunctionalInterface
    public interface Progress {
        void update(long done, long total);
    }

    public static final LoadOptions DEFAULT = new LoadOptions(Quantization.NONE, (d, t) -> {}, s -> {});

    public LoadOptions {
        if (quantize == null || progress == null || log == null) {
            throw new IllegalArgumentException("LoadOptions fields must not be null");
        }
    }

    public LoadOptions withQuantize(Quantization q) {
        return new LoadOptions(q, progress, log);
    }
}
