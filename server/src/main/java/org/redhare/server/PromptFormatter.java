package org.redhare.server;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything the server needs from the model's text side: tokenizer, chat template, reasoning split.
 * One implementation wraps the model's own tokenizer and template; {@link ByteFallbackFormatter} serves
 * models that ship neither (test fixtures), so the server works the same way for both.
 */
public interface PromptFormatter {

    /** Tokenizes a completions prompt (special tokens such as BOS added as the model expects). */
    int[] encode(String text);

    /** Renders chat messages with the model's template and tokenizes them, ready for generation. */
    ChatPrompt renderChat(List<Map<String, Object>> messages, List<Map<String, Object>> tools, Map<String, Object> templateArgs);

    /** Decodes streamed token ids into UTF-8-safe text deltas. */
    Decoder decoder();

    /** Decodes a whole sequence (special tokens skipped). */
    String decode(int[] ids);

    /** The text of one token as logprobs report it. */
    String tokenText(int id);

    /** Tokens that end a generation (EOS, end of turn). */
    Set<Integer> stopTokenIds();

    /** A short description for logs and /v1/models: which tokenizer and template are in use. */
    String describe();

    /**
     * A rendered chat prompt.
     *
     * @param reasoning splits the reply into reasoning and answer, or null when the model does not think
     */
    record ChatPrompt(int[] ids, String text, ReasoningSplitter reasoning) {}

    /** Incremental detokenizer: {@code push} returns the text that is complete so far ("" while a character is split). */
    interface Decoder {
        String push(int id);

        String flush();
    }

    /** Splits streamed reply text into reasoning and answer. */
    interface ReasoningSplitter {
        Split feed(String delta);

        Split finish();

        record Split(String reasoning, String content) {}
    }
}
