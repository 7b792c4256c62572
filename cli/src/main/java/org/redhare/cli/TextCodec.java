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

    /** Splits streamed text into reasoning and answer. */
    interface Splitter {
        void push(String delta, java.util.function.Consumer<String> reasoning, java.util.function.Consumer<String> content);

        void flush(java.util.function.Consumer<String> reasoning, java.util.function.Consumer<String> content);
    }

    /** A splitter for this model's replies; {@code startsOpen} when the prompt already opened a think block. */
    Splitter reasoningStartsOpen(java.util.List<java.util.Map<String, Object>> messages, java.util.Map<String, Object> extra) {
        return new Splitter() {
            @Override public void push(String d, java.util.function.Consumer<String> r, java.util.function.Consumer<String> c) { c.accept(d); }
            @Override public void flush(java.util.function.Consumer<String> r, java.util.function.Consumer<String> c) { }
        };
    }

    int[] encodeChat(java.util.List<java.util.Map<String, Object>> messages, boolean addGenerationPrompt, java.util.Map<String, Object> extra) {
        throw CliException.usage("chat needs the model's tokenizer and chat template, which this build cannot read yet");
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
