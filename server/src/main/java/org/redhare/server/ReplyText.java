package org.redhare.server;

import java.util.List;
import org.redhare.text.Detokenizer;
import org.redhare.text.template.ReasoningParser;

/**
 * Generated token ids to reply text, one token at a time: UTF-8-safe detokenizing, then stop strings
 * (held back until they are decided, so they never leak), then the reasoning/answer split of thinking
 * models. Concatenating every delta gives the same text as processing the whole reply at once.
 */
final class ReplyText {
    /** New text of one step; both parts are "" when there is nothing to send yet. */
    record Delta(String content, String reasoning) {
        static final Delta NONE = new Delta("", "");

        boolean isEmpty() {
            return content.isEmpty() && reasoning.isEmpty();
        }
    }

    private final Detokenizer decoder;
    private final StopMatcher stop;
    private final ReasoningParser.Stream reasoning; // null: no split (completions)

    ReplyText(Detokenizer decoder, List<String> stops, ReasoningParser.Stream reasoning) {
        this.decoder = decoder;
        this.stop = new StopMatcher(stops);
        this.reasoning = reasoning;
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
        if (reasoning == null) {
            return text.isEmpty() ? Delta.NONE : new Delta(text, "");
        }
        ReasoningParser.Delta d = reasoning.feed(text);
        if (!last) {
            return new Delta(d.contentDelta(), d.reasoningDelta());
        }
        ReasoningParser.Delta f = reasoning.finish();
        return new Delta(d.contentDelta() + f.contentDelta(), d.reasoningDelta() + f.reasoningDelta());
    }
}
