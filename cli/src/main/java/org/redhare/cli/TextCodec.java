package org.redhare.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import java.util.function.Consumer;
import org.redhare.text.Detokenizer;
import org.redhare.text.ModelText;
import org.redhare.text.TokenizerException;
import org.redhare.text.template.ReasoningParser;
import org.redhare.text.template.TemplateException;

/**
 * Text in and out for the CLI: the model's tokenizer and chat template when it has them
 * ({@link ModelText}); without a tokenizer only token ids work, and generated ids are printed as ids.
 */
final class TextCodec {
    /** Streams text deltas for token ids; null means "no text, print the id". */
    interface Stream {
        String push(int id);

        String flush();
    }

    /** Splits streamed text into reasoning and answer. */
    interface Splitter {
        void push(String delta, Consumer<String> reasoning, Consumer<String> content);

        void flush(Consumer<String> reasoning, Consumer<String> content);
    }

    private final ModelText text; // null: the model has no tokenizer

    private TextCodec(ModelText text) {
        this.text = text;
    }

    /** The model's text side if it has a tokenizer; otherwise a codec that only passes ids through. */
    static TextCodec optional(Path model) {
        return new TextCodec(load(model).orElse(null));
    }

    /** The model's text side; a usage error naming {@code option} when the model has no tokenizer. */
    static TextCodec require(Path model, String option) {
        return new TextCodec(load(model).orElseThrow(() -> CliException.usage(option + " needs the model's tokenizer, but "
                + model + " has no tokenizer.json (nor GGUF vocabulary); add the tokenizer files or pass token ids with --tokens")));
    }

    /**
     * Starts loading the text side on another thread and returns a way to wait for it. Reading a 150k-token
     * tokenizer.json takes 1-2 s of CPU; the CLI starts it before mapping the weights so the two overlap.
     * The supplier rethrows what the load threw.
     */
    static <T> Supplier<T> inBackground(Supplier<T> load) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("redhare-text-load").start(() -> {
            try {
                f.complete(load.get());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        return () -> {
            try {
                return f.join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                if (e.getCause() instanceof Error err) {
                    throw err;
                }
                throw e;
            }
        };
    }

    /** {@link #require} (with {@code option}) or, when {@code option} is null, {@link #optional}, in the background. */
    static Supplier<TextCodec> preload(Path model, String option) {
        return inBackground(() -> option != null ? require(model, option) : optional(model));
    }

    private static Optional<ModelText> load(Path model) {
        try {
            return ModelText.load(model);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the tokenizer of " + model + ": " + e.getMessage(), e);
        } catch (TokenizerException e) {
            throw CliException.usage(e.getMessage());
        }
    }

    ModelText text() {
        return text;
    }

    int[] encodePrompt(String prompt) {
        return text.encodePrompt(prompt);
    }

    /** The rendered conversation; a usage error when the model has no template or the template fails. */
    String renderChat(List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        try {
            return text.renderChat(messages, null, addGenerationPrompt, extra);
        } catch (TokenizerException | TemplateException e) {
            throw CliException.usage(e.getMessage());
        }
    }

    int[] encodeRendered(String rendered) {
        return text.encodeRendered(rendered);
    }

    Set<Integer> stopTokenIds() {
        return text == null ? Set.of() : text.stopTokenIds();
    }

    /** Reasoning/answer splitter for a reply to this rendered prompt. */
    Splitter splitter(String renderedPrompt) {
        ReasoningParser.Stream s = ReasoningParser.forPrompt(renderedPrompt).stream();
        return new Splitter() {
            @Override
            public void push(String delta, Consumer<String> reasoning, Consumer<String> content) {
                ReasoningParser.Delta d = s.feed(delta);
                reasoning.accept(d.reasoningDelta());
                content.accept(d.contentDelta());
            }

            @Override
            public void flush(Consumer<String> reasoning, Consumer<String> content) {
                ReasoningParser.Delta d = s.finish();
                reasoning.accept(d.reasoningDelta());
                content.accept(d.contentDelta());
            }
        };
    }

    Stream stream() {
        if (text == null) {
            return new Stream() {
                @Override public String push(int id) { return null; }
                @Override public String flush() { return null; }
            };
        }
        Detokenizer d = text.tokenizer().detokenizer(true);
        return new Stream() {
            @Override public String push(int id) { return d.push(id); }
            @Override public String flush() { return d.flush(); }
        };
    }

    /** The text of ids, or null without a tokenizer. */
    String decode(int[] ids) {
        return text == null ? null : text.tokenizer().decode(ids, true);
    }
}
