package org.redhare.text;

/**
 * Streaming decoder for one sequence: feed ids one at a time, get text that will not change any more.
 * Concatenating every {@link #push} result and then {@link #flush()} equals {@link Tokenizer#decode} of all ids.
 * Not thread-safe (one per sequence).
 */
public interface Detokenizer {
    /** Feed one id; returns the text that is now final (never splits a UTF-8 character; may be ""). */
    String push(int id);

    /** End of stream: whatever is left (incomplete bytes become U+FFFD as HF does). */
    String flush();
}
