package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import org.redhare.core.Parallel;

/**
 * The matrices whose products run in AVX512-VNNI machine code over tiles of {@link VnniTokens#TR} rows (Q6_K, Q8_0,
 * Q5_K, Q4_K, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, IQ4_XS, Q3_K, Q2_K: {@link NativeKernels#vnniTokens}' forms 0 to 11): their packed
 * blocks, per-row factors and the paths both take.
 */
abstract sealed class VnniMatrix implements WeightMatrix permits Q6_KMatrix, Q8_0IntMatrix, Q5_KMatrix, Q4_KIntMatrix, BlockIntMatrix,
        IQ4_XSIntMatrix, Q3_KIntMatrix, Q2_KIntMatrix {
    static final int TR = VnniTokens.TR;

    final MemorySegment packed; // [tiles][nb][block]
    final float[] d;            // the form's per-row factors (Q8_0: none)
    final int rows;
    final int cols;
    final int nb;               // 32-column blocks per row
    final int nsb;              // 256-column super-blocks per row (forms 0 and 2)
    final int tiles;
    private final int form;
    private final int block;

    /** {@code factors}: floats of {@link #d} per tile and super-block. */
    VnniMatrix(int rows, int cols, int form, int block, int factors) {
        this.rows = rows;
        this.cols = cols;
        this.nb = cols / 32;
        this.nsb = cols / 256;
        this.tiles = (rows + TR - 1) / TR;
        this.form = form;
        this.block = block;
        this.packed = QuantKernels.allocate((long) tiles * nb * block);
        this.d = new float[tiles * nsb * factors];
    }

    /** The format's blocks for the Java reference. */
    abstract VnniTokens.Blocks javaBlocks();

    /**
     * Tiles {@code t0 .. t1} repacked from the file's {@code blocks}, a tile's bytes gathered in an array (rows past the
     * matrix left zero: zero factors) and copied out once: for the 256-column super-block formats, each row's file
     * blocks ({@link #fileBlock} bytes) through {@link #superBlock}; the 32-column block formats fill their own.
     */
    void fill(MemorySegment blocks, int t0, int t1) {
        final int fb = fileBlock();
        final byte[] blk = new byte[fb];
        final byte[] tile = new byte[nb * block];
        for (int t = t0; t < t1; t++) {
            java.util.Arrays.fill(tile, (byte) 0);
            for (int i = 0; i < TR && t * TR + i < rows; i++) {
                for (int k = 0; k < nsb; k++) {
                    MemorySegment.copy(blocks, java.lang.foreign.ValueLayout.JAVA_BYTE, ((long) (t * TR + i) * nsb + k) * fb, blk, 0, fb);
                    superBlock(blk, tile, t, i, k);
                }
            }
            MemorySegment.copy(tile, 0, packed, java.lang.foreign.ValueLayout.JAVA_BYTE, (long) t * nb * block, tile.length);
        }
    }

    /** Bytes of one of the file's 256-column super-blocks (the formats that fill through {@link #superBlock}). */
    int fileBlock() {
        throw new UnsupportedOperationException("no super-blocks");
    }

    /** Tile {@code t}'s row {@code i}'s super-block {@code k} ({@code blk}, as the file has it) into {@code tile} and {@link #d}. */
    void superBlock(byte[] blk, byte[] tile, int t, int i, int k) {
        throw new UnsupportedOperationException("no super-blocks");
    }

    /** Every tile repacked from the file's {@code blocks}, in ranges of tiles over {@link Repacking}'s threads. */
    final void repack(MemorySegment blocks) {
        Repacking.forRange(tiles, Repacking.grain(cols, TR), (t0, t1, worker) -> fill(blocks, t0, t1));
    }

    /** Whether a type whose switch ({@code -Dredhare.*Integers}) is {@code integers} takes its class here. */
    static boolean runs(boolean integers) {
        return integers && NativeKernels.vnniAvailable();
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long bytes() { return packed.byteSize() + 4L * d.length; }

    /** Row {@code r}'s weights, block by block ({@link #blockRow}). */
    @Override
    public final void row(int r, float[] dst, int off) {
        final int t = r / TR, i = r % TR;
        final byte[] bytes = new byte[block];
        for (int b = 0; b < nb; b++) {
            MemorySegment.copy(packed, java.lang.foreign.ValueLayout.JAVA_BYTE, ((long) t * nb + b) * block, bytes, 0, block);
            blockRow(bytes, t, i, b, dst, off + 32 * b);
        }
    }

    /** Tile {@code t}'s row {@code i}'s 32 weights of its block {@code b} (its bytes in {@code block}) into {@code dst[at ..]}. */
    abstract void blockRow(byte[] block, int t, int i, int b, float[] dst, int at);

    /**
     * Whether the products run in machine code here: {@link NativeKernels#vnniTokens} (AVX512-VNNI), or for Q6_K, Q8_0,
     * Q5_K and Q5_1 {@link Avx2Kernels#vnniTokens} (AVX2).
     */
    boolean nativeTokens() {
        return (NativeKernels.vnniAvailable() || Avx2Kernels.vnniAvailable(form)) && packed.isNative();
    }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        VnniTokens.multiply(pool, x, n, y, rows, cols, packed, form, d, block, nativeTokens() ? null : javaBlocks());
    }

    /** {@link #multiply} in Java even where the machine code runs (tests compare the two; far slower). */
    void multiplyInJava(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        VnniTokens.multiply(pool, x, n, y, rows, cols, packed, form, d, block, javaBlocks());
    }
}
