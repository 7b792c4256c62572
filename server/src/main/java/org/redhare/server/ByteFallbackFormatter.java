package org.redhare.server;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Text for models without a tokenizer (the random-weight fixtures): text in is its UTF-8 bytes as token
 * ids 0..255; ids 0..255 out are bytes again and every other id reads {@code <id>}. Chat messages are
 * rendered as {@code role: content} lines. It keeps the whole API usable, and testable, on such models;
 * a model with its own tokenizer never uses it.
 */
public final class ByteFallbackFormatter implements PromptFormatter {
    private final int vocabSize;

    public ByteFallbackFormatter(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    @Override
    public int[] encode(String text) {
        if (vocabSize < 256) {
            throw ApiException.invalid("prompt", "this model has no tokenizer and a vocabulary too small for bytes: send the prompt as an array of token ids");
        }
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            ids[i] = b[i] & 0xFF;
        }
        return ids;
    }

    @Override
    public ChatPrompt renderChat(List<Map<String, Object>> messages, List<Map<String, Object>> tools, Map<String, Object> templateArgs) {
        StringBuilder sb = new StringBuilder();
        for (Map<String, Object> m : messages) {
            sb.append(m.get("role")).append(": ").append(m.getOrDefault("content", "")).append('\n');
        }
        sb.append("assistant: ");
        String text = sb.toString();
        return new ChatPrompt(encode(text), text, null);
    }

    @Override
    public Decoder decoder() {
        return new Decoder() {
            private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
            private final ByteBuffer pending = ByteBuffer.allocate(8);

            @Override
            public String push(int id) {
                if (id >= 256) {
                    return drain(true) + "<" + id + ">";
                }
                pending.put((byte) id);
                return drain(false);
            }

            @Override
            public String flush() {
                return drain(true);
            }

            /** Decodes the complete characters held; {@code all} also turns a dangling partial character into U+FFFD. */
            private String drain(boolean all) {
                pending.flip();
                CharBuffer out = CharBuffer.allocate(16);
                utf8.decode(pending, out, all);
                if (all) {
                    utf8.flush(out);
                    pending.position(pending.limit());
                    utf8.reset();
                }
                pending.compact();
                if (pending.position() >= 4) { // never a valid prefix: give it up as U+FFFD
                    pending.clear();
                    out.put('\uFFFD');
                }
                out.flip();
                return out.toString();
            }
        };
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            if (id < 256) {
                bytes.write(id);
            } else {
                sb.append(bytes.toString(StandardCharsets.UTF_8)).append('<').append(id).append('>');
                bytes.reset();
            }
        }
        return sb.append(bytes.toString(StandardCharsets.UTF_8)).toString();
    }

    @Override
    public String tokenText(int id) {
        return id < 256 ? (id < 128 ? String.valueOf((char) id) : "\\x" + Integer.toHexString(id)) : "<" + id + ">";
    }

    @Override
    public Set<Integer> stopTokenIds() {
        return Set.of();
    }

    @Override
    public String describe() {
        return "no tokenizer: UTF-8 bytes as token ids";
    }
}
