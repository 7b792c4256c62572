package org.redhare.server;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.redhare.text.Detokenizer;
import org.redhare.text.template.ReasoningParser;
import org.redhare.text.tools.ToolCallParser;
import org.redhare.text.json.JsonSchemaGrammar;

/**
 * Everything the server needs from the model's text side: tokenizer, chat template, reasoning split.
 * {@link ModelTextFormatter} wraps the model's own tokenizer and template; {@link TokenIdsOnlyFormatter}
 * serves models that ship no tokenizer, which can then only take token-id prompts and return token ids.
 */
public interface PromptFormatter {

    /** Whether text can be turned into tokens and back; without a tokenizer only token ids work. */
    boolean hasTokenizer();

    /** Tokenizes a completions prompt (special tokens such as BOS added as the model expects). */
    int[] encode(String text);

    /** Renders chat messages with the model's template and tokenizes them, ready for generation. */
    ChatPrompt renderChat(List<Map<String, Object>> messages, List<Map<String, Object>> tools, Map<String, Object> templateArgs);

    /**
     * As {@link #renderChat(List, List, Map)}, with the request's {@code tool_choice}: the prompt carries the tools the
     * choice allows, and the result a parser for the calls in the reply when the model's format is known.
     */
    default ChatPrompt renderChat(List<Map<String, Object>> messages, List<Map<String, Object>> tools, Map<String, Object> templateArgs,
                                  ToolChoice toolChoice) {
        return renderChat(messages, toolChoice.mode() == ToolChoice.Mode.NONE ? null : tools, templateArgs);
    }

    /** A fresh UTF-8-safe streaming decoder for one sequence (special tokens skipped). */
    Detokenizer decoder();

    /** As {@link #decoder()}, but these special tokens come out as their text (tool-call markers). */
    default Detokenizer decoder(List<String> keepSpecial) {
        return decoder();
    }

    /** Decodes a whole sequence (special tokens skipped). */
    String decode(int[] ids);

    /** The text of one token as logprobs report it. */
    String tokenText(int id);

    /** The exact bytes of one token (a token may hold part of a UTF-8 character, which its text cannot show). */
    byte[] tokenBytes(int id);

    /** Whether {@code id} is a special token (BOS, EOS, end of turn: markup, not text). */
    default boolean isSpecial(int id) {
        return false;
    }

    /** How many token ids the tokenizer knows (0 without one). */
    default int vocabularySize() {
        return 0;
    }

    /** Tokens that end a generation (EOS, end of turn). */
    Set<Integer> stopTokenIds();

    /** A short description for logs: which tokenizer and template are in use. */
    String describe();

    /**
     * A rendered chat prompt.
     *
     * @param reasoning splits each reply into reasoning and answer (a fresh stream per choice)
     * @param toolCalls finds tool calls in the answer; null when the request allows none or the model's format is unknown
     */
    /**
     * A tool call's grammar in the model's format: from the {@code open} marker, JSON that {@code grammar} describes (the
     * request's tools and their schemas); {@code close} is the marker that ends it when the grammar has one (else "").
     * With {@code atReplyStart} (Llama 3's JSON calls, which have no marker) a call is the answer's beginning:
     * {@code open} is the text a call starts with there ("{"), and it is the JSON's own first bytes. {@code specials}
     * are the special tokens' texts a call may contain besides {@code close} (DeepSeek-V3's {@code <｜tool▁sep｜>}); no
     * other special token may come inside a call (an end of turn inside a JSON string would end the reply).
     */
    record ToolCallGrammar(JsonSchemaGrammar grammar, String open, String close, boolean atReplyStart, List<String> specials) {
        ToolCallGrammar(JsonSchemaGrammar grammar, String open, String close) {
            this(grammar, open, close, false, List.of());
        }

        ToolCallGrammar(JsonSchemaGrammar grammar, String open, String close, boolean atReplyStart) {
            this(grammar, open, close, atReplyStart, List.of());
        }
    }

    /** @param toolCallGrammar what tool calls may be, or null (no tools, or a format without a grammar) */
    record ChatPrompt(int[] ids, String text, ReasoningParser reasoning, ToolCallParser toolCalls, ToolCallGrammar toolCallGrammar) {
        public ChatPrompt(int[] ids, String text, ReasoningParser reasoning) {
            this(ids, text, reasoning, null, null);
        }

        public ChatPrompt(int[] ids, String text, ReasoningParser reasoning, ToolCallParser toolCalls) {
            this(ids, text, reasoning, toolCalls, null);
        }
    }
}
