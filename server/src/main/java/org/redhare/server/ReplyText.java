package org.redhare.server;

import java.util.List;
import org.redhare.text.Detokenizer;
import org.redhare.text.template.ReasoningParser;
import org.redhare.text.tools.ToolCall;
import org.redhare.text.tools.ToolCallParser;

/**
 * Generated token ids to reply text, one token at a time: UTF-8-safe detokenizing, then stop strings
 * (held back until they are decided, so they never leak), then the reasoning/answer split of thinking
 * models, then tool calls in the answer (held back while they may be one). Concatenating every delta gives the same
 * text and calls as processing the whole reply at once.
 */
final class ReplyText {
    /** New text of one step (both parts "" when there is nothing to send yet) and the tool calls completed in it. */
    record Delta(String content, String reasoning, List<ToolCall> toolCalls) {
        static final Delta NONE = new Delta("", "", List.of());

        Delta(String content, String reasoning) {
            this(content, reasoning, List.of());
        }

        boolean isEmpty() {
            return content.isEmpty() && reasoning.isEmpty() && toolCalls.isEmpty();
        }
    }

    private final Detokenizer decoder;
    private final StopMatcher stop;
    private final ReasoningParser.Stream reasoning; // null: no split (completions)
    private final ToolCallParser.Stream toolCalls;  // null: no tool calls asked for

    ReplyText(Detokenizer decoder, List<String> stops, ReasoningParser.Stream reasoning) {
        this(decoder, stops, reasoning, null);
    }

    ReplyText(Detokenizer decoder, List<String> stops, ReasoningParser.Stream reasoning, ToolCallParser.Stream toolCalls) {
        this.decoder = decoder;
        this.stop = new StopMatcher(stops);
        this.reasoning = reasoning;
        this.toolCalls = toolCalls;
    }

    /** Whether a stop string has ended the reply; later pushes return nothing. */
    boolean stopped() {
        return stop.stopped();
    }

    Delta push(int id) {
        if (stop.stopped()) {
            return Delta.NONE;
        }
        return split(stop.push(decoder.push(id)), false);
    }

    /** The generation ended: whatever the decoder, the stop matcher and the splitter still hold. */
    Delta finish() {
        String tail = "";
        if (!stop.stopped()) {
            tail = stop.push(decoder.flush());
            tail += stop.flush();
        }
        return split(tail, true);
    }

    private Delta split(String text, boolean last) {
        String content;
        String thought;
        if (reasoning == null) {
            content = text;
            thought = "";
        } else {
            ReasoningParser.Delta d = reasoning.feed(text);
            content = d.contentDelta();
            thought = d.reasoningDelta();
            if (last) {
                ReasoningParser.Delta f = reasoning.finish();
                content += f.contentDelta();
                thought += f.reasoningDelta();
            }
        }
        if (toolCalls == null) {
            return content.isEmpty() && thought.isEmpty() ? Delta.NONE : new Delta(content, thought);
        }
        ToolCallParser.Delta t = toolCalls.feed(content);
        if (!last) {
            return new Delta(t.content(), thought, t.calls());
        }
        ToolCallParser.Delta f = toolCalls.finish();
        List<ToolCall> calls = new java.util.ArrayList<>(t.calls());
        calls.addAll(f.calls());
        return new Delta(t.content() + f.content(), thought, List.copyOf(calls));
    }
}
