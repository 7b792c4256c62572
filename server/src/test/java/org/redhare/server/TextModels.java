package org.redhare.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.redhare.core.DType;
import org.redhare.core.testing.SharedFiles;
import org.redhare.model.synth.SyntheticModel;

/**
 * Tiny random-weight models with a real tokenizer, written once per test JVM into a temp folder (deleted at exit):
 * the "tiny" shape as Qwen3, its vocabulary widened to the Qwen3 tokenizer's 151669 ids. The weights are random,
 * so the text they produce is noise, but every byte of it goes through the real tokenizer and template.
 */
public final class TextModels {
    /** A thinking template in DeepSeek-R1's style: the prompt itself opens the think block. */
    static final String THINKING_TEMPLATE = "{% for m in messages %}<|im_start|>{{ m.role }}\\n{{ m.content }}<|im_end|>\\n{% endfor %}"
            + "{% if add_generation_prompt %}<|im_start|>assistant\\n<think>\\n{% endif %}";

    private static Path root;
    private static Path qwen3;
    private static Path thinking;

    private TextModels() {}

    /** The model with Qwen3's tokenizer.json and tokenizer_config.json (its chat template included); skips when ../shared is absent. */
    public static synchronized Path qwen3() {
        if (qwen3 == null) {
            Path tok = SharedFiles.require("tokenizers/qwen3");
            try {
                root = Files.createTempDirectory("redhare-server-test");
                Runtime.getRuntime().addShutdownHook(new Thread(TextModels::deleteRoot));
                Path dir = root.resolve("qwen3-tiny-text");
                SyntheticModel.write(SyntheticModel.withVocabAtLeast(SyntheticModel.withArch(SyntheticModel.shape("tiny"), "qwen3"), 151669),
                        DType.BF16, dir, 7, (a, b) -> {});
                Files.copy(tok.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
                Files.copy(tok.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
                qwen3 = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return qwen3;
    }

    /** The same weights and tokenizer with {@link #THINKING_TEMPLATE} as the chat template. */
    public static synchronized Path thinking() {
        if (thinking == null) {
            Path base = qwen3();
            try {
                Path dir = Files.createDirectories(root.resolve("qwen3-tiny-thinking"));
                try (Stream<Path> files = Files.list(base)) {
                    for (Path f : files.toList()) {
                        if (!f.getFileName().toString().equals("tokenizer_config.json")) {
                            Files.createSymbolicLink(dir.resolve(f.getFileName()), f);
                        }
                    }
                }
                Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"<|im_end|>\", \"chat_template\": \""
                        + THINKING_TEMPLATE + "\"}");
                thinking = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return thinking;
    }

    private static void deleteRoot() {
        if (root == null) return;
        try (Stream<Path> all = Files.walk(root)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }
}
