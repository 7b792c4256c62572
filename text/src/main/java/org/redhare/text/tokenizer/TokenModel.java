package org.redhare.text.tokenizer;

/** The model step: one pre-tokenized piece → token ids. */
public interface TokenModel {
    void encode(String piece, IntList out);
}
