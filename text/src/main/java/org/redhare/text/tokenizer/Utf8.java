package org.redhare.text.tokenizer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** UTF-8 decoding as Rust does it: lossy (one U+FFFD per maximal invalid subsequence) or strict. */
final class Utf8 {
    private Utf8() {}

    /** Like Rust's String::from_utf8_lossy. */
    static String decodeLossy(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length);
        int i = 0;
        int n = b.length;
        while (i < n) {
            int c = b[i] & 0xFF;
            if (c < 0x80) {
                sb.append((char) c);
                i++;
                continue;
            }
            int need;
            int lo = 0x80;
            int hi = 0xBF;
            int cp;
            if (c >= 0xC2 && c <= 0xDF) {
                need = 1;
                cp = c & 0x1F;
            } else if (c >= 0xE0 && c <= 0xEF) {
                need = 2;
                cp = c & 0x0F;
                if (c == 0xE0) lo = 0xA0;
                if (c == 0xED) hi = 0x9F;
            } else if (c >= 0xF0 && c <= 0xF4) {
                need = 3;
                cp = c & 0x07;
                if (c == 0xF0) lo = 0x90;
                if (c == 0xF4) hi = 0x8F;
            } else {
                sb.append('\uFFFD');
                i++;
                continue;
            }
            int j = i + 1;
            boolean ok = true;
            for (int k = 0; k < need; k++, j++) {
                if (j >= n) {
                    ok = false;
                    break;
                }
                int cc = b[j] & 0xFF;
                int l = k == 0 ? lo : 0x80;
                int h = k == 0 ? hi : 0xBF;
                if (cc < l || cc > h) {
                    ok = false;
                    break;
                }
                cp = (cp << 6) | (cc & 0x3F);
            }
            if (ok) {
                sb.appendCodePoint(cp);
                i = j;
            } else {
                // The maximal prefix of a valid sequence (bytes i..j-1) is replaced by one U+FFFD.
                sb.append('\uFFFD');
                i = j;
            }
        }
        return sb.toString();
    }

    /** The string, or null when the bytes are not valid UTF-8. */
    static String decodeStrict(byte[] b) {
        try {
            CharBuffer cb = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b));
            return cb.toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** True when the bytes end inside a multi-byte sequence that more bytes could complete. */
    static boolean endsIncomplete(byte[] b, int len) {
        for (int back = 1; back <= 3 && back <= len; back++) {
            int c = b[len - back] & 0xFF;
            if (c < 0x80) return false;
            if (c >= 0xC0) {
                int need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
                return back < need;
            }
        }
        return false;
    }
}
