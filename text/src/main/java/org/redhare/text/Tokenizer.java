package org.redhare.text;

import java.util.OptionalInt;

/**
 * Text ↔ token ids, matching the Hugging Face {@code tokenizers} library (for tokenizer.json) or llama.cpp
 * (for GGUF vocabularies). Implementations are immutable and safe to share between threads.
 */
public interface Tokenizer {
    /** ids for text; addSpecialTokens applies the post-processor (e.g. BOS); parseSpecial matches special added tokens in the text. */
    int[] encode(String text, boolean addSpecialTokens, boolean parseSpecial);

    /** The text of ids, as Hugging Face's {@code decode}; skipSpecialTokens drops special added tokens. */
    String decode(int[] ids, boolean skipSpecialTokens);

    /** A fresh streaming decoder. */
    Detokenizer detokenizer(boolean skipSpecialTokens);

    int vocabSize();

    /** The raw vocabulary entry (e.g. "Ġthe", "▁the", "&lt;0x0A&gt;"); throws for an id outside the vocabulary. */
    String tokenString(int id);

    OptionalInt tokenId(String tokenString);

    /** Special added tokens (skipped by skipSpecialTokens). */
    boolean isSpecial(int id);

    /** From tokenizer_config.json / GGUF; null when none. */
    String bosToken();

    /** From tokenizer_config.json / GGUF; null when none. */
    String eosToken();
}
