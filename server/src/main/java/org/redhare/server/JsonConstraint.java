package org.redhare.server;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import org.redhare.engine.TokenConstraint;
import org.redhare.text.json.JsonMatcher;
import org.redhare.text.json.JsonSchemaGrammar;
import org.redhare.text.json.TokenTrie;
import org.redhare.text.template.ReasoningParser;

/**
 * A request's {@code response_format} as a token constraint: each token's bytes must continue the JSON its grammar
 * describes; special tokens (end of turn included) never do, and the generation ends when the JSON is whole. When the
 * prompt opened a think block, or the reply opens one with its first token, the model reasons freely first and the
 * JSON starts after {@code </think>} ({@link ReasoningGate}).
 */
public final class JsonConstraint implements TokenConstraint {
    /** Each formatter's token bytes, built once (a vocabulary of 150k tokens takes a fraction of a second). */
    private static final Map<PromptFormatter, Vocabulary> VOCABULARIES = Collections.synchronizedMap(new WeakHashMap<>());

    /** The bytes of every token the tokenizer knows (null beyond it), which are special, and the text tokens' trie. */
    record Vocabulary(byte[][] bytes, boolean[] special, TokenTrie textTrie) {
        /** The bytes of {@code token} if it writes text (not special), else null. */
        byte[] text(int token) {
            return special[token] ? null : bytes[token];
        }
    }

    static Vocabulary vocabulary(PromptFormatter f, int modelVocab) {
        Vocabulary v = VOCABULARIES.get(f);
        if (v != null && v.bytes().length == modelVocab) {
            return v;
        }
        byte[][] bytes = new byte[modelVocab][];
        boolean[] special = new boolean[modelVocab];
        int known = Math.min(modelVocab, f.vocabularySize());
        for (int id = 0; id < known; id++) {
            special[id] = f.isSpecial(id);
            byte[] b = f.tokenBytes(id);
            bytes[id] = b.length > 0 ? b : null;
        }
        byte[][] text = new byte[modelVocab][];
        for (int id = 0; id < modelVocab; id++) {
            text[id] = special[id] ? null : bytes[id];
        }
        v = new Vocabulary(bytes, special, TokenTrie.of(text));
        VOCABULARIES.put(f, v);
        return v;
    }

    private final JsonSchemaGrammar grammar;
    private JsonMatcher matcher;
    private final Vocabulary vocab;
    private final ReasoningGate gate;

    /**
     * A constraint for one generation: {@code grammar}'s JSON, written in the tokens of {@code formatter}'s tokenizer
     * ({@link PromptFormatters#forModel}), for a model of {@code modelVocab} logits; {@code reasoningFirst} when the
     * prompt opened a think block.
     */
    public JsonConstraint(JsonSchemaGrammar grammar, PromptFormatter formatter, int modelVocab, boolean reasoningFirst) {
        this(grammar, formatter, modelVocab, new ReasoningGate(reasoningFirst));
    }

    /**
     * As above, the reasoning told by the chat prompt's parser: free reasoning first when the prompt opened a think
     * block, or when the reply's first token opens one and the prompt did not close one (Qwen3 thinks, then answers).
     */
    public JsonConstraint(JsonSchemaGrammar grammar, PromptFormatter formatter, int modelVocab, ReasoningParser reasoning) {
        this(grammar, formatter, modelVocab, new ReasoningGate(reasoning));
    }

    private JsonConstraint(JsonSchemaGrammar grammar, PromptFormatter formatter, int modelVocab, ReasoningGate gate) {
        this.grammar = grammar;
        this.gate = gate;
        // after reasoning the model writes whitespace before its answer ("</think>\n\n"): let it
        this.matcher = gate.reasoning() ? grammar.matcherAfterText() : grammar.matcher();
        this.vocab = vocabulary(formatter, modelVocab);
    }

    @Override
    public boolean allows(int token) {
        if (gate.active()) {
            byte[] all = bytes(token);
            byte[] rest = gate.peek(all);
            if (rest == ReasoningGate.FREE) {
                return true; // free reasoning
            }
            if (rest != all) { // the token ends the reasoning: what follows the tag begins the JSON
                return rest.length == 0 || (gate.reasoning() ? matcher : grammar.matcherAfterText()).allows(rest);
            }
        }
        byte[] b = vocab.text(token);
        return b != null && matcher.allows(b);
    }

    private byte[] bytes(int token) {
        byte[] b = vocab.bytes()[token];
        return b != null ? b : NO_BYTES;
    }

    private static final byte[] NO_BYTES = new byte[0];

    @Override
    public int allowed(boolean[] out, int vocab) {
        return gate.active() ? TokenConstraint.super.allowed(out, vocab) : matcher.allowed(this.vocab.textTrie(), out);
    }

    @Override
    public void accept(int token) {
        if (gate.active()) {
            boolean wasReasoning = gate.reasoning();
            byte[] all = bytes(token);
            byte[] rest = gate.accept(all);
            if (rest != all) {
                if (!wasReasoning) {
                    matcher = grammar.matcherAfterText(); // the reply opened a think block: whitespace may precede the JSON
                }
                if (rest != ReasoningGate.FREE) {
                    matcher.accept(rest); // the JSON starts here: what follows the tag in this token is its first bytes
                }
                return;
            }
        }
        matcher.accept(vocab.text(token));
    }

    @Override
    public boolean complete() {
        return !gate.reasoning() && matcher.complete();
    }
}
