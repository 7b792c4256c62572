package org.redhare.text.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Decoder pieces against the behaviour of the Rust library they mirror. */
class DecodersTest {
    private static byte[] bytes(int... b) {
        byte[] r = new byte[b.length];
        for (int i = 0; i < b.length; i++) r[i] = (byte) b[i];
        return r;
    }

    @Test
    void lossyUtf8ReplacesEachMaximalInvalidSubpartOnce() {
        // Rust String::from_utf8_lossy results
        assertThat(Utf8.decodeLossy(bytes('H', 0xF0, 0x90, 0x80, 'W'))).isEqualTo("H\uFFFDW");
        assertThat(Utf8.decodeLossy(bytes(0xE0, 0x80))).isEqualTo("\uFFFD\uFFFD");
        assertThat(Utf8.decodeLossy(bytes(0xED, 0xA0, 0x80))).isEqualTo("\uFFFD\uFFFD\uFFFD");
        assertThat(Utf8.decodeLossy(bytes(0xF4, 0x90, 0x80, 0x80))).isEqualTo("\uFFFD\uFFFD\uFFFD\uFFFD");
        assertThat(Utf8.decodeLossy(bytes(0xC0, 0xAF))).isEqualTo("\uFFFD\uFFFD");
        assertThat(Utf8.decodeLossy(bytes(0xF0, 0x9F, 0x98, 0x80, 0xE4, 0xB8))).isEqualTo("😀\uFFFD");
        assertThat(Utf8.decodeLossy("ok é 中 😀".getBytes(java.nio.charset.StandardCharsets.UTF_8))).isEqualTo("ok é 中 😀");
    }

    @Test
    void byteFallbackGroupsByteTokensAndReplacesInvalidRunsPerByte() {
        TokenDecoder d = new TokenDecoder.ByteFallback();
        assertThat(d.decode(List.of("a", "<0xE4>", "<0xB8>", "<0xAD>", "b"))).containsExactly("a", "中", "b");
        assertThat(d.decode(List.of("<0xE4>", "<0xB8>", "x"))).containsExactly("\uFFFD", "\uFFFD", "x");
        assertThat(d.decode(List.of("<0x0A>"))).containsExactly("\n");
        assertThat(d.decode(List.of("<0xZZ>", "<0x0a>"))).containsExactly("<0xZZ>", "\n");
    }

    @Test
    void byteLevelMapsTheGpt2AlphabetAndKeepsOtherTokens() {
        TokenDecoder d = new TokenDecoder.ByteLevel();
        assertThat(d.decode(List.of("Hello", "Ġworld", "Ċ"))).containsExactly("Hello world\n");
        assertThat(d.decode(List.of("<｜end▁of▁sentence｜>", "Ġx"))).containsExactly("<｜end▁of▁sentence｜> x");
        assertThat(ByteLevelAlphabet.encode("a b\n")).isEqualTo("aĠbĊ");
        for (int b = 0; b < 256; b++) assertThat(ByteLevelAlphabet.byteOf(ByteLevelAlphabet.charOf(b))).isEqualTo(b);
    }

    @Test
    void stripAndMetaspace() {
        assertThat(new TokenDecoder.Strip(' ', 1, 0).decode(List.of("  a ", " b"))).containsExactly(" a ", "b");
        assertThat(new TokenDecoder.Metaspace('▁', true).decode(List.of("▁Hi", "▁there"))).containsExactly("Hi", " there");
    }
}
