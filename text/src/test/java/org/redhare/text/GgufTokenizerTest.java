package org.redhare.text;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.redhare.core.testing.SharedFiles;

/** GGUF vocabularies: the tiny stories260K SPM vocabulary and its golden generation, BOS/EOS from metadata. */
class GgufTokenizerTest {

    @Test
    void stories260kGoldenTextDecodesAndEncodes() throws IOException {
        JsonNode golden = new ObjectMapper().readTree(SharedFiles.require("models/stories260K.golden.json").toFile());
        Tokenizer tok = Tokenizers.load(SharedFiles.require("models/stories260K.gguf"));
        assertThat(tok.vocabSize()).isEqualTo(512);
        int[] ids = TokenizerConformanceTest.ints(golden.path("token_ids"));
        // The golden text is llama2.c's raw piece concatenation: "▁" as space, byte tokens left as "<0x0A>", no BOS.
        String expected = golden.path("text").asText().replace("<0x0A>", "\n").substring(1);
        String text = tok.decode(ids, true);
        assertThat(text).isEqualTo(expected);
        assertThat(tok.decode(ids, false)).isEqualTo("<s> " + expected);
        // add_bos_token (default true for llama vocabularies) puts id 1 first; the rest is the generated ids.
        assertThat(tok.encode(text, true, false)).containsExactly(ids);
        assertThat(tok.encode(text, false, false)).containsExactly(Arrays.copyOfRange(ids, 1, ids.length));
        assertThat(TokenizerConformanceTest.stream(tok, ids, true)).isEqualTo(expected);
    }

    @Test
    void specialTokensAndNamesComeFromMetadata() throws IOException {
        Tokenizer spm = Tokenizers.load(SharedFiles.require("conformance/tokenizers/llama.cpp/ggml-vocab-llama-spm.gguf"));
        assertThat(spm.bosToken()).isEqualTo("<s>");
        assertThat(spm.eosToken()).isEqualTo("</s>");
        assertThat(spm.tokenId("<s>")).hasValue(1);
        assertThat(spm.isSpecial(1)).isTrue();
        assertThat(spm.isSpecial(spm.tokenId("▁the").getAsInt())).isFalse();
        assertThat(spm.tokenString(13)).isEqualTo("<0x0A>");
        // parse_special decides whether "<s>" in the text is the control token or plain characters.
        assertThat(spm.encode("<s>", false, true)).containsExactly(1);
        assertThat(spm.encode("<s>", false, false)).doesNotContain(1);
        assertThat(spm.encode("hi", true, false)[0]).isEqualTo(1);
        assertThat(spm.decode(spm.encode("Hello\nworld 😀", false, false), false)).isEqualTo("Hello\nworld 😀");

        Tokenizer gpt2 = Tokenizers.load(SharedFiles.require("conformance/tokenizers/llama.cpp/ggml-vocab-gpt-2.gguf"));
        assertThat(gpt2.eosToken()).isEqualTo("<|endoftext|>");
        assertThat(gpt2.decode(gpt2.encode(" Hello, world! 123 😀", false, true), false)).isEqualTo(" Hello, world! 123 😀");
        assertThat(gpt2.tokenString(gpt2.encode(" the", false, true)[0])).isEqualTo("Ġthe");
    }
}
