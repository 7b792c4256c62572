package org.redhare.core.attention;

import java.util.Locale;

/** Element type of the KV cache. F32 is exact; the 16-bit types halve memory for long contexts. */
public enum KvDtype {
    F32(4), BF16(2), F16(2);

    private final int bytes;

    KvDtype(int bytes) { this.bytes = bytes; }

    public int bytes() { return bytes; }

    public static KvDtype parse(String s) {
        for (KvDtype d : values()) {
            if (d.name().equalsIgnoreCase(s)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown KV cache dtype '" + s + "': use one of f32, bf16, f16");
    }

    @Override
    public String toString() { return name().toLowerCase(Locale.ROOT); }
}
