package org.redhare.text.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Hugging Face decoders: turn token strings back into text pieces; the pipeline concatenates the result. */
public interface TokenDecoder {
    List<String> decode(List<String> tokens);

    /** Byte-level: every char stands for a byte; all bytes are decoded as one UTF-8 string (lossy). */
    record ByteLevel() implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String t : tokens) {
                int n = t.length();
                boolean allBytes = true;
                for (int i = 0; i < n; i++) {
                    if (ByteLevelAlphabet.byteOf(t.charAt(i)) < 0) {
                        allBytes = false;
                        break;
                    }
                }
                if (allBytes) {
                    for (int i = 0; i < n; i++) {
                        bytes.write(ByteLevelAlphabet.byteOf(t.charAt(i)));
                    }
                } else {
                    // Tokens outside the byte alphabet (added tokens such as "<｜end▁of▁sentence｜>") stay as they are.
                    bytes.writeBytes(t.getBytes(StandardCharsets.UTF_8));
                }
            }
            return List.of(Utf8.decodeLossy(bytes.toByteArray()));
        }
    }

    record Replace(String pattern, String content) implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) out.add(t.replace(pattern, content));
            return out;
        }
    }

    /** "&lt;0xXX&gt;" tokens become bytes; a run of them that is not valid UTF-8 becomes one U+FFFD per byte. */
    record ByteFallback() implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            ByteArrayOutputStream pending = new ByteArrayOutputStream();
            for (String t : tokens) {
                int b = byteToken(t);
                if (b >= 0) {
                    pending.write(b);
                    continue;
                }
                flush(pending, out);
                out.add(t);
            }
            flush(pending, out);
            return out;
        }

        private static void flush(ByteArrayOutputStream pending, List<String> out) {
            if (pending.size() == 0) return;
            byte[] b = pending.toByteArray();
            String s = Utf8.decodeStrict(b);
            if (s != null) {
                out.add(s);
            } else {
                for (int i = 0; i < b.length; i++) out.add("\uFFFD");
            }
            pending.reset();
        }

        static int byteToken(String t) {
            if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') return -1;
            int hi = Character.digit(t.charAt(3), 16);
            int lo = Character.digit(t.charAt(4), 16);
            return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }
    }

    record Fuse() implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** Removes up to start leading and stop trailing copies of content from every token. */
    record Strip(char content, int start, int stop) implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                int s = 0;
                while (s < start && s < t.length() && t.charAt(s) == content) s++;
                int e = t.length();
                int cut = 0;
                while (cut < stop && e > s && t.charAt(e - 1) == content) {
                    e--;
                    cut++;
                }
                out.add(t.substring(s, e));
            }
            return out;
        }
    }

    /** Metaspace: the replacement char becomes a space; the first token loses its leading space when prefixed. */
    record Metaspace(char replacement, boolean stripFirst) implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i).replace(replacement, ' ');
                if (i == 0 && stripFirst && t.startsWith(" ")) t = t.substring(1);
                out.add(t);
            }
            return out;
        }
    }

    record Sequence(List<TokenDecoder> steps) implements TokenDecoder {
        @Override
        public List<String> decode(List<String> tokens) {
            for (TokenDecoder d : steps) tokens = d.decode(tokens);
            return tokens;
        }
    }
}
