package org.redhare.text.tokenizer;

/** A token matched in the text before the model runs (Hugging Face added_tokens; GGUF control/user-defined). */
public record AddedToken(int id, String content, boolean special, boolean normalized,
                         boolean lstrip, boolean rstrip, boolean singleWord) {}
