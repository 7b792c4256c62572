package org.redhare.core.attention;

import java.util.Locale;

/**
 * Element type of the KV cache. F32 is exact; the 16-bit types halve memory for long contexts; Q8 quarters it: 8-bit
 * integers, with a float scale for each token's keys (and values) of each KV head, the head's largest magnitude over
 * 127 ({@link PagedKvCache}).
 */
public enum KvDtype {
    F32(4), BF16(2), F16(2), Q8(1);

    private final int bytes;

    KvDtype(int bytes) { this.bytes = bytes; }

    /** Bytes an entry; Q8 adds a float scale per token and KV head ({@link PagedKvCache#bytesPerToken}). */
    public int bytes() { return bytes; }

    public static KvDtype parse(String s) {
        for (KvDtype d : values()) {
            if (d.name().equalsIgnoreCase(s)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown KV cache dtype '" + s + "': use one of f32, bf16, f16, q8");
    }

    @Override
    public String toString() { return name().toLowerCase(Locale.ROOT); }
}
