package org.redhare.model.gguf;

import java.util.Arrays;

/**
 * One tensor described in a GGUF header.
 *
 * @param name       tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param dims       dimensions in GGUF order: {@code dims[0]} is the innermost (contiguous) one, as in ggml's {@code ne}
 * @param type       element type
 * @param offset     byte offset of the data, relative to the start of the data section
 * @param byteSize   bytes the data occupies
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, long offset, long byteSize) {

    public GgufTensorInfo {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** Number of dimensions. */
    public int rank() {
        return dims.length;
    }

    /** Size of dimension {@code i} (GGUF order, innermost first). */
    public long dim(int i) {
        return dims[i];
    }

    /** Number of elements (product of the dimensions). */
    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && Arrays.equals(dims, t.dims)
                && type == t.type && offset == t.offset && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(dims) + " " + type + " @" + offset + " (" + byteSize + " bytes)";
    }
}
