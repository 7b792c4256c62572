package org.redhare.cli;

import java.nio.file.Path;
import java.util.Set;

/**
 * Text in and out for the CLI: the model's tokenizer when it has one; otherwise token ids only.
 */
class TextCodec {
    /** Streams text deltas for token ids; null means "no text, print the id". */
    interface Stream {
        String push(int id);

        String flush();
    }

    static TextCodec optional(Path model) {
        return new TextCodec();
    }

    static TextCodec require(Path model, String option) {
        throw CliException.usage(option + " needs the model's tokenizer, which this build cannot read yet; pass token ids with --tokens");
    }

    int[] encodePrompt(String text) {
        throw CliException.usage("text prompts need a tokenizer; pass token ids with --tokens");
    }

    Set<Integer> stopTokenIds() {
        return Set.of();
    }

    Stream stream() {
        return new Stream() {
            @Override public String push(int id) { return null; }
            @Override public String flush() { return null; }
        };
    }

    String decode(int[] ids) {
        return null;
    }
}
