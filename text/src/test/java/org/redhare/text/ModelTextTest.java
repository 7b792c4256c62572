package org.redhare.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.testing.SharedFiles;

class ModelTextTest {
    @Test
    void qwen3ChatRendersEncodesAndStopsAtEndOfTurn() throws Exception {
        ModelText t = ModelText.load(SharedFiles.require("tokenizers/qwen3")).orElseThrow();
        String rendered = t.renderChat(List.of(Map.of("role", "user", "content", "Hi")), null, true, Map.of("enable_thinking", false));
        assertThat(rendered).startsWith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        int[] ids = t.encodeRendered(rendered);
        assertThat(ids[0]).isEqualTo(151644); // <|im_start|> parsed as the special token
        assertThat(t.stopTokenIds()).contains(151645, 151643); // <|im_end|>, <|endoftext|>
        assertThat(t.encodePrompt("Hi")).containsExactly(t.tokenizer().encode("Hi", false, true)); // Qwen adds no BOS
        assertThat(t.reasoning(rendered).parse("<think>\n\n</think>\n\nHello").content()).isEqualTo("Hello");
    }

    @Test
    void addBosTokenFromTheTokenizerConfigIsHonoured() throws Exception {
        ModelText ds = ModelText.load(SharedFiles.require("tokenizers/deepseek_v3")).orElseThrow();
        int bos = ds.tokenizer().tokenId(ds.tokenizer().bosToken()).orElseThrow();
        assertThat(ds.encodePrompt("Hello")[0]).isEqualTo(bos);
        assertThat(ds.encodePrompt("Hello")).hasSize(ds.tokenizer().encode("Hello", true, true).length + 1);
        ModelText mistral = ModelText.load(SharedFiles.require("tokenizers/mistral-v0.1")).orElseThrow();
        int[] ids = mistral.encodePrompt("Hello");
        assertThat(ids[0]).isEqualTo(1);
        assertThat(ids[1]).isNotEqualTo(1); // post-processor already adds BOS: not twice
    }

    @Test
    void noTokenizerMeansEmptyAndNoTemplateIsAClearError(@TempDir Path tmp) throws Exception {
        assertThat(ModelText.load(tmp)).isEmpty();
        Files.copy(SharedFiles.require("tokenizers/mistral-v0.1/tokenizer.json"), tmp.resolve("tokenizer.json"));
        ModelText t = ModelText.load(tmp).orElseThrow();
        assertThatThrownBy(() -> t.renderChat(List.of(Map.of("role", "user", "content", "x")), null, true, Map.of()))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("no chat template");
    }
}
