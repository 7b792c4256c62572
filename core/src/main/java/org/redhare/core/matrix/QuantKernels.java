package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import org.redhare.core.NativeMemory;

/**
 * Helpers shared by the quantized kernels ({@link Fp8BlockMatrix}, {@link Q8_0Matrix}, {@link Q4_0Matrix}, {@link Q4_KMatrix}).
 *
 * <p><b>Batch invariance.</b> Every quantized kernel computes each (row, token) result with one vector
 * accumulator fed in column order, then {@code VectorMath.sum} adds its lanes in a fixed tree order (for a
 * stored accumulator, {@code VectorMath.sum(float[], int)}; for the 16 of a 4x4 tile, {@code VectorMath.sum16},
 * bit-identical), then the scalar column tail is added. The single-token and the batched paths only differ in how many (row, token)
 * pairs share one widened weight vector, so a token's result is bitwise the same whatever the batch,
 * the thread count, or whether the method is interpreted or compiled ({@code reduceLanes} leaves the
 * order unspecified, which is why it is not used).
 */
final class QuantKernels {
    private QuantKernels() {}

    /** Rows stored together as one sequential stream, and computed together. */
    static final int TILE = 4;

    /** Floats of lane scratch each worker needs. */
    static int laneScratch() {
        return Kernels.L;
    }

    /** Grain in tiles for splitting {@code rows} over the pool's threads. */
    static int tileGrain(int rows, int threads) {
        int tiles = (rows + TILE - 1) / TILE;
        return Math.max(1, (tiles + threads * 4 - 1) / (threads * 4));
    }

    /** L-column steps per 32-column block in the nibble layout of {@link Q4_0Matrix} and {@link Q4_KMatrix} (groups of 8L columns). */
    static final int NIBBLE_KPB = Math.max(1, 32 / Kernels.L);
    /** 32-column blocks per group of 8L columns. */
    static final int NIBBLE_BPG = Math.max(1, Kernels.L / 4);
    /** Bytes per row per group of 8L nibbles. */
    private static final int NIBBLE_GB = 4 * Kernels.L;

    /** The nibble masks {@code 0xF << 4j} of steps 0..3 of a block, L lanes each (loaded, not built, in the kernels' loops). */
    static final int[] NIBBLE_MASKS = new int[4 * Kernels.L];
    static {
        for (int i = 0; i < NIBBLE_MASKS.length; i++) {
            NIBBLE_MASKS[i] = 0xF << 4 * (i / Kernels.L);
        }
    }

    /**
     * Where block {@code b}'s int loads start in the nibble layout, from its row's first group in a tile of {@code h}
     * rows: its group's bytes, then NIBBLE_KPB/2 bytes into each lane for each block before it in the group. Loaded
     * there, an int vector holds the block's step j in bits 4j..4j+3 of each lane (j < 4; 4-lane vectors take steps
     * 4..7 from a load 2 bytes on), so one constant mask per step widens every block in place; the lane's upper bits,
     * from the next lane or past the group, are masked away, and the weights are allocated with room past the last row.
     */
    static long nibbleBlockByte(int b, int h) {
        return (long) (b / NIBBLE_BPG) * h * NIBBLE_GB + (b % NIBBLE_BPG) * (NIBBLE_KPB / 2);
    }

    /** Bytes the nibble layouts allocate past their last row for {@link #nibbleBlockByte}'s loads (up to 3 bytes on). */
    static final int NIBBLE_PAST_END = 64;

    /** Steps after which the in-place nibble positions repeat: a block's steps 0..3 (4-lane vectors: 4..7 again from a second load). */
    static final int NIBBLE_PERIOD = Math.min(NIBBLE_KPB, 4);

    /** {@code 2^-4j} for a step whose nibble sits at bits 4j..4j+3 of its lane when widened in place. */
    private static final float[] STEP_SCALE = {1f, 0x1p-4f, 0x1p-8f, 0x1p-12f};

    /**
     * The activations as the nibble kernels read them, into {@code out[0 .. n * cols]}: in the first {@code full}
     * columns (whole groups of 8L) column {@code kL + i} of each group times {@code 2^-4j}, {@code j = k % NIBBLE_PERIOD}
     * the position its nibble is widened at ({@link #nibbleBlockByte}; exact: a power of two), the tail as it is; and
     * {@code factor *} each 32-column block's sum of {@code x} itself (added in column order) into
     * {@code out[xsb + t * stride + b]} for the {@code full / 32} blocks of the vector part, zeros up to {@code stride}.
     * Activations below {@code 2^-114} in size become subnormal once scaled and lose bits; every path reads these, so
     * the bits still do not depend on the batch.
     */
    static void stepScaled(float[] x, int n, int cols, int full, float[] out, int xsb, int stride, float factor) {
        final int L = Kernels.L;
        final int g = 8 * L;
        for (int t = 0; t < n; t++) {
            final int xo = t * cols;
            for (int c = 0; c < full; c += g) {
                for (int k = 0; k < 8; k++) {
                    FloatVector.fromArray(Kernels.F, x, xo + c + k * L).mul(STEP_SCALE[k % NIBBLE_PERIOD]).intoArray(out, xo + c + k * L);
                }
            }
            System.arraycopy(x, xo + full, out, xo + full, cols - full);
            final int fb = full / 32;
            for (int b = 0; b < fb; b++) {
                float sum = 0f;
                for (int i = 0; i < 32; i++) {
                    sum += x[xo + b * 32 + i];
                }
                out[xsb + t * stride + b] = factor * sum;
            }
            java.util.Arrays.fill(out, xsb + t * stride + fb, xsb + (t + 1) * stride, 0f);
        }
    }

    /**
     * Checks a GGML tensor's bytes before it is parsed: rows of {@code cols} values in blocks of {@code values} values
     * stored in {@code bytes} bytes each, {@code rows} rows; a clear error naming the type otherwise.
     */
    static void checkGgml(MemorySegment blocks, int rows, int cols, int values, int bytes, String type) {
        if (cols % values != 0) {
            throw new IllegalArgumentException(type + " rows must be a multiple of " + values + " long, got " + cols);
        }
        long need = (long) rows * (cols / values) * bytes;
        if (blocks.byteSize() != need) {
            throw new IllegalArgumentException(type + " matrix [" + rows + ", " + cols + "] needs " + need + " bytes, got " + blocks.byteSize());
        }
    }

    /** The little-endian f16 at {@code b[at]} of a GGML block, as a float. */
    static float half(byte[] b, int at) {
        return Float.float16ToFloat((short) ((b[at] & 0xFF) | b[at + 1] << 8));
    }

    /** The little-endian 32-bit word at {@code b[at]} of a GGML block (the fifth bits of Q5_0 and Q5_1). */
    static int int32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
    }

    /** Memory for repacked weights, freed when unreachable; huge pages where the OS offers them ({@link NativeMemory}). */
    static MemorySegment allocate(long bytes) {
        return NativeMemory.allocate(bytes);
    }

    /**
     * Copies row-major bytes {@code [rows, cols]} into the byte tile layout: tiles of {@link #TILE} rows,
     * each one stream of groups of {@code G = 4L} columns (each row's G bytes permuted so byte {@code k} of
     * int lane {@code i} is column {@code k*L + i}), then each row's {@code cols % G} tail bytes in order.
     */
    static void repackBytes(MemorySegment src, MemorySegment dst, int rows, int cols) {
        final int L = Kernels.L;
        final int g = 4 * L;
        int full = cols / g * g;
        int tl = cols - full;
        byte[] row = new byte[cols];
        byte[] out = new byte[g];
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(src, java.lang.foreign.ValueLayout.JAVA_BYTE, (long) r * cols, row, 0, cols);
            int r0 = r - r % TILE;
            int h = Math.min(TILE, rows - r0);
            int ri = r - r0;
            long base = (long) r0 * cols;
            for (int c = 0; c < full; c += g) {
                for (int w = 0; w < g; w++) {
                    out[w] = row[c + (w & 3) * L + (w >> 2)];
                }
                MemorySegment.copy(out, 0, dst, java.lang.foreign.ValueLayout.JAVA_BYTE, base + (long) c * h + (long) ri * g, g);
            }
            MemorySegment.copy(row, full, dst, java.lang.foreign.ValueLayout.JAVA_BYTE, base + (long) full * h + (long) ri * tl, tl);
        }
    }

    /**
     * Where token group {@code g} (0 or 1) of a five-row prompt tile starts fetching ahead
     * ({@link FloatTiles#tile5tokens4Fetching}, two lines per block of {@code 2L} columns) so that the next
     * widen, of columns from byte {@code colBytes} of each row of rows {@code rn .. rn+4}, finds its weights in
     * cache: that chunk's bytes in the first (g = 0) or second (g = 1) four-row tile holding those rows, which are
     * contiguous in this layout ({@code rowBytes} per row: {@code cols} for bytes, {@code full / 2 + tail} for nibbles).
     */
    static long fetchStart(long rowBytes, int rn, long colBytes, int g) {
        return (rn - rn % TILE + g * TILE) * rowBytes + colBytes * TILE;
    }

    /** Rows in the four-row tile that holds row {@code r} of a matrix of {@code rows} rows. */
    static int tileHeight(int rows, int r) {
        return Math.min(TILE, rows - (r - r % TILE));
    }

    /** Byte offset of element {@code [r, c]} in the byte tile layout of {@link #repackBytes}. */
    static long byteOffset(int rows, int cols, int r, int c) {
        final int g = 4 * Kernels.L;
        int full = cols / g * g;
        int r0 = r - r % TILE;
        int h = Math.min(TILE, rows - r0);
        int ri = r - r0;
        long base = (long) r0 * cols;
        if (c < full) {
            int gs = c / g * g;
            int w = c - gs;
            return base + (long) gs * h + (long) ri * g + 4L * (w % Kernels.L) + w / Kernels.L;
        }
        return base + (long) full * h + (long) ri * (cols - full) + (c - full);
    }
}
