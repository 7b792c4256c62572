package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import org.redhare.core.NativeMemory;

/**
 * Helpers shared by the quantized kernels ({@link Fp8BlockMatrix}, {@link Q8_0Matrix}, and the loaders of {@link Q4_0Matrix}
 * and {@link Q4_KMatrix}).
 *
 * <p><b>Batch invariance.</b> Every float-widening quantized kernel computes each (row, token) result with one vector
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

    /** Grain in tiles for splitting {@code rows} over the pool's threads. */
    static int tileGrain(int rows, int threads) {
        int tiles = (rows + TILE - 1) / TILE;
        return Math.max(1, (tiles + threads * 4 - 1) / (threads * 4));
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
     * A staging buffer read once and dropped (a GGUF matrix unpacked to a byte a value before its repacking): on the heap
     * up to 256 MiB, else {@link #allocate}. Fresh native memory is faulted in and zeroed 4 KiB at a time, twice the
     * bytes of the file's matrix, and was about a third of the load time of a mixture's thousands of experts.
     */
    static MemorySegment temporary(long bytes) {
        return bytes <= (256L << 20) ? MemorySegment.ofArray(new byte[(int) bytes]) : allocate(bytes);
    }

    /**
     * Copies row-major bytes {@code [rows, cols]} into the byte tile layout: tiles of {@link #TILE} rows,
     * each one stream of groups of {@code G = 4L} columns (each row's G bytes permuted so byte {@code k} of
     * int lane {@code i} is column {@code k*L + i}), then each row's {@code cols % G} tail bytes in order.
     */
    static void repackBytes(MemorySegment src, MemorySegment dst, int rows, int cols) {
        int tiles = (rows + TILE - 1) / TILE;
        Repacking.forRange(tiles, Repacking.grain(cols, TILE), (t0, t1, worker) -> {
            byte[] in = new byte[TILE * cols];
            byte[] out = new byte[TILE * cols]; // a tile's rows are one contiguous run in both layouts: one copy each way
            for (int r0 = t0 * TILE; r0 < Math.min(rows, t1 * TILE); r0 += TILE) {
                int h = Math.min(TILE, rows - r0);
                long base = (long) r0 * cols;
                MemorySegment.copy(src, java.lang.foreign.ValueLayout.JAVA_BYTE, base, in, 0, h * cols);
                packTile(in, out, h, cols);
                MemorySegment.copy(out, 0, dst, java.lang.foreign.ValueLayout.JAVA_BYTE, base, h * cols);
            }
        });
    }

    private static final java.lang.invoke.VarHandle LE_INT_ARRAY =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    /**
     * One tile's {@code h} rows, row-major in {@code in}, into the tile layout in {@code out}. A method of its own so that
     * C2 compiles it whole after a few calls: inline in the loop over tiles, it ran on-stack-replaced code at about 4 ns
     * a byte (0.24 here, an int at a time).
     */
    static void packTile(byte[] in, byte[] out, int h, int cols) {
        final int L = Kernels.L;
        final int g = 4 * L;
        final int full = cols / g * g;
        final int tl = cols - full;
        for (int ri = 0; ri < h; ri++) {
            int s = ri * cols;
            for (int c = 0; c < full; c += g) { // byte k of int lane i = column c + k L + i
                int o = c * h + ri * g;
                int p = s + c;
                for (int i = 0; i < L; i++) {
                    int v = (in[p + i] & 0xFF) | (in[p + L + i] & 0xFF) << 8 | (in[p + 2 * L + i] & 0xFF) << 16 | in[p + 3 * L + i] << 24;
                    LE_INT_ARRAY.set(out, o + 4 * i, v);
                }
            }
            System.arraycopy(in, s + full, out, full * h + ri * tl, tl);
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

    /**
     * Starts fetching what a prompt pass's next widen reads, columns from byte {@code colBytes} of rows {@code rn .. rn+4}
     * ({@code bytes} of each row): both four-row tiles holding those rows, as {@link #fetchStart} places them, and returns
     * at once. For the machine code's token groups ({@link NativeKernels#f32TileGroups}), which do not fetch ahead as the
     * Java pass's first two groups do. Nothing for codes on the heap.
     */
    static void prefetchWiden(MemorySegment codes, long rowBytes, int rn, long colBytes, long bytes) {
        if (codes.isNative()) {
            org.redhare.core.CachePrefetch.rows(codes.address() + fetchStart(rowBytes, rn, colBytes, 0), bytes * TILE, 1, 0);
            org.redhare.core.CachePrefetch.rows(codes.address() + fetchStart(rowBytes, rn, colBytes, 1), bytes * TILE, 1, 0);
        }
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
