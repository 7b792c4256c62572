package org.redhare.server;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.redhare.engine.TokenConstraint;
import org.redhare.text.json.JsonMatcher;
import org.redhare.text.json.JsonSchemaGrammar;
import org.redhare.text.template.ReasoningParser;

/**
 * Well-formed tool calls (Hermes style, {@code <tool_call>{"name": ..., "arguments": {...}}</tool_call>}, or Mistral's
 * {@code [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]}): the reply is
 * free text until the model opens a call; from there to the call's end its tokens must write a call to one of the
 * request's tools with arguments of that tool's schema (a lazy grammar, as llama.cpp's). Then the text is free again,
 * for more calls or an answer. A reply whose prompt already opened a call (a forced {@code tool_choice}) starts inside it.
 * A think block (opened by the prompt or by the reply's first token) is free: the marker means nothing there. Llama 3's
 * JSON calls have no marker: an answer that begins with "{" is a call (as the parser reads it), and its grammar holds
 * from that character on.
 */
final class ToolCallConstraint implements TokenConstraint {
    private final JsonSchemaGrammar grammar;
    private final JsonConstraint.Vocabulary vocab;
    private final MarkerWatch open;    // the marker that opens a call anywhere in free text (null: calls begin the answer)
    private final byte[] startsCall;   // with open null: the bytes a call begins with at the answer's start
    private boolean atStart = true;    // nothing but whitespace of the answer so far
    private final byte[][] specials;   // special tokens' texts a call may contain: its closing marker and the format's own
    private JsonMatcher call; // null outside a call
    private int[] specialTokens; // the special tokens that write those texts, found when first needed
    private final ReasoningGate gate; // a think block is free text: calls come in the answer, as the parser reads them

    ToolCallConstraint(PromptFormatter.ToolCallGrammar g, JsonConstraint.Vocabulary vocab, String prefill) {
        this(g, vocab, prefill, null);
    }

    ToolCallConstraint(PromptFormatter.ToolCallGrammar g, JsonConstraint.Vocabulary vocab, String prefill, ReasoningParser reasoning) {
        this.grammar = g.grammar();
        this.vocab = vocab;
        this.open = g.atReplyStart() ? null : new MarkerWatch(g.open());
        this.startsCall = g.open().getBytes(StandardCharsets.UTF_8);
        java.util.List<byte[]> sp = new java.util.ArrayList<>();
        if (!g.close().isEmpty()) {
            sp.add(g.close().getBytes(StandardCharsets.UTF_8));
        }
        g.specials().forEach(t -> sp.add(t.getBytes(StandardCharsets.UTF_8)));
        this.specials = sp.toArray(byte[][]::new);
        boolean prefilled = prefill != null && !prefill.isEmpty();
        this.gate = new ReasoningGate(prefilled ? null : reasoning); // a prompt that opened a call left no room to think
        if (prefilled) {
            see(prefill.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** A token's bytes inside a call: text tokens, and the call's closing marker even where it is a special token. */
    private byte[] inCall(int token) {
        byte[] b = vocab.bytes()[token];
        if (b == null) {
            return null;
        }
        return !vocab.special()[token] || isCallSpecial(b) ? b : null;
    }

    private boolean isCallSpecial(byte[] b) {
        for (byte[] s : specials) {
            if (Arrays.equals(b, s)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean allows(int token) {
        if (call == null) {
            // free text; but a token that opens a call must also begin it well
            byte[] b = vocab.bytes()[token];
            if (b != null && gate.active()) {
                byte[] after = gate.peek(b);
                if (after == ReasoningGate.FREE) {
                    return true; // reasoning
                }
                b = after; // the bytes after </think> (if the token ends the reasoning) are the answer's first
            }
            byte[] rest = b == null ? null : callStart(b, false);
            return rest == null || rest.length == 0 || grammar.matcher().allows(rest);
        }
        byte[] b = inCall(token);
        return b != null && call.allows(b);
    }

    @Override
    public int allowed(boolean[] out, int vocabSize) {
        if (call == null) {
            return TokenConstraint.super.allowed(out, vocabSize);
        }
        int n = call.allowed(vocab.textTrie(), out); // text tokens through the trie, then the call's special tokens
        if (specialTokens == null) {
            specialTokens = java.util.stream.IntStream.range(0, Math.min(vocabSize, vocab.bytes().length))
                    .filter(t -> vocab.special()[t] && vocab.bytes()[t] != null && isCallSpecial(vocab.bytes()[t])).toArray();
        }
        for (int t : specialTokens) {
            if (!out[t] && call.allows(vocab.bytes()[t])) {
                out[t] = true;
                n++;
            }
        }
        return n;
    }

    @Override
    public void accept(int token) {
        if (call != null) {
            call.accept(inCall(token));
            if (call.complete()) {
                call = null;
            }
            return;
        }
        byte[] b = vocab.bytes()[token];
        if (b != null && gate.active()) {
            b = gate.accept(b);
            if (b == ReasoningGate.FREE) {
                return;
            }
        }
        if (b != null) {
            see(b);
        }
    }

    /**
     * Where a call begins in these bytes of free text: the call's first bytes (what follows the opening marker, or for a
     * call at the answer's start the bytes from its first character on), or null when they begin none.
     */
    private byte[] callStart(byte[] b, boolean take) {
        if (open != null) {
            return take ? open.feed(b) : open.peek(b);
        }
        if (!atStart) {
            return null;
        }
        int i = 0;
        while (i < b.length && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) {
            i++;
        }
        if (i == b.length) {
            return null; // still nothing but whitespace
        }
        if (take) {
            atStart = false;
        }
        boolean opens = b.length - i >= startsCall.length && Arrays.equals(b, i, i + startsCall.length, startsCall, 0, startsCall.length);
        return opens ? Arrays.copyOfRange(b, i, b.length) : null;
    }

    /** Free text: watches for the call's opening marker; what follows it in the same bytes begins the call. */
    private void see(byte[] b) {
        byte[] rest = callStart(b, true);
        if (rest == null) {
            return;
        }
        call = grammar.matcher();
        if (rest.length > 0 && !call.accept(rest)) {
            call = null; // a prompt's prefill the grammar cannot follow (allows() keeps generated text from this): leave it free
        }
    }

    @Override
    public boolean complete() {
        return false;
    }
}
