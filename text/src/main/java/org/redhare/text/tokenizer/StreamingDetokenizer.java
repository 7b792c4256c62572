package org.redhare.text.tokenizer;

import org.redhare.text.Detokenizer;
import org.redhare.text.Tokenizer;

/**
 * Incremental decoding by differences, as Hugging Face's DecodeStream: decode a short window (the tokens of the
 * previous emission plus the new ones) and emit what it adds to the previous emission's text, once it does not
 * end in U+FFFD (an incomplete UTF-8 character). Keeping the previous tokens as context lets decoders that look
 * at neighbours (leading-space strip, byte fallback, byte-level) behave as they do on the whole sequence.
 */
final class StreamingDetokenizer implements Detokenizer {
    private final Tokenizer tokenizer;
    private final boolean skipSpecial;
    private final IntList window = new IntList();
    private String prefix = "";
    private int prefixIndex = 0; // tokens of the window that produced prefix

    StreamingDetokenizer(Tokenizer tokenizer, boolean skipSpecial) {
        this.tokenizer = tokenizer;
        this.skipSpecial = skipSpecial;
    }

    @Override
    public String push(int id) {
        if (skipSpecial && tokenizer.isSpecial(id)) return "";
        window.add(id);
        String text = tokenizer.decode(window.toArray(), false);
        if (text.length() > prefix.length() && !text.endsWith("\uFFFD") && text.startsWith(prefix)) {
            String delta = text.substring(prefix.length());
            // Keep the tokens just emitted as the context of the next step.
            IntList kept = new IntList();
            for (int i = prefixIndex; i < window.size(); i++) kept.add(window.get(i));
            window.clear();
            for (int i = 0; i < kept.size(); i++) window.add(kept.get(i));
            prefix = tokenizer.decode(window.toArray(), false);
            prefixIndex = window.size();
            return delta;
        }
        return "";
    }

    @Override
    public String flush() {
        String text = tokenizer.decode(window.toArray(), false);
        String delta;
        if (text.startsWith(prefix)) {
            delta = text.substring(prefix.length());
        } else {
            int common = 0;
            while (common < text.length() && common < prefix.length() && text.charAt(common) == prefix.charAt(common)) common++;
            delta = text.substring(common);
        }
        window.clear();
        prefix = "";
        prefixIndex = 0;
        return delta;
    }
}
