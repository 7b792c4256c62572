package org.redhare.core;

/**
 * Element types of stored tensors. Block-quantized types store {@link #blockSize()} elements in
 * {@link #blockBytes()} bytes; plain types have a block size of one.
 */
public enum DType {
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    /** FP8 E4M3FN (bias 7, no infinities, NaN = 0x7F/0xFF, max 448); scales are stored beside it. */
    F8_E4M3(1, 1),
    I8(1, 1),
    I16(1, 2),
    I32(1, 4),
    I64(1, 8),
    F64(1, 8),
    BOOL(1, 1),
    U8(1, 1),
    /** GGML Q8_0: blocks of 32 weights, an f16 scale then 32 int8. */
    Q8_0(32, 34),
    /** GGML Q4_0: blocks of 32 weights, an f16 scale then 16 bytes of nibbles (low nibbles are the first 16), value (q - 8) * d. */
    Q4_0(32, 18),
    /** GGML Q4_1: blocks of 32 weights, an f16 scale d, an f16 min m, then 16 bytes of nibbles; value q * d + m. */
    Q4_1(32, 20),
    /** GGML Q5_0: blocks of 32 weights, an f16 scale, 4 bytes of fifth bits, then 16 bytes of nibbles; value (q - 16) * d. */
    Q5_0(32, 22),
    /** GGML Q5_1: blocks of 32 weights, an f16 scale d, an f16 min m, 4 bytes of fifth bits, 16 bytes of nibbles; value q * d + m. */
    Q5_1(32, 24),
    /** GGML Q2_K: super-blocks of 256 (16 bytes of 4-bit scales and mins, 64 bytes of 2-bit codes, f16 d, f16 dmin). */
    Q2_K(256, 84),
    /** GGML Q3_K: super-blocks of 256 (32 bytes of high bits, 64 bytes of 2-bit codes, 12 bytes of 6-bit scales, f16 d). */
    Q3_K(256, 110),
    /** GGML Q4_K: super-blocks of 256 (f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles). */
    Q4_K(256, 144),
    /** GGML Q5_K: super-blocks of 256 (f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 32 bytes of fifth bits, 128 bytes of nibbles). */
    Q5_K(256, 176),
    /** GGML IQ4_NL: blocks of 32 weights, an f16 scale then 16 bytes of nibbles indexing a fixed table of 16 int8 levels. */
    IQ4_NL(32, 18),
    /** GGML IQ4_XS: super-blocks of 256 (f16 d, 6-bit sub-block scales in 2 + 4 bytes, 128 bytes of IQ4_NL nibbles). */
    IQ4_XS(256, 136),
    /** GGML Q6_K: super-blocks of 256 (128 bytes low 4 bits, 64 bytes high 2 bits, 16 int8 scales, f16 d). */
    Q6_K(256, 210);

    private final int blockSize;
    private final int blockBytes;

    DType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    public int blockSize() { return blockSize; }

    public int blockBytes() { return blockBytes; }

    /** Bytes needed for {@code elements} elements; they must be a whole number of blocks. */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(elements + " elements is not a whole number of " + this + " blocks of " + blockSize);
        }
        return elements / blockSize * blockBytes;
    }
}
