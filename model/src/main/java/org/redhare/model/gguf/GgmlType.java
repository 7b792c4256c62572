package org.redhare.model.gguf;

/**
 * Tensor element types of the GGML/GGUF format, with the numeric id stored in a GGUF tensor info,
 * the number of elements in one block, and the bytes one block occupies.
 *
 * <p>Ids 4, 5 and 31..33, 36..38 were used by formats that llama.cpp has removed; they are not listed
 * and {@link #fromId(int)} reports them as unknown.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),      // f16 scale + 16 bytes of nibbles
    Q4_1(3, 32, 20),      // f16 scale, f16 min + 16 bytes of nibbles
    Q5_0(6, 32, 22),      // f16 scale + 4 bytes high bits + 16 bytes of nibbles
    Q5_1(7, 32, 24),      // f16 scale, f16 min + 4 bytes high bits + 16 bytes of nibbles
    Q8_0(8, 32, 34),      // f16 scale + 32 int8
    Q8_1(9, 32, 36),      // f16 scale, f16 sum + 32 int8
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 256, 292),   // f32 scale + 256 int8 + 16 int16 block sums
    IQ2_XXS(16, 256, 66),
    IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 256, 110),
    IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 56),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66),
    MXFP4(39, 32, 17);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) {
            BY_ID[t.id] = t;
        }
    }

    private final int id;
    private final int blockSize;
    private final int bytesPerBlock;

    GgmlType(int id, int blockSize, int bytesPerBlock) {
        this.id = id;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
    }

    /** The numeric id stored in GGUF tensor infos (ggml's {@code enum ggml_type}). */
    public int id() {
        return id;
    }

    /** Elements per block (1 for plain types such as F32). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes one block occupies. */
    public int bytesPerBlock() {
        return bytesPerBlock;
    }

    /** True for types stored in blocks of more than one element. */
    public boolean isQuantized() {
        return blockSize > 1;
    }

    /**
     * Bytes that {@code elements} values of this type occupy.
     *
     * @throws IllegalArgumentException when {@code elements} is not a multiple of the block size
     */
    public long byteSize(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    elements + " elements is not a multiple of the " + name() + " block size " + blockSize);
        }
        return Math.multiplyExact(elements / blockSize, (long) bytesPerBlock);
    }

    /** The type with this id, or {@code null} when the id is unknown to RedHare. */
    public static GgmlType fromId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }
}
