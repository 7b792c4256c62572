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
 * prompt opened a think block, the model reasons freely first and the JSON starts after {@code </think>}.
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

    private final JsonMatcher matcher;
    private final Vocabulary vocab;
    private MarkerWatch reasoningEnd; // while the model reasons: watches for </think>; null once the JSON has begun (or none)

    /**
     * A constraint for one generation: {@code grammar}'s JSON, written in the tokens of {@code formatter}'s tokenizer
     * ({@link PromptFormatters#forModel}), for a model of {@code modelVocab} logits; {@code reasoningFirst} when the
     * prompt opened a think block.
     */
    public JsonConstraint(JsonSchemaGrammar grammar, PromptFormatter formatter, int modelVocab, boolean reasoningFirst) {
        this.matcher = grammar.matcher();
        this.vocab = vocabulary(formatter, modelVocab);
        this.reasoningEnd = reasoningFirst ? new MarkerWatch(ReasoningParser.closeTag()) : null;
    }

    private boolean reasoning() {
        return reasoningEnd != null;
    }

    @Override
    public boolean allows(int token) {
        if (reasoning()) {
            // free reasoning; but a token that ends it must begin the JSON well with what follows the tag
            byte[] b = vocab.bytes()[token];
            byte[] rest = b == null ? null : reasoningEnd.peek(b);
            return rest == null || rest.length == 0 || matcher.allows(rest);
        }
        byte[] b = vocab.text(token);
        return b != null && matcher.allows(b);
    }

    @Override
    public int allowed(boolean[] out, int vocab) {
        return reasoning() ? TokenConstraint.super.allowed(out, vocab) : matcher.allowed(this.vocab.textTrie(), out);
    }

    @Override
    public void accept(int token) {
        if (!reasoning()) {
            matcher.accept(vocab.text(token));
            return;
        }
        byte[] b = vocab.bytes()[token];
        byte[] rest = reasoningEnd.feed(b != null ? b : new byte[0]);
        if (rest != null) {
            reasoningEnd = null; // the JSON starts here: what follows the tag in this token is its first bytes
            matcher.accept(rest);
        }
    }

    @Override
    public boolean complete() {
        return !reasoning() && matcher.complete();
    }
}
