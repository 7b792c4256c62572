package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.redhare.core.DType;
import org.redhare.core.NativeMemory;
import org.redhare.core.Parallel;
import org.redhare.core.ops.VectorMath;

/**
 * Int8 weights with one float scale per block of {@code bw} columns of a row: GGML Q8_0 (bw = 32, f16
 * scales in the file), and Q6_K once {@link #ofGgmlQ6_K} has unpacked its 6-bit values (bw = 16), where
 * {@link Q6_KMatrix}'s integer machine code does not run.
 * {@code W[r, c] = q[r, c] * d[r, c / bw]}.
 *
 * <p>Activations stay float (no llama.cpp-style int8 activation quantization): the Vector API has no int8
 * dot product that maps to VNNI, and widening int8 x int8 products to int16/int32 costs more than
 * converting the weights. Where AVX512-VNNI machine code runs, Q8_0 and Q6_K files load as {@link Q8_0IntMatrix} and
 * {@link Q6_KMatrix} instead, which do quantize the activations. One 64-byte int load gives 4L codes; code {@code k} of a lane is
 * {@code (v << (24 - 8k)) >> 24} (arithmetic shift = sign extension), converted lane-wise at the same
 * width (one instruction), multiplied by the block scale, then FMA'd with the activations.
 *
 * <p>Layout (repacked at load) is the one of {@link Fp8BlockMatrix}: tiles of four rows as one stream,
 * groups of 4L columns permuted so byte {@code k} of int lane {@code i} is column {@code k*L + i}, then
 * the per-row tails. Scales are widened to float once at load and kept per tile of four rows, block by block
 * ({@code [rows / 4][cols / bw][4]}, see {@code sbase}).
 *
 * <p>Prompts (many tokens) widen each five rows once per token block into a per-thread float tile
 * instead of once per four tokens (see {@code prompt}). Results are bitwise the same for a token
 * whatever the batch (see the comment above {@code widens}).
 */
public final class Q8_0Matrix implements WeightMatrix {
    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Integer> I = Kernels.I;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int G = 4 * Kernels.L;
    private static final int GB = G; // bytes per row per group
    /** Block of 32 columns of step k (L columns) of a column group, for {@link #tiles2x1Block}: constants, so its scale indexes are linear. */
    private static final int S0 = 0, S1 = Kernels.L >> 5, S2 = (2 * Kernels.L) >> 5, S3 = (3 * Kernels.L) >> 5;
    /** The same for blocks of 16 columns (Q6_K, Q3_K). */
    private static final int T0 = 0, T1 = Kernels.L >> 4, T2 = (2 * Kernels.L) >> 4, T3 = (3 * Kernels.L) >> 4;
    /** Groups per turn of each tile in the one-token kernels ({@link #tiles2x1Block}): 512 columns. */
    private static final int STREAM_GROUPS = Math.max(1, 512 / G);
    /** Per-worker floats for 16 stored accumulators and their 16 lane sums ({@link VectorMath#sum16}). */
    private static final int SUMS = Kernels.SUM16_FLOATS;
    /** 32 vector registers (AVX-512): three tokens past the last group of four take {@link #tile4x3}, and four one pass ({@link #rows4tokens4}). */
    private static final boolean REGISTERS32 = Kernels.L >= 16;

    private final MemorySegment packed; // [rows * cols] int8 in the tile layout
    private final float[] scales;       // [rows / 4][nb][4 rows] block scales: see sbase
    private final int rows;
    private final int cols;
    private final int bw;               // block width: 32 (Q8_0) or 16 (Q6_K)
    private final int bwShift;          // log2(bw)
    private final int nb;               // blocks per row
    private final DType dtype;          // what the file stored (Q8_0 or Q6_K), for reports

    /**
     * @param codes  {@code [rows, cols]} int8, row-major
     * @param scales {@code [rows, cols / bw]} block scales, row-major (copied into the tile order of {@link #sbase})
     * @param bw     block width, a power of two that is a multiple of the vector length or at least cols
     */
    public Q8_0Matrix(MemorySegment codes, float[] scales, int rows, int cols, int bw, DType dtype) {
        this(codes, false, scales, rows, cols, bw, dtype);
    }

    /** {@code packed}: {@code codes} are in the tile layout already ({@link QuantKernels#packTile}), and are kept as they are. */
    Q8_0Matrix(MemorySegment codes, boolean packed, float[] scales, int rows, int cols, int bw, DType dtype) {
        MatrixChecks.size(codes, rows, cols, 1, dtype.toString());
        if (Integer.bitCount(bw) != 1 || bw % Kernels.L != 0 || cols % bw != 0) {
            throw new IllegalArgumentException(dtype + " matrix [" + rows + ", " + cols + "]: block width " + bw
                    + " must be a power of two, a multiple of " + Kernels.L + " and divide the row length");
        }
        this.rows = rows;
        this.cols = cols;
        this.bw = bw;
        this.bwShift = Integer.numberOfTrailingZeros(bw);
        this.nb = cols / bw;
        this.dtype = dtype;
        if (scales.length != rows * nb) {
            throw new IllegalArgumentException(dtype + " matrix [" + rows + ", " + cols + "] needs " + rows * nb + " scales, got " + scales.length);
        }
        this.scales = new float[(rows + 3) / 4 * 4 * nb];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < nb; b++) {
                this.scales[sbase(r) + (b << 2)] = scales[r * nb + b];
            }
        }
        if (packed) {
            this.packed = codes;
        } else {
            this.packed = QuantKernels.allocate((long) rows * cols);
            QuantKernels.repackBytes(codes, this.packed, rows, cols);
        }
    }

    /**
     * Over GGML Q8_0 blocks as stored in a GGUF file: each row is {@code cols / 32} blocks of an f16 scale
     * followed by 32 int8 values.
     */
    public static Q8_0Matrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 32, 34, "Q8_0");
        int nb = cols / 32;
        float[] d = new float[rows * nb];
        MemorySegment codes = QuantKernels.temporary((long) rows * cols);
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            for (long b = (long) r0 * nb; b < (long) r1 * nb; b++) {
                d[(int) b] = Float.float16ToFloat(blocks.get(LE_SHORT, b * 34));
                MemorySegment.copy(blocks, b * 34 + 2, codes, b * 32, 32);
            }
        });
        return new Q8_0Matrix(codes, d, rows, cols, 32, DType.Q8_0);
    }

    /**
     * The 16 levels of GGML's non-linear 4-bit types (IQ4_NL, IQ4_XS): a nibble selects one, times the block scale.
     * A format constant (ggml's {@code kvalues_iq4nl}).
     */
    static final byte[] IQ4_LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /**
     * Over GGML IQ4_NL blocks as stored in GGUF: each row is {@code cols / 32} blocks of an f16 {@code d} and 16
     * bytes of nibbles (low nibbles are values 0..15, high ones 16..31); {@code W = d * level[q]} with the 16 int8
     * levels of {@link #IQ4_LEVELS}, so each weight becomes the int8 level and the block keeps {@code d}: exact.
     * llama.cpp writes IQ4_NL where an IQ4_XS (or Q2_K/Q3_K) file's rows are not a multiple of 256 long.
     */
    public static Q8_0Matrix ofGgmlIQ4_NL(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 32, 18, "IQ4_NL");
        int nb = cols / 32;
        float[] d = new float[rows * nb];
        MemorySegment codes = QuantKernels.temporary((long) rows * cols);
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            byte[] blk = new byte[18];
            byte[] out = new byte[32];
            for (long b = (long) r0 * nb; b < (long) r1 * nb; b++) {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 18, blk, 0, 18);
                d[(int) b] = QuantKernels.half(blk, 0);
                levels(blk, 2, out, 0);
                MemorySegment.copy(out, 0, codes, ValueLayout.JAVA_BYTE, b * 32, 32);
            }
        });
        return new Q8_0Matrix(codes, d, rows, cols, 32, DType.IQ4_NL);
    }

    /**
     * Over GGML IQ4_XS super-blocks as stored in GGUF: per row {@code cols / 256} blocks of an f16 {@code d}, a
     * little-endian 16-bit {@code scales_h}, 4 bytes {@code scales_l} and 128 bytes of nibbles (per 32 values, 16
     * bytes as IQ4_NL's). Sub-block {@code i} has the 6-bit scale {@code ls} = nibble {@code i % 2} of
     * {@code scales_l[i / 2]} with bits {@code 2i, 2i+1} of {@code scales_h} above it; {@code W = (d * (ls - 32)) *
     * level[q]}, the factor rounded to float as ggml does, then exact in the int8 kernel.
     */
    public static Q8_0Matrix ofGgmlIQ4_XS(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 136, "IQ4_XS");
        int sb = cols / 256;
        float[] scales = new float[rows * (cols / 32)];
        MemorySegment codes = QuantKernels.temporary((long) rows * cols);
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            byte[] blk = new byte[136];
            byte[] out = new byte[256];
            for (long b = (long) r0 * sb; b < (long) r1 * sb; b++) {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 136, blk, 0, 136);
                float d = QuantKernels.half(blk, 0);
                int high = (blk[2] & 0xFF) | (blk[3] & 0xFF) << 8;
                for (int i = 0; i < 8; i++) {
                    int ls = ((blk[4 + i / 2] & 0xFF) >>> 4 * (i % 2) & 0xF) | (high >>> 2 * i & 3) << 4;
                    scales[(int) (b * 8 + i)] = d * (ls - 32);
                    levels(blk, 8 + 16 * i, out, 32 * i);
                }
                MemorySegment.copy(out, 0, codes, ValueLayout.JAVA_BYTE, b * 256, 256);
            }
        });
        return new Q8_0Matrix(codes, scales, rows, cols, 32, DType.IQ4_XS);
    }

    /** The 32 levels of the 16 nibble bytes at {@code in[at ...]} (low nibbles first) into {@code out[o ...]}. */
    private static void levels(byte[] in, int at, byte[] out, int o) {
        for (int j = 0; j < 16; j++) {
            int v = in[at + j] & 0xFF;
            out[o + j] = IQ4_LEVELS[v & 0xF];
            out[o + 16 + j] = IQ4_LEVELS[v >>> 4];
        }
    }

    /**
     * Over GGML Q3_K super-blocks as stored in GGUF: per row {@code cols / 256} blocks of 32 bytes {@code hmask}, 64
     * bytes of 2-bit codes, 12 bytes packing sixteen 6-bit scales and an f16 {@code d}. Value {@code 128h + 32j + l}
     * ({@code l < 32}) is bits {@code 2j, 2j+1} of code byte {@code 32h + l}, less 4 unless bit {@code 4h + j} of
     * {@code hmask[l]} is set; sub-block {@code i} of 16 has the factor {@code d * (sc - 32)}, {@code sc} being the
     * low nibble of scale byte {@code i % 8} ({@code i < 8}) or its high nibble, with bits {@code 2(i/4), 2(i/4)+1}
     * of byte {@code 8 + i % 4} above. Each value becomes an int8 in -4..3: exact.
     */
    public static Q8_0Matrix ofGgmlQ3_K(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 110, "Q3_K");
        int sb = cols / 256;
        float[] scales = new float[rows * (cols / 16)];
        MemorySegment codes = QuantKernels.temporary((long) rows * cols);
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            byte[] blk = new byte[110];
            byte[] out = new byte[256];
            for (long b = (long) r0 * sb; b < (long) r1 * sb; b++) {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 110, blk, 0, 110);
                float d = QuantKernels.half(blk, 108);
                for (int i = 0; i < 16; i++) {
                    int low = i < 8 ? blk[96 + i] & 0xF : (blk[96 + i - 8] & 0xFF) >>> 4;
                    int high = (blk[96 + 8 + i % 4] & 0xFF) >>> 2 * (i / 4) & 3;
                    scales[(int) (b * 16 + i)] = d * ((low | high << 4) - 32);
                }
                for (int h = 0; h < 2; h++) {
                    for (int j = 0; j < 4; j++) {
                        for (int l = 0; l < 32; l++) {
                            int q = (blk[32 + 32 * h + l] & 0xFF) >>> 2 * j & 3;
                            boolean hi = (blk[l] & 0xFF & 1 << (4 * h + j)) != 0;
                            out[128 * h + 32 * j + l] = (byte) (hi ? q : q - 4);
                        }
                    }
                }
                MemorySegment.copy(out, 0, codes, ValueLayout.JAVA_BYTE, b * 256, 256);
            }
        });
        return new Q8_0Matrix(codes, scales, rows, cols, 16, DType.Q3_K);
    }

    /**
     * Over GGML Q6_K super-blocks as stored in GGUF: per row {@code cols / 256} blocks of 128 bytes of low
     * nibbles, 64 bytes of high 2-bit pairs, 16 int8 sub-block scales and an f16 {@code d}. Each value
     * {@code q - 32} (6 bits) becomes one int8 and each sub-block of 16 gets the float scale {@code d * sc},
     * so {@code W = (d * sc) * (q - 32)} exactly as ggml computes it. Memory: 1.25 bytes per weight instead
     * of 0.82 (the kernel reads bytes, not 6-bit fields).
     */
    public static Q8_0Matrix ofGgmlQ6_K(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 210, "Q6_K");
        int sb = cols / 256;
        float[] scales = new float[rows * (cols / 16)];
        MemorySegment codes = QuantKernels.temporary((long) rows * cols);
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            byte[] blk = new byte[210];
            byte[] out = new byte[256];
            for (long b = (long) r0 * sb; b < (long) r1 * sb; b++) {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 210, blk, 0, 210);
                float d = QuantKernels.half(blk, 208);
                for (int i = 0; i < 16; i++) {
                    scales[(int) (b * 16 + i)] = d * blk[192 + i];
                }
                for (int half = 0; half < 2; half++) {
                    int ql = half * 64;
                    int qh = 128 + half * 32;
                    int y = half * 128;
                    for (int l = 0; l < 32; l++) {
                        int h = blk[qh + l] & 0xFF;
                        out[y + l] = (byte) (((blk[ql + l] & 0xF) | (h & 3) << 4) - 32);
                        out[y + 32 + l] = (byte) (((blk[ql + 32 + l] & 0xF) | (h >> 2 & 3) << 4) - 32);
                        out[y + 64 + l] = (byte) (((blk[ql + l] & 0xFF) >>> 4 | (h >> 4 & 3) << 4) - 32);
                        out[y + 96 + l] = (byte) (((blk[ql + 32 + l] & 0xFF) >>> 4 | (h >> 6 & 3) << 4) - 32);
                    }
                }
                MemorySegment.copy(out, 0, codes, ValueLayout.JAVA_BYTE, b * 256, 256);
            }
        });
        return new Q8_0Matrix(codes, scales, rows, cols, 16, DType.Q6_K);
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    /**
     * Where row {@code r}'s block scales start in {@link #scales}, which holds them per tile of four rows, block by block
     * ({@code [rows / 4][nb][4]}): block {@code b} of the row is at {@code sbase(r) + 4 b}. The one-token kernels read a
     * tile's scales for a group of columns as one short run beside its codes, one stream per tile; from row-major
     * scales they read four more streams per tile, each a cache line every few groups, and Q6_K's LM head of
     * llama-3.2-1b ran at 7.4-12.3 G weights/s from DRAM against Q8_0's 10.5-19.6 (twice the scales per weight); in tile
     * order 16.2-20.4 (`QuickMatrixRates q6_k 128256x2048 1`, docs/PERFORMANCE.md, twenty-fifth session).
     */
    private int sbase(int r) {
        return ((r >> 2) * nb << 2) + (r & 3);
    }

    @Override public DType dtype() { return dtype; }
    @Override public long bytes() { return (long) rows * cols + (long) rows * nb * 4; }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        int tiles = (rows + QuantKernels.TILE - 1) / QuantKernels.TILE;
        int grain = QuantKernels.tileGrain(rows, pool.threads());
        if (n == 1 && NATIVE_DECODE && cols % G == 0 && bw >= 16 && packed.isNative()) { // the machine code takes an address
            final long ahead = NativeKernels.rowsAhead(pool.threads());
            pool.forRange(tiles, grain, 1, (t0, t1, w) -> decodeNative(x, y, t0, t1, pool.workerScratch(w, SUMS), ahead));
            return;
        }
        if (n > 1 && n <= NATIVE_TOKENS && NATIVE_DECODE && cols % G == 0 && bw >= 16 && packed.isNative()) {
            final long ahead = NativeKernels.rowsAhead(pool.threads());
            final int scratch = Math.max(SUMS, n * cols + 15);
            pool.forRange(tiles, grain, 1, (t0, t1, w) -> tokensNative(x, n, y, t0, t1, pool.workerScratch(w, scratch), ahead));
            return;
        }
        if (n == 1) {
            pool.forRange(tiles, grain, 1, (t0, t1, w) -> decode(x, y, t0, t1, pool.workerScratch(w, SUMS)));
            return;
        }
        if (!widens(n)) {
            pool.forRange(tiles, grain, 1, (t0, t1, w) -> run(x, n, y, t0, t1, pool.workerScratch(w, SUMS), 0));
            return;
        }
        final int full = cols / G * G;
        final int grouped = FloatTiles.groupedTokens(n);
        float[] panels = pool.scratch(FloatTiles.TILE_AT + Math.max(1, grouped * full));
        Kernels.packTokens4(pool, x, n, grouped, cols, full, FloatTiles.PANEL_CHUNK, panels, FloatTiles.TILE_AT); // per 4-token group, aligned (FloatTiles#TOKEN_STEP)
        final int need = promptScratch(n, full);
        int rowGrain = (Kernels.rowGrain(rows, pool.threads()) + FloatTiles.ROWS - 1) / FloatTiles.ROWS * FloatTiles.ROWS;
        pool.forRange(rows, rowGrain, FloatTiles.ROWS, (r0, r1, w) -> prompt(x, panels, n, grouped, y, r0, r1, pool.workerScratch(w, need)));
    }

    /** Worker scratch of the prompt path: the widened tile, each token group's accumulators, the lane sums, and one row's. */
    private int promptScratch(int n, int full) {
        final int group = FloatTiles.ROWS * 4 * Kernels.L;
        return FloatTiles.TILE_AT + FloatTiles.ROWS * FloatTiles.chunkColumns(full) + FloatTiles.tokenBlock(n, cols) / 4 * group + group + 16 + Kernels.L
                + (NATIVE_GROUPS ? 20 * (FloatTiles.tokenBlock(n, cols) / 4) + Kernels.L : 0);
    }

    /**
     * Whether the prompt path runs in machine code ({@link NativeKernels#q8TileGroups}, as {@link Fp8BlockMatrix}'s does:
     * the first token group widens the tile as {@link #widen5} does and takes its FMAs on the way, the other groups run over
     * the tile; the same tile and FMAs in the same order, so the same bits). Widening inside the first group's loop rather
     * than in a Java pass before the groups (fifty-first session, alternated): `ManyMatrixRates q8_0 4864x896 60 16 1`
     * 35.1-35.7 -> 36.8-37.5 G weights/s, two threads 68.6 / 69.8 -> 72.3 / 71.3; `q6_k 896x4864 60 16 1` 34.2 / 36.5 ->
     * 37.6 / 37.5; `QuickMatrixRates q8_0 4864x896 512 1` level (47.9-48.7 against 48.1-49.2).
     */
    private static final boolean NATIVE_GROUPS = NativeKernels.available() && !FloatTiles.SPLIT;

    /**
     * Many tokens: rows {@code r0 .. r1} in five-row groups, widened once per token block and column chunk into
     * the {@link FloatTiles} layout (the floats {@code code * scale} the register kernels compute), then the
     * shared 5-row x 4-token micro-kernel. Per accumulator lane the FMAs run over the columns in order, one per
     * L columns, as in every other kernel here, so the bits are those of a token computed alone.
     */
    private void prompt(float[] x, float[] panels, int n, int grouped, float[] y, int r0, int r1, float[] buf) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int block = FloatTiles.tokenBlock(n, cols);
        final int chunk = FloatTiles.chunkColumns(full);
        final int h5 = FloatTiles.ROWS;
        final int group = h5 * 4 * L;              // floats of one token group's accumulators
        final int accs = FloatTiles.TILE_AT + h5 * chunk; // accumulators carried from one column chunk to the next, after the tile
        final int sums = accs + block / 4 * group; // the last chunk's accumulators and their lane sums
        final int one = sums + group + 16;         // one row's accumulator (row1)
        final int groupSums = FloatTiles.aligned(one + Kernels.L); // the machine code's lane sums, 20 a group
        final long[] rowOffsets = NATIVE_GROUPS ? new long[h5] : null, rowStrides = NATIVE_GROUPS ? new long[h5] : null;
        final int[] sbases = NATIVE_GROUPS ? new int[h5] : null;
        for (int t0 = 0; t0 < n; t0 += block) {
            final int t1 = Math.min(n, t0 + block);
            final int g1 = Math.min(grouped, t0 + block); // end of the 4-token groups; tokens g1 .. t1-1 (none if padded) take a one-row path
            int r = r0;
            for (; r + h5 <= r1; r += h5) {
                int c0 = 0;
                do { // at least once: rows shorter than one group still get their tails and stores
                    int c1 = Math.min(full, c0 + chunk);
                    if (!NATIVE_GROUPS || g1 == t0) {
                        widen5(r, buf, c0, c1);
                    }
                    if (NATIVE_GROUPS && g1 > t0) {
                        int groups = (g1 - t0) / 4;
                        int rn = c1 < full ? r : r + h5, cn = c1 < full ? c1 : 0; // while the groups run, the next widen's codes come in
                        QuantKernels.prefetchWiden(packed, cols, rn, cn, Math.min(full, cn + chunk) - cn);
                        for (int i = 0; i < h5; i++) { // where each row's codes of columns c0 .. c0 + G start, their step, its scales
                            int row = r + i, tr = row - row % QuantKernels.TILE, th = Math.min(QuantKernels.TILE, rows - tr);
                            rowOffsets[i] = (long) tr * cols + (long) c0 * th + (long) (row - tr) * GB;
                            rowStrides[i] = (long) th * GB;
                            sbases[i] = sbase(row);
                        }
                        NativeKernels.q8TileGroups(packed, rowOffsets, rowStrides, scales, sbases, bwShift, (c1 - c0) / Kernels.PAIR_BLOCK, groups,
                                panels, FloatTiles.TILE_AT + t0 * full, full, buf, FloatTiles.TILE_AT, accs, groupSums, c0 == 0, c1 == full, c0);
                        for (int g = 0; c1 == full && g < groups; g++) {
                            finishSums(buf, groupSums + 20 * g, x, y, r, t0 + 4 * g, Math.min(4, n - t0 - 4 * g));
                        }
                    }
                    for (int t = t0; t + 4 <= g1 && !NATIVE_GROUPS; t += 4) {
                        int acc = accs + (t - t0) / 4 * group;
                        int g = (t - t0) / 4;
                        if (g <= 1 && FloatTiles.FETCH_AHEAD) { // the first two token groups fetch the codes the next widen reads (QuantKernels#fetchStart)
                            long ta = QuantKernels.fetchStart(cols, c1 < full ? r : r + h5, c1 < full ? c1 : 0, g);
                            FloatTiles.tile5tokens4Fetching(buf, c0, c1, panels, FloatTiles.TILE_AT + t * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf,
                                    c0 == 0 ? 0 : acc, c1 == full ? sums : acc, packed, ta, ta + 64, 128, packed.byteSize() - 1);
                        } else {
                            FloatTiles.tile5tokens4(buf, c0, c1, panels, FloatTiles.TILE_AT + t * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf,
                                    c0 == 0 ? 0 : acc, c1 == full ? sums : acc);
                        }
                        if (c1 == full) {
                            finish5(buf, sums, x, y, r, t, Math.min(4, n - t));
                        }
                    }
                    c0 = c1;
                } while (c0 < full);
                for (int t = g1; t < t1; t++) {
                    for (int i = 0; i < h5; i++) {
                        row1(r + i, QuantKernels.tileHeight(rows, r + i), t, x, y, buf, one);
                    }
                }
            }
            for (; r < r1; r++) {
                for (int t = t0; t < t1; t++) {
                    row1(r, QuantKernels.tileHeight(rows, r), t, x, y, buf, one);
                }
            }
        }
    }

    /** Full groups of columns {@code c0 .. c1} of rows {@code r .. r+4} as {@code code * scale}, in the {@link FloatTiles} layout. */
    private void widen5(int r, float[] tile, int c0, int c1) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int h5 = FloatTiles.ROWS;
        for (int i = 0; i < h5; i++) {
            final int row = r + i;
            final int tr = row - row % QuantKernels.TILE;
            final int th = Math.min(QuantKernels.TILE, rows - tr);
            final int sr = sbase(row);
            long off = (long) tr * cols + (long) c0 * th + (long) (row - tr) * GB;
            for (int c = c0, o = FloatTiles.TILE_AT + i * FloatTiles.ROW_STEP; c < c1; c += G, off += (long) th * GB, o += 2 * h5 * B) {
                IntVector v = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
                ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0))
                        .mul(scales[sr + ((c + 0 * L) >> bwShift << 2)]).intoArray(tile, o);
                ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0))
                        .mul(scales[sr + ((c + 1 * L) >> bwShift << 2)]).intoArray(tile, o + FloatTiles.HALF_STEP);
                ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0))
                        .mul(scales[sr + ((c + 2 * L) >> bwShift << 2)]).intoArray(tile, o + h5 * B);
                ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0))
                        .mul(scales[sr + ((c + 3 * L) >> bwShift << 2)]).intoArray(tile, o + h5 * B + FloatTiles.HALF_STEP);
            }
        }
    }

    /** Lane sums of a five-row group's 20 accumulators at {@code buf[sums ...]} plus each row's tail, into {@code y}. */
    private void finish5(float[] buf, int sums, float[] x, float[] y, int r, int t, int tokens) {
        final int L = Kernels.L;
        VectorMath.sum16(buf, sums, buf, sums + 20 * L);
        for (int j = 0; j < tokens; j++) {
            final int xo = (t + j) * cols;
            final int yo = (t + j) * rows + r;
            for (int i = 0; i < 4; i++) {
                y[yo + i] = buf[sums + 20 * L + 4 * j + i] + tailSum(r + i, x, xo);
            }
            y[yo + 4] = VectorMath.sum(buf, sums + (16 + j) * L) + tailSum(r + 4, x, xo);
        }
    }

    /** {@link #finish5} for lane sums made already, at {@code buf[s ..]}: row i (0..3) of token j at {@code s + 4j + i}, row 4 at {@code s + 16 + j}. */
    private void finishSums(float[] buf, int s, float[] x, float[] y, int r, int t, int tokens) {
        for (int j = 0; j < tokens; j++) {
            final int xo = (t + j) * cols;
            final int yo = (t + j) * rows + r;
            for (int i = 0; i < 4; i++) {
                y[yo + i] = buf[s + 4 * j + i] + tailSum(r + i, x, xo);
            }
            y[yo + 4] = buf[s + 16 + j] + tailSum(r + 4, x, xo);
        }
    }

    /** Row {@code r}'s columns past the last full group, {@code (code * scale) * x} added in order from 0 (as the tile kernels do). */
    private float tailSum(int r, float[] x, int xo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int full = cols / G * G;
        float q = 0f;
        for (int c = full; c < cols; c++) {
            q += packed.get(ValueLayout.JAVA_BYTE, QuantKernels.byteOffset(rows, cols, r, c)) * scales[sbase(r) + (c / bw << 2)] * x[xo + c];
        }
        return q;
    }

    private void run(float[] x, int n, float[] y, int tile0, int tile1, float[] buf, int bo) {
        for (int tile = tile0; tile < tile1; tile++) {
            int r0 = tile * QuantKernels.TILE;
            int h = Math.min(QuantKernels.TILE, rows - r0);
            if (h == QuantKernels.TILE) {
                int t = 0;
                for (; t + 4 <= n; t += 4) {
                    tile4x4(r0, t, x, y, buf, bo);
                }
                if (REGISTERS32 && n - t == 3) {
                    tile4x3(r0, t, x, y, buf, bo);
                    t += 3;
                }
                for (; t + 2 <= n; t += 2) {
                    tile4x2(r0, t, x, y, buf, bo);
                }
                for (; t < n; t++) {
                    tile4x1(r0, t, x, y, buf, bo);
                }
            } else {
                for (int t = 0; t < n; t++) {
                    for (int r = r0; r < r0 + h; r++) {
                        row1(r, h, t, x, y, buf, bo);
                    }
                }
            }
        }
    }

    /*
     * Batch invariance: every output y[t, r] is summed in exactly one order, whatever n and whichever kernel
     * computes it: one vector accumulator fed per L columns in column order with fma(code * scale, x, acc)
     * (code converted to float, times the block scale, one rounding, then the FMA), then the fixed-order
     * lane sum of VectorMath.sum (VectorMath.sum16 for 16 accumulators at once gives the same bits), then
     * the tail columns' sum, formed in order as (code * scale) * x added one by one starting from 0, added
     * last. The kernels differ only in how many rows and tokens share each widened weight vector and
     * whether that vector is widened in registers or read back from a per-thread tile of the same floats.
     * (A left-to-right scalar sum of the 16 lanes, used before, cost a quarter of the prompt kernel's time on
     * 896-column rows; every quantized kernel now uses VectorMath's tree order.)
     */

    /**
     * Whether {@code n} tokens take the prompt path: five rows widened once per token block and column chunk
     * into a per-thread float tile, and the 5-row x 4-token micro-kernel of {@link FloatTiles} on plain float
     * loads. In registers every 4-token group widens every weight again (shifts, conversion, scale multiply on
     * the ports the FMAs need), but reading the next weights overlaps the arithmetic. One JVM alternating the
     * two (QuickMatrixRates, thread CPU time, G weights/s, register vs tile): 16 tokens [896x4864] 37.5 vs
     * 40.6, [4864x2048] 31.6 vs 39.0; 8 tokens [896x4864] 37.7 vs 30.0, [4864x896] 31.2 vs 29.7,
     * [151936x896] 25.5 vs 20.0. With the register kernel in two passes of two rows ({@link #rows2tokens4}) it won up to
     * 32 tokens (`QuickMatrixRates q8_0 SHAPE N 1`, G products/s, register vs tile): 16 tokens [4864x896] 23.2 vs 18.7,
     * [896x4864] 25.3 vs 17.5; 32 tokens 23.2 vs 23.2 and 24.3 vs 21.4; 48 tokens 16.2 vs 24.3 and 23.4 vs 24.9. With the
     * five-row by two-token tile kernel ({@link FloatTiles#SPLIT}) the tile wins from 12 tokens when at most one token is
     * past the last group of four (those take a one-row path): [4864x896] 12 tokens 24.0 vs 25.8-26.2, 13 21.8 vs 21.5,
     * 16 25.1-25.2 vs 29.6-30.0, 17 22.3 vs 24.1, 24 23.6-23.7 vs 32.3; 9 21.0-21.2 vs 17.5-17.7, 11 18.3-18.5 vs 12.8-13.0,
     * 19 20.2 vs 17.8, 27 22.3 vs 20.9, 31 22.5 vs 21.9; [896x4864] 16 tokens 26.7 vs 28.8; [48640x896] from DRAM, 16
     * tokens 22.2 vs 28.1.
     *
     * <p>Since a last group with two or three tokens is padded ({@link FloatTiles#groupedTokens}) the tile also wins at
     * those counts from 6 tokens (register vs tile, one thread unless noted): [4864x896] 6 tokens 17.0-17.4 vs 18.5,
     * 7 15.8-16.2 vs 19.1-21.1, 10 19.2 vs 22.7-22.8, 15 18.7-19.0 vs 26.8-28.1; [48640x896] from DRAM 7 tokens 15.1 vs
     * 17.2-18.8, 10 18.1-18.5 vs 20.3-21.3, 14 tokens on two threads 38.7-38.8 vs 47.6-48.4. One token past the last
     * group still takes the one-row path, so 9 and 13 stay in registers (9: 21.0-21.2 vs 16.4-17.0, 13: 21.6-21.7 vs
     * 20.9-21.2; from 17 the tile wins, above).
     *
     * <p>On AVX-512 hosts (no SPLIT) the rule had stayed at 32 tokens, unmeasured since the five-row tile. On the Intel
     * Xeon host of the thirty-seventh session, register (with the one-pass {@link #rows4tokens4}) vs tile: [4864x896] 5
     * tokens 24.5 vs 20.6, 6 25.8 vs 28.1, 8 34.8 vs 36.5, 9 28.2 vs 29.0, 12 33.1 vs 42.2, 16 30.7 vs 46.8, 28 31.5 (register)
     * against 53.1 at 32 (tile); [151936x896] from DRAM 6 tokens 22.1 vs 22.8, 8 23.7 vs 31.0, 12 28.1 vs 35.2. So from 6
     * tokens there, one token past the last group included.
     */
    private boolean widens(int n) {
        return FloatTiles.SPLIT ? n >= 32 || n >= 6 && (n % 4 != 1 || n >= 17) : n >= 6;
    }

    @Override
    public void row(int r, float[] dst, int off) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        for (int c = 0; c < cols; c++) {
            dst[off + c] = packed.get(ValueLayout.JAVA_BYTE, QuantKernels.byteOffset(rows, cols, r, c)) * scales[sbase(r) + (c / bw << 2)];
        }
    }

    /**
     * Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t+3}, as two passes of two rows ({@link #rows2tokens4}):
     * sixteen accumulators do not fit AVX2's 16 vector registers and the one-pass kernel spilled. `QuickMatrixRates q8_0
     * 4864x896 4 1`, processes alternated: 15.0-15.1 -> 23.7-24.5 G products/s (8 tokens: 14.8-14.9 -> 22.2-22.4).
     * With AVX-512's 32 registers one pass fits ({@link #rows4tokens4}): two passes against one, same command, Intel
     * Xeon host: [4864x896] 4 tokens 27.8-29.9 -> 32.4-35.9, 8 tokens 27.6-27.7 -> 35.2, 16 tokens 27.7-28.1 -> 33.6-34.1;
     * from DRAM [16384x4096] 4 tokens 18.3-18.4 -> 24.5-25.4.
     */
    private void tile4x4(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long base = (long) r0 * cols;
        int b;
        final int sr0 = sbase(r0 + 0);
        final int sr1 = sbase(r0 + 1);
        final int sr2 = sbase(r0 + 2);
        final int sr3 = sbase(r0 + 3);
        final int x0 = (t + 0) * cols;
        final int x1 = (t + 1) * cols;
        final int x2 = (t + 2) * cols;
        final int x3 = (t + 3) * cols;
        if (REGISTERS32) {
            rows4tokens4(r0, t, x, buf, bo);
        } else {
            rows2tokens4(r0, 0, t, x, buf, bo);
            rows2tokens4(r0, 2, t, x, buf, bo);
        }
        final int tl = cols - full;
        final long toff = base + (long) (full / 1) * 4;
        float q00 = 0f; float q01 = 0f; float q02 = 0f; float q03 = 0f;
        float q10 = 0f; float q11 = 0f; float q12 = 0f; float q13 = 0f;
        float q20 = 0f; float q21 = 0f; float q22 = 0f; float q23 = 0f;
        float q30 = 0f; float q31 = 0f; float q32 = 0f; float q33 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) / bw;
            final float u0 = packed.get(ValueLayout.JAVA_BYTE, toff + 0L * tl + i) * scales[sr0 + (cb << 2)];
            final float u1 = packed.get(ValueLayout.JAVA_BYTE, toff + 1L * tl + i) * scales[sr1 + (cb << 2)];
            final float u2 = packed.get(ValueLayout.JAVA_BYTE, toff + 2L * tl + i) * scales[sr2 + (cb << 2)];
            final float u3 = packed.get(ValueLayout.JAVA_BYTE, toff + 3L * tl + i) * scales[sr3 + (cb << 2)];
            q00 += u0 * x[x0 + full + i];
            q01 += u0 * x[x1 + full + i];
            q02 += u0 * x[x2 + full + i];
            q03 += u0 * x[x3 + full + i];
            q10 += u1 * x[x0 + full + i];
            q11 += u1 * x[x1 + full + i];
            q12 += u1 * x[x2 + full + i];
            q13 += u1 * x[x3 + full + i];
            q20 += u2 * x[x0 + full + i];
            q21 += u2 * x[x1 + full + i];
            q22 += u2 * x[x2 + full + i];
            q23 += u2 * x[x3 + full + i];
            q30 += u3 * x[x0 + full + i];
            q31 += u3 * x[x1 + full + i];
            q32 += u3 * x[x2 + full + i];
            q33 += u3 * x[x3 + full + i];
        }
        VectorMath.sum16(buf, bo, buf, bo + 16 * L);
        y[(t + 0) * rows + r0 + 0] = buf[bo + 16 * L + 0] + q00;
        y[(t + 0) * rows + r0 + 1] = buf[bo + 16 * L + 1] + q10;
        y[(t + 0) * rows + r0 + 2] = buf[bo + 16 * L + 2] + q20;
        y[(t + 0) * rows + r0 + 3] = buf[bo + 16 * L + 3] + q30;
        y[(t + 1) * rows + r0 + 0] = buf[bo + 16 * L + 4] + q01;
        y[(t + 1) * rows + r0 + 1] = buf[bo + 16 * L + 5] + q11;
        y[(t + 1) * rows + r0 + 2] = buf[bo + 16 * L + 6] + q21;
        y[(t + 1) * rows + r0 + 3] = buf[bo + 16 * L + 7] + q31;
        y[(t + 2) * rows + r0 + 0] = buf[bo + 16 * L + 8] + q02;
        y[(t + 2) * rows + r0 + 1] = buf[bo + 16 * L + 9] + q12;
        y[(t + 2) * rows + r0 + 2] = buf[bo + 16 * L + 10] + q22;
        y[(t + 2) * rows + r0 + 3] = buf[bo + 16 * L + 11] + q32;
        y[(t + 3) * rows + r0 + 0] = buf[bo + 16 * L + 12] + q03;
        y[(t + 3) * rows + r0 + 1] = buf[bo + 16 * L + 13] + q13;
        y[(t + 3) * rows + r0 + 2] = buf[bo + 16 * L + 14] + q23;
        y[(t + 3) * rows + r0 + 3] = buf[bo + 16 * L + 15] + q33;
    }
    /**
     * Rows {@code r0 + i0} and {@code r0 + i0 + 1} of a full tile for tokens {@code t .. t+3}: eight accumulators, stored at
     * {@code buf[bo + (4 j + i) L]} (token j, row i of the tile) for {@link VectorMath#sum16}; per accumulator the FMAs run
     * in column order with {@code code * scale} as in every kernel here.
     */
    private void rows2tokens4(int r0, int i0, int t, float[] x, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long o = (long) r0 * cols + (long) i0 * GB;
        final int sa = sbase(r0 + i0);
        final int sb = sbase(r0 + i0 + 1);
        final int x0 = (t + 0) * cols;
        final int x1 = (t + 1) * cols;
        final int x2 = (t + 2) * cols;
        final int x3 = (t + 3) * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F), b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
        for (int c = 0; c < full; c += G) {
            final long q = o + 4L * c;
            IntVector v = IntVector.fromMemorySegment(I, packed, q, ByteOrder.LITTLE_ENDIAN);
            IntVector u = IntVector.fromMemorySegment(I, packed, q + GB, ByteOrder.LITTLE_ENDIAN);
            FloatVector w, z, xv;
            int b;
            b = (c + 0 * L) >> bwShift;
            w = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sa + (b << 2)]);
            z = ((FloatVector) u.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb + (b << 2)]);
            xv = FloatVector.fromArray(F, x, x0 + c + 0 * L);
            a0 = w.fma(xv, a0);
            b0 = z.fma(xv, b0);
            xv = FloatVector.fromArray(F, x, x1 + c + 0 * L);
            a1 = w.fma(xv, a1);
            b1 = z.fma(xv, b1);
            xv = FloatVector.fromArray(F, x, x2 + c + 0 * L);
            a2 = w.fma(xv, a2);
            b2 = z.fma(xv, b2);
            xv = FloatVector.fromArray(F, x, x3 + c + 0 * L);
            a3 = w.fma(xv, a3);
            b3 = z.fma(xv, b3);
            b = (c + 1 * L) >> bwShift;
            w = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sa + (b << 2)]);
            z = ((FloatVector) u.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb + (b << 2)]);
            xv = FloatVector.fromArray(F, x, x0 + c + 1 * L);
            a0 = w.fma(xv, a0);
            b0 = z.fma(xv, b0);
            xv = FloatVector.fromArray(F, x, x1 + c + 1 * L);
            a1 = w.fma(xv, a1);
            b1 = z.fma(xv, b1);
            xv = FloatVector.fromArray(F, x, x2 + c + 1 * L);
            a2 = w.fma(xv, a2);
            b2 = z.fma(xv, b2);
            xv = FloatVector.fromArray(F, x, x3 + c + 1 * L);
            a3 = w.fma(xv, a3);
            b3 = z.fma(xv, b3);
            b = (c + 2 * L) >> bwShift;
            w = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sa + (b << 2)]);
            z = ((FloatVector) u.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb + (b << 2)]);
            xv = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            a0 = w.fma(xv, a0);
            b0 = z.fma(xv, b0);
            xv = FloatVector.fromArray(F, x, x1 + c + 2 * L);
            a1 = w.fma(xv, a1);
            b1 = z.fma(xv, b1);
            xv = FloatVector.fromArray(F, x, x2 + c + 2 * L);
            a2 = w.fma(xv, a2);
            b2 = z.fma(xv, b2);
            xv = FloatVector.fromArray(F, x, x3 + c + 2 * L);
            a3 = w.fma(xv, a3);
            b3 = z.fma(xv, b3);
            b = (c + 3 * L) >> bwShift;
            w = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sa + (b << 2)]);
            z = ((FloatVector) u.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb + (b << 2)]);
            xv = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            a0 = w.fma(xv, a0);
            b0 = z.fma(xv, b0);
            xv = FloatVector.fromArray(F, x, x1 + c + 3 * L);
            a1 = w.fma(xv, a1);
            b1 = z.fma(xv, b1);
            xv = FloatVector.fromArray(F, x, x2 + c + 3 * L);
            a2 = w.fma(xv, a2);
            b2 = z.fma(xv, b2);
            xv = FloatVector.fromArray(F, x, x3 + c + 3 * L);
            a3 = w.fma(xv, a3);
            b3 = z.fma(xv, b3);
        }
        a0.intoArray(buf, bo + (0 + i0) * L);
        b0.intoArray(buf, bo + (0 + i0 + 1) * L);
        a1.intoArray(buf, bo + (4 + i0) * L);
        b1.intoArray(buf, bo + (4 + i0 + 1) * L);
        a2.intoArray(buf, bo + (8 + i0) * L);
        b2.intoArray(buf, bo + (8 + i0 + 1) * L);
        a3.intoArray(buf, bo + (12 + i0) * L);
        b3.intoArray(buf, bo + (12 + i0 + 1) * L);
    }

    /**
     * Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t, t + 1}: each weight vector widened and scaled once for
     * both tokens, eight accumulators each fed as in {@link #tile4x1}, so the same bits. Two users' decode step used to
     * widen every weight twice ({@link #tile4x1} per token).
     */
    private void tile4x2(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        int b;
        final int sr0 = sbase(r0), sr1 = sbase(r0 + 1), sr2 = sbase(r0 + 2), sr3 = sbase(r0 + 3);
        final int x0 = t * cols, x1 = x0 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F);
        long off = (long) r0 * cols;
        for (int c = 0; c < full; c += G, off += 4L * GB) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * GB, ByteOrder.LITTLE_ENDIAN);
            FloatVector w, p, q;
            p = FloatVector.fromArray(F, x, x0 + c + 0 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 0 * L);
            b = (c + 0 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            w = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            w = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            w = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            p = FloatVector.fromArray(F, x, x0 + c + 1 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 1 * L);
            b = (c + 1 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            w = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            w = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            w = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            p = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 2 * L);
            b = (c + 2 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            w = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            w = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            w = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            p = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 3 * L);
            b = (c + 3 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            w = ((FloatVector) v1.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            w = ((FloatVector) v2.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            w = ((FloatVector) v3.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
        }
        a00.intoArray(buf, bo);
        a10.intoArray(buf, bo + L);
        a20.intoArray(buf, bo + 2 * L);
        a30.intoArray(buf, bo + 3 * L);
        finish4x1(r0, t, x, y, buf, bo);
        a01.intoArray(buf, bo);
        a11.intoArray(buf, bo + L);
        a21.intoArray(buf, bo + 2 * L);
        a31.intoArray(buf, bo + 3 * L);
        finish4x1(r0, t + 1, x, y, buf, bo);
    }

    /**
     * Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t+3} in one pass: sixteen accumulators, each fed as in
     * {@link #tile4x1}, stored at {@code buf[bo + (4 token + row) L]} as {@link #rows2tokens4} stores them, so the same
     * bits. With the four code vectors, four activations and the widened weight, 25 vector registers: AVX-512 only
     * ({@link #REGISTERS32}); there each weight vector is widened once for four tokens instead of twice.
     */
    private void rows4tokens4(int r0, int t, float[] x, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        int b;
        final int sr0 = sbase(r0), sr1 = sbase(r0 + 1), sr2 = sbase(r0 + 2), sr3 = sbase(r0 + 3);
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F), a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F), a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F), a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F), a33 = FloatVector.zero(F);
        long off = (long) r0 * cols;
        for (int c = 0; c < full; c += G, off += 4L * GB) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * GB, ByteOrder.LITTLE_ENDIAN);
            FloatVector w, p, q, u, e;
            p = FloatVector.fromArray(F, x, x0 + c + 0 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 0 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 0 * L);
            e = FloatVector.fromArray(F, x, x3 + c + 0 * L);
            b = (c + 0 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            a03 = w.fma(e, a03);
            w = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            a13 = w.fma(e, a13);
            w = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            a23 = w.fma(e, a23);
            w = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            a33 = w.fma(e, a33);
            p = FloatVector.fromArray(F, x, x0 + c + 1 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 1 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 1 * L);
            e = FloatVector.fromArray(F, x, x3 + c + 1 * L);
            b = (c + 1 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            a03 = w.fma(e, a03);
            w = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            a13 = w.fma(e, a13);
            w = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            a23 = w.fma(e, a23);
            w = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            a33 = w.fma(e, a33);
            p = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 2 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 2 * L);
            e = FloatVector.fromArray(F, x, x3 + c + 2 * L);
            b = (c + 2 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            a03 = w.fma(e, a03);
            w = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            a13 = w.fma(e, a13);
            w = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            a23 = w.fma(e, a23);
            w = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            a33 = w.fma(e, a33);
            p = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 3 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 3 * L);
            e = FloatVector.fromArray(F, x, x3 + c + 3 * L);
            b = (c + 3 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            a03 = w.fma(e, a03);
            w = ((FloatVector) v1.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            a13 = w.fma(e, a13);
            w = ((FloatVector) v2.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            a23 = w.fma(e, a23);
            w = ((FloatVector) v3.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            a33 = w.fma(e, a33);
        }
        a00.intoArray(buf, bo + 0 * L);
        a10.intoArray(buf, bo + 1 * L);
        a20.intoArray(buf, bo + 2 * L);
        a30.intoArray(buf, bo + 3 * L);
        a01.intoArray(buf, bo + 4 * L);
        a11.intoArray(buf, bo + 5 * L);
        a21.intoArray(buf, bo + 6 * L);
        a31.intoArray(buf, bo + 7 * L);
        a02.intoArray(buf, bo + 8 * L);
        a12.intoArray(buf, bo + 9 * L);
        a22.intoArray(buf, bo + 10 * L);
        a32.intoArray(buf, bo + 11 * L);
        a03.intoArray(buf, bo + 12 * L);
        a13.intoArray(buf, bo + 13 * L);
        a23.intoArray(buf, bo + 14 * L);
        a33.intoArray(buf, bo + 15 * L);
    }

    /**
     * Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t + 2}: {@link #tile4x2} with a third token, twelve
     * accumulators (with the four code vectors, three activations and the widened weight, 20 vector registers: AVX-512's
     * 32 only, see {@link #REGISTERS32}). Three users' decode step took {@link #tile4x2} and {@link #tile4x1}, widening every
     * weight twice, and ran slower than two users' (docs/PERFORMANCE.md, thirty-sixth session).
     */
    private void tile4x3(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        int b;
        final int sr0 = sbase(r0), sr1 = sbase(r0 + 1), sr2 = sbase(r0 + 2), sr3 = sbase(r0 + 3);
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F);
        long off = (long) r0 * cols;
        for (int c = 0; c < full; c += G, off += 4L * GB) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * GB, ByteOrder.LITTLE_ENDIAN);
            FloatVector w, p, q, u;
            p = FloatVector.fromArray(F, x, x0 + c + 0 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 0 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 0 * L);
            b = (c + 0 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            w = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            w = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            w = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            p = FloatVector.fromArray(F, x, x0 + c + 1 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 1 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 1 * L);
            b = (c + 1 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            w = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            w = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            w = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            p = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 2 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 2 * L);
            b = (c + 2 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            w = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            w = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            w = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            p = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 3 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 3 * L);
            b = (c + 3 * L) >> bwShift;
            w = ((FloatVector) v0.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            w = ((FloatVector) v1.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            w = ((FloatVector) v2.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            w = ((FloatVector) v3.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
        }
        a00.intoArray(buf, bo);
        a10.intoArray(buf, bo + L);
        a20.intoArray(buf, bo + 2 * L);
        a30.intoArray(buf, bo + 3 * L);
        finish4x1(r0, t, x, y, buf, bo);
        a01.intoArray(buf, bo);
        a11.intoArray(buf, bo + L);
        a21.intoArray(buf, bo + 2 * L);
        a31.intoArray(buf, bo + 3 * L);
        finish4x1(r0, t + 1, x, y, buf, bo);
        a02.intoArray(buf, bo);
        a12.intoArray(buf, bo + L);
        a22.intoArray(buf, bo + 2 * L);
        a32.intoArray(buf, bo + 3 * L);
        finish4x1(r0, t + 2, x, y, buf, bo);
    }

    /** Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t+0}. */
    private void tile4x1(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long base = (long) r0 * cols;
        int b;
        final int sr0 = sbase(r0 + 0);
        final int sr1 = sbase(r0 + 1);
        final int sr2 = sbase(r0 + 2);
        final int sr3 = sbase(r0 + 3);
        final int x0 = (t + 0) * cols;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F);
        long off = base;
        for (int c = 0; c < full; c += G, off += 4L * GB) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * GB, ByteOrder.LITTLE_ENDIAN);
            b = (c + 0 * L) >> bwShift;
            FloatVector w00 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector w10 = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            FloatVector w20 = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            FloatVector w30 = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            FloatVector x00 = FloatVector.fromArray(F, x, x0 + c + 0 * L);
            a00 = w00.fma(x00, a00);
            a10 = w10.fma(x00, a10);
            a20 = w20.fma(x00, a20);
            a30 = w30.fma(x00, a30);
            b = (c + 1 * L) >> bwShift;
            FloatVector w01 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector w11 = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            FloatVector w21 = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            FloatVector w31 = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            FloatVector x01 = FloatVector.fromArray(F, x, x0 + c + 1 * L);
            a00 = w01.fma(x01, a00);
            a10 = w11.fma(x01, a10);
            a20 = w21.fma(x01, a20);
            a30 = w31.fma(x01, a30);
            b = (c + 2 * L) >> bwShift;
            FloatVector w02 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector w12 = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            FloatVector w22 = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            FloatVector w32 = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            FloatVector x02 = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            a00 = w02.fma(x02, a00);
            a10 = w12.fma(x02, a10);
            a20 = w22.fma(x02, a20);
            a30 = w32.fma(x02, a30);
            b = (c + 3 * L) >> bwShift;
            FloatVector w03 = ((FloatVector) v0.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector w13 = ((FloatVector) v1.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            FloatVector w23 = ((FloatVector) v2.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            FloatVector w33 = ((FloatVector) v3.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            FloatVector x03 = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            a00 = w03.fma(x03, a00);
            a10 = w13.fma(x03, a10);
            a20 = w23.fma(x03, a20);
            a30 = w33.fma(x03, a30);
        }
        a00.intoArray(buf, bo);
        a10.intoArray(buf, bo + L);
        a20.intoArray(buf, bo + 2 * L);
        a30.intoArray(buf, bo + 3 * L);
        finish4x1(r0, t, x, y, buf, bo);
    }

    /** Whether one token runs in machine code ({@link NativeKernels#q8Decode}), on rows of whole groups. */
    private static final boolean NATIVE_DECODE = NativeKernels.available();

    /**
     * One token, tiles {@code tile0 .. tile1}: runs of whole tiles through {@link NativeKernels#q8Decode} (one sequential
     * stream, prefetched ahead: the Java kernels read DRAM at about half the bandwidth), a short last tile through
     * {@link #run}. The same arithmetic in the same order, so the same bits as {@link #decode}.
     */
    private void decodeNative(float[] x, float[] y, int tile0, int tile1, float[] buf, long ahead) {
        final int whole = Math.min(tile1, rows / QuantKernels.TILE);
        for (int t = tile0; t < whole; t += NativeKernels.DECODE_TILES) {
            final int n = Math.min(NativeKernels.DECODE_TILES, whole - t);
            NativeKernels.q8Decode(packed, (long) t * QuantKernels.TILE * cols, n, cols, bwShift, nb, scales, sbase(t * QuantKernels.TILE), x, y,
                    t * QuantKernels.TILE, ahead);
        }
        if (whole < tile1) {
            run(x, 1, y, Math.max(tile0, whole), tile1, buf, 0);
        }
    }

    /**
     * Up to this many tokens run through {@link NativeKernels#q8Tokens} where it can run (rows of whole groups, blocks of
     * at least 16 columns), as {@link Fp8BlockMatrix}'s do through {@code fp8Tokens}: every code widened and scaled once per
     * group of up to five tokens, instead of the register path ({@link #run}, 2 to 5 tokens) or the widened tile ({@link
     * #prompt}). `QuickMatrixRates q8_0 SHAPE N 1` (G products a second, one thread, AMD EPYC Zen 4; before -> after):
     * [4864x896] 2 tokens 23.0 -> 35.5, 4 35.2 -> 42.3, 6 29.8 -> 40.1, 8 39.7 -> 42.4, 10 35.9 -> 40.5, 12 43.0 -> 42.4,
     * 16 45.3 -> 42.3, 64 48.3 -> 42.4; from DRAM [151936x896] 2 tokens 22.0 -> 33.0, 8 28.8 -> 41.4, 16 37.2 -> 41.9. So up
     * to 16, where a model's weights come from DRAM (the widened tile wins only from cache, and from 12 tokens). Its
     * rate stays below FP8's (about 51): each code takes a conversion and a multiply by its scale besides the shifts.
     */
    private static final int NATIVE_TOKENS = 16;

    /**
     * Two to {@link #NATIVE_TOKENS} tokens, tiles {@code tile0 .. tile1}: runs of whole tiles through {@link
     * NativeKernels#q8Tokens}, a short last tile through {@link #run}. The arithmetic of {@link #run}, so the same bits.
     */
    private void tokensNative(float[] x, int n, float[] y, int tile0, int tile1, float[] buf, long ahead) {
        final int whole = Math.min(tile1, rows / QuantKernels.TILE);
        for (int t = tile0; t < whole; t += NativeKernels.DECODE_TILES) {
            final int k = Math.min(NativeKernels.DECODE_TILES, whole - t);
            NativeKernels.q8Tokens(packed, (long) t * QuantKernels.TILE * cols, k, cols, bwShift, nb, scales, sbase(t * QuantKernels.TILE), n, rows,
                    x, y, t * QuantKernels.TILE, buf, ahead);
        }
        if (Math.max(tile0, whole) < tile1) {
            run(x, n, y, Math.max(tile0, whole), tile1, buf, 0);
        }
    }

    /**
     * The product through the Java kernels alone (one token {@link #decode}, more the register path {@link #run}), what a
     * host without the machine code runs: tests compare the native paths' bits with it.
     */
    void multiplyInJava(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        int tiles = (rows + QuantKernels.TILE - 1) / QuantKernels.TILE;
        int grain = QuantKernels.tileGrain(rows, pool.threads());
        if (n == 1) {
            pool.forRange(tiles, grain, 1, (t0, t1, w) -> decode(x, y, t0, t1, pool.workerScratch(w, SUMS)));
        } else {
            pool.forRange(tiles, grain, 1, (t0, t1, w) -> run(x, n, y, t0, t1, pool.workerScratch(w, SUMS), 0));
        }
    }

    /**
     * One token: tiles {@code tile0 + i} and {@code tile0 + h + i} ({@code h} half the range) through {@link #tiles2x1},
     * two long sequential streams, so the reads of one overlap the widening arithmetic of the other (see
     * {@code Fp8BlockMatrix#decode}). Same arithmetic per row, same bits. Measured (`QuickMatrixRates q8_0 SHAPE 1
     * [threads]`, one build alternating with a temporary switch, GB/s): [151936 x 896] 7.96 -> 9.33 on one thread,
     * 15.2 -> 17.2 on two; [896 x 4864] (in cache) unchanged, 18.2-18.4. The same pairing measured no clear gain for
     * Q4_0 (10.6-11.4 -> 11.2-12.1 G weights/s, within the noise), whose decode is bound by its arithmetic, and a
     * single loop over both of its tiles inlines too many vector nodes for C2; Q4_0 keeps one tile at a time.
     */
    private void decode(float[] x, float[] y, int tile0, int tile1, float[] buf) {
        final int h = (tile1 - tile0) / 2;
        for (int i = 0; i < h; i++) {
            int ra = (tile0 + i) * QuantKernels.TILE;
            int rb = (tile0 + h + i) * QuantKernels.TILE;
            if (rb + QuantKernels.TILE <= rows && (bw == 32 && G >= 32 || bw == 16)) {
                tiles2x1Block(ra, rb, x, y, buf, 0);
            } else if (rb + QuantKernels.TILE <= rows) {
                tiles2x1(ra, rb, x, y, buf, 0);
            } else {
                run(x, 1, y, tile0 + i, tile0 + i + 1, buf, 0);
                run(x, 1, y, tile0 + h + i, tile0 + h + i + 1, buf, 0);
            }
        }
        run(x, 1, y, tile0 + 2 * h, tile1, buf, 0);
    }

    /**
     * Full tiles at rows {@code r0} and {@code rb}, token 0: {@link #tile4x1} twice, in one pass. The accumulators go
     * to {@code buf} before {@link #finish4x1}: passed as vectors to a method C2 does not inline, they were boxed and
     * the kernel ran at a quarter of its speed.
     */
    private void tiles2x1(int r0, int rb, float[] x, float[] y, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        int b;
        final int sr0 = sbase(r0 + 0);
        final int sr1 = sbase(r0 + 1);
        final int sr2 = sbase(r0 + 2);
        final int sr3 = sbase(r0 + 3);
        final int sb0 = sbase(rb + 0);
        final int sb1 = sbase(rb + 1);
        final int sb2 = sbase(rb + 2);
        final int sb3 = sbase(rb + 3);
        final int x0 = 0;
        FloatVector a00 = FloatVector.zero(F), a10 = FloatVector.zero(F), a20 = FloatVector.zero(F), a30 = FloatVector.zero(F);
        FloatVector b00 = FloatVector.zero(F), b10 = FloatVector.zero(F), b20 = FloatVector.zero(F), b30 = FloatVector.zero(F);
        long off = (long) r0 * cols;
        long offB = (long) rb * cols;
        for (int c = 0; c < full; c += G, off += 4L * GB, offB += 4L * GB) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * GB, ByteOrder.LITTLE_ENDIAN);
            b = (c + 0 * L) >> bwShift;
            FloatVector w00 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector w10 = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            FloatVector w20 = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            FloatVector w30 = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            FloatVector x00 = FloatVector.fromArray(F, x, x0 + c + 0 * L);
            a00 = w00.fma(x00, a00);
            a10 = w10.fma(x00, a10);
            a20 = w20.fma(x00, a20);
            a30 = w30.fma(x00, a30);
            b = (c + 1 * L) >> bwShift;
            FloatVector w01 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector w11 = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            FloatVector w21 = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            FloatVector w31 = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            FloatVector x01 = FloatVector.fromArray(F, x, x0 + c + 1 * L);
            a00 = w01.fma(x01, a00);
            a10 = w11.fma(x01, a10);
            a20 = w21.fma(x01, a20);
            a30 = w31.fma(x01, a30);
            b = (c + 2 * L) >> bwShift;
            FloatVector w02 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector w12 = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            FloatVector w22 = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            FloatVector w32 = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            FloatVector x02 = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            a00 = w02.fma(x02, a00);
            a10 = w12.fma(x02, a10);
            a20 = w22.fma(x02, a20);
            a30 = w32.fma(x02, a30);
            b = (c + 3 * L) >> bwShift;
            FloatVector w03 = ((FloatVector) v0.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector w13 = ((FloatVector) v1.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + (b << 2)]);
            FloatVector w23 = ((FloatVector) v2.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + (b << 2)]);
            FloatVector w33 = ((FloatVector) v3.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + (b << 2)]);
            FloatVector x03 = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            a00 = w03.fma(x03, a00);
            a10 = w13.fma(x03, a10);
            a20 = w23.fma(x03, a20);
            a30 = w33.fma(x03, a30);
            IntVector u0 = IntVector.fromMemorySegment(I, packed, offB + 0L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector u1 = IntVector.fromMemorySegment(I, packed, offB + 1L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector u2 = IntVector.fromMemorySegment(I, packed, offB + 2L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector u3 = IntVector.fromMemorySegment(I, packed, offB + 3L * GB, ByteOrder.LITTLE_ENDIAN);
            b = (c + 0 * L) >> bwShift;
            FloatVector wb00 = ((FloatVector) u0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb0 + (b << 2)]);
            FloatVector wb10 = ((FloatVector) u1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb1 + (b << 2)]);
            FloatVector wb20 = ((FloatVector) u2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb2 + (b << 2)]);
            FloatVector wb30 = ((FloatVector) u3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb3 + (b << 2)]);
            b00 = wb00.fma(x00, b00);
            b10 = wb10.fma(x00, b10);
            b20 = wb20.fma(x00, b20);
            b30 = wb30.fma(x00, b30);
            b = (c + 1 * L) >> bwShift;
            FloatVector wb01 = ((FloatVector) u0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb0 + (b << 2)]);
            FloatVector wb11 = ((FloatVector) u1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb1 + (b << 2)]);
            FloatVector wb21 = ((FloatVector) u2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb2 + (b << 2)]);
            FloatVector wb31 = ((FloatVector) u3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb3 + (b << 2)]);
            b00 = wb01.fma(x01, b00);
            b10 = wb11.fma(x01, b10);
            b20 = wb21.fma(x01, b20);
            b30 = wb31.fma(x01, b30);
            b = (c + 2 * L) >> bwShift;
            FloatVector wb02 = ((FloatVector) u0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb0 + (b << 2)]);
            FloatVector wb12 = ((FloatVector) u1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb1 + (b << 2)]);
            FloatVector wb22 = ((FloatVector) u2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb2 + (b << 2)]);
            FloatVector wb32 = ((FloatVector) u3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb3 + (b << 2)]);
            b00 = wb02.fma(x02, b00);
            b10 = wb12.fma(x02, b10);
            b20 = wb22.fma(x02, b20);
            b30 = wb32.fma(x02, b30);
            b = (c + 3 * L) >> bwShift;
            FloatVector wb03 = ((FloatVector) u0.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb0 + (b << 2)]);
            FloatVector wb13 = ((FloatVector) u1.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb1 + (b << 2)]);
            FloatVector wb23 = ((FloatVector) u2.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb2 + (b << 2)]);
            FloatVector wb33 = ((FloatVector) u3.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sb3 + (b << 2)]);
            b00 = wb03.fma(x03, b00);
            b10 = wb13.fma(x03, b10);
            b20 = wb23.fma(x03, b20);
            b30 = wb33.fma(x03, b30);
                }
        a00.intoArray(buf, bo);
        a10.intoArray(buf, bo + L);
        a20.intoArray(buf, bo + 2 * L);
        a30.intoArray(buf, bo + 3 * L);
        b00.intoArray(buf, bo + 4 * L);
        b10.intoArray(buf, bo + 5 * L);
        b20.intoArray(buf, bo + 6 * L);
        b30.intoArray(buf, bo + 7 * L);
        finish4x1(r0, 0, x, y, buf, bo);
        finish4x1(rb, 0, x, y, buf, bo + 4 * L);
    }

    /**
     * {@link #tiles2x1} for blocks of 32 columns (Q8_0, IQ4_NL, IQ4_XS) on vectors of 8 lanes or more, and of 16 (Q6_K, Q3_K), where step
     * k of group {@code g} reads scale {@code g * (G / 32) + kL / 32}, constants but for {@code g}. With that index
     * linear in the loop counter, C2 checks the scale indexes once before the loop and loads each row's scale once per group; computed
     * as {@code (c + k L) >> bwShift} they stayed in the loop, and C2 compiled the loop in one of two forms per
     * process: after a prompt, decode ran at 15-16 or 10-11 tok/s on qwen2.5-0.5b Q8_0 (one thread), against
     * 15.2-15.7 in every process with this method (docs/PERFORMANCE.md, fifteenth session). The same index with a
     * factor held in a field ({@code g * (G / bw)}) brought both forms back; so did one scale array per step (four
     * loads per row and group instead of one, 12-14 tok/s).
     *
     * <p>The two tiles take turns, {@link #STREAM_GROUPS} groups (512 columns) at a time, each with its four accumulators,
     * kept in {@code buf[bo ..]} between turns (stored and reloaded exactly; each still takes its FMAs in column order, so
     * the bits are unchanged). With both tiles in one loop, eight accumulators and the eight loaded code vectors did not
     * fit AVX2's 16 registers and C2 spilled accumulators (read through {@code scripts/hsdis}; the same finding as
     * {@code Fp8BlockMatrix#tiles2x1}). Measured (`QuickMatrixRates q8_0 SHAPE 1 1`, wall G weights/s, AMD EPYC host):
     * [256 x 896] 9.75 -> 11.45, [4864 x 896] 9.63 -> 11.04, [896 x 4864] 7.03 -> 11.64, from DRAM [151936 x 896] 9.42 ->
     * 10.33 (whole rows per turn: 11.64, 11.48, 12.51 and 9.99). End to end (`bench -p 16 -n 128 -t 1`, alternated
     * processes): qwen2.5-0.5b Q8_0 decode 14.8-15.2 -> 16.8-19.5 tok/s, llama-3.2-1b Q8_0 6.3-6.4 -> 8.1.
     *
     * <p>Blocks of 16 columns (Q6_K, Q3_K) take {@link #tiles2x1Block16Stream} in the same turns.
     */
    private void tiles2x1Block(int r0, int rb, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int groups = cols / G;
        java.util.Arrays.fill(buf, bo, bo + 8 * L, 0f);
        for (int g0 = 0; g0 < groups; g0 += STREAM_GROUPS) {
            final int g1 = Math.min(groups, g0 + STREAM_GROUPS);
            if (bw == 16) {
                tiles2x1Block16Stream(r0, x, g0, g1, buf, bo);
                tiles2x1Block16Stream(rb, x, g0, g1, buf, bo + 4 * L);
            } else {
                tiles2x1BlockStream(r0, x, g0, g1, buf, bo);
                tiles2x1BlockStream(rb, x, g0, g1, buf, bo + 4 * L);
            }
        }
        finish4x1(r0, 0, x, y, buf, bo);
        finish4x1(rb, 0, x, y, buf, bo + 4 * L);
    }

    /** Groups {@code g0 .. g1} of the full tile at row {@code r0}, one token, its four accumulators at {@code buf[ao ..]} (read and written). */
    private void tiles2x1BlockStream(int r0, float[] x, int g0, int g1, float[] buf, int ao) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int sr0 = sbase(r0 + 0);
        final int sr1 = sbase(r0 + 1);
        final int sr2 = sbase(r0 + 2);
        final int sr3 = sbase(r0 + 3);
        final long o = (long) r0 * cols;
        FloatVector a0 = FloatVector.fromArray(F, buf, ao), a1 = FloatVector.fromArray(F, buf, ao + L);
        FloatVector a2 = FloatVector.fromArray(F, buf, ao + 2 * L), a3 = FloatVector.fromArray(F, buf, ao + 3 * L);
        for (int g = g0; g < g1; g++) {
            final int c = g * G;
            final long q = o + (long) g * (4 * GB);
            IntVector v;
            FloatVector x0, x1, x2, x3;
            v = IntVector.fromMemorySegment(I, packed, q + 0L * GB, ByteOrder.LITTLE_ENDIAN);
            x0 = FloatVector.fromArray(F, x, c + 0 * L);
            a0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + g * (G >> 3) + 4 * S0]).fma(x0, a0);
            x1 = FloatVector.fromArray(F, x, c + 1 * L);
            a0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + g * (G >> 3) + 4 * S1]).fma(x1, a0);
            x2 = FloatVector.fromArray(F, x, c + 2 * L);
            a0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + g * (G >> 3) + 4 * S2]).fma(x2, a0);
            x3 = FloatVector.fromArray(F, x, c + 3 * L);
            a0 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + g * (G >> 3) + 4 * S3]).fma(x3, a0);
            v = IntVector.fromMemorySegment(I, packed, q + 1L * GB, ByteOrder.LITTLE_ENDIAN);
            a1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + g * (G >> 3) + 4 * S0]).fma(x0, a1);
            a1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + g * (G >> 3) + 4 * S1]).fma(x1, a1);
            a1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + g * (G >> 3) + 4 * S2]).fma(x2, a1);
            a1 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + g * (G >> 3) + 4 * S3]).fma(x3, a1);
            v = IntVector.fromMemorySegment(I, packed, q + 2L * GB, ByteOrder.LITTLE_ENDIAN);
            a2 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + g * (G >> 3) + 4 * S0]).fma(x0, a2);
            a2 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + g * (G >> 3) + 4 * S1]).fma(x1, a2);
            a2 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + g * (G >> 3) + 4 * S2]).fma(x2, a2);
            a2 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + g * (G >> 3) + 4 * S3]).fma(x3, a2);
            v = IntVector.fromMemorySegment(I, packed, q + 3L * GB, ByteOrder.LITTLE_ENDIAN);
            a3 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + g * (G >> 3) + 4 * S0]).fma(x0, a3);
            a3 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + g * (G >> 3) + 4 * S1]).fma(x1, a3);
            a3 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + g * (G >> 3) + 4 * S2]).fma(x2, a3);
            a3 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + g * (G >> 3) + 4 * S3]).fma(x3, a3);
        }
        a0.intoArray(buf, ao);
        a1.intoArray(buf, ao + L);
        a2.intoArray(buf, ao + 2 * L);
        a3.intoArray(buf, ao + 3 * L);
    }

    /**
     * {@link #tiles2x1BlockStream} for blocks of 16 columns (Q6_K, Q3_K): the same method but for its scale index,
     * {@code g * (G / 16) + kL / 16}. A copy, because the factor must be a constant: one method choosing the factor by
     * a test of {@code bw} at each index decoded llama-3.2-1b Q4_K_M 11% faster (6.8 -> 7.5 tok/s, where both block
     * widths run from the first token), but qwen2.5-0.5b Q4_K_M, whose first matrices are Q5_0, in two speeds per
     * process (19.0 once, 10.8 and 11.7 twice, against 15.0-16.4 before).
     */
    private void tiles2x1Block16Stream(int r0, float[] x, int g0, int g1, float[] buf, int ao) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int sr0 = sbase(r0 + 0);
        final int sr1 = sbase(r0 + 1);
        final int sr2 = sbase(r0 + 2);
        final int sr3 = sbase(r0 + 3);
        final long o = (long) r0 * cols;
        FloatVector a0 = FloatVector.fromArray(F, buf, ao), a1 = FloatVector.fromArray(F, buf, ao + L);
        FloatVector a2 = FloatVector.fromArray(F, buf, ao + 2 * L), a3 = FloatVector.fromArray(F, buf, ao + 3 * L);
        for (int g = g0; g < g1; g++) {
            final int c = g * G;
            final long q = o + (long) g * (4 * GB);
            IntVector v;
            FloatVector x0, x1, x2, x3;
            v = IntVector.fromMemorySegment(I, packed, q + 0L * GB, ByteOrder.LITTLE_ENDIAN);
            x0 = FloatVector.fromArray(F, x, c + 0 * L);
            a0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + g * (G >> 2) + 4 * T0]).fma(x0, a0);
            x1 = FloatVector.fromArray(F, x, c + 1 * L);
            a0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + g * (G >> 2) + 4 * T1]).fma(x1, a0);
            x2 = FloatVector.fromArray(F, x, c + 2 * L);
            a0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + g * (G >> 2) + 4 * T2]).fma(x2, a0);
            x3 = FloatVector.fromArray(F, x, c + 3 * L);
            a0 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + g * (G >> 2) + 4 * T3]).fma(x3, a0);
            v = IntVector.fromMemorySegment(I, packed, q + 1L * GB, ByteOrder.LITTLE_ENDIAN);
            a1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + g * (G >> 2) + 4 * T0]).fma(x0, a1);
            a1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + g * (G >> 2) + 4 * T1]).fma(x1, a1);
            a1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + g * (G >> 2) + 4 * T2]).fma(x2, a1);
            a1 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr1 + g * (G >> 2) + 4 * T3]).fma(x3, a1);
            v = IntVector.fromMemorySegment(I, packed, q + 2L * GB, ByteOrder.LITTLE_ENDIAN);
            a2 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + g * (G >> 2) + 4 * T0]).fma(x0, a2);
            a2 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + g * (G >> 2) + 4 * T1]).fma(x1, a2);
            a2 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + g * (G >> 2) + 4 * T2]).fma(x2, a2);
            a2 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr2 + g * (G >> 2) + 4 * T3]).fma(x3, a2);
            v = IntVector.fromMemorySegment(I, packed, q + 3L * GB, ByteOrder.LITTLE_ENDIAN);
            a3 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + g * (G >> 2) + 4 * T0]).fma(x0, a3);
            a3 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + g * (G >> 2) + 4 * T1]).fma(x1, a3);
            a3 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + g * (G >> 2) + 4 * T2]).fma(x2, a3);
            a3 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr3 + g * (G >> 2) + 4 * T3]).fma(x3, a3);
        }
        a0.intoArray(buf, ao);
        a1.intoArray(buf, ao + L);
        a2.intoArray(buf, ao + 2 * L);
        a3.intoArray(buf, ao + 3 * L);
    }

    /** Lane sums and tails of a full tile's four one-token accumulators stored at {@code buf[bo ...]}, token {@code t}. */
    private void finish4x1(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int xf = t * cols + full;
        final int yo = t * rows + r0;
        final int tl = cols - full;
        final long toff = (long) r0 * cols + (long) full * 4;
        final int sr0 = sbase(r0), sr1 = sbase(r0 + 1), sr2 = sbase(r0 + 2), sr3 = sbase(r0 + 3);
        float q00 = 0f;
        float q10 = 0f;
        float q20 = 0f;
        float q30 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) / bw;
            final float u0 = packed.get(ValueLayout.JAVA_BYTE, toff + 0L * tl + i) * scales[sr0 + (cb << 2)];
            final float u1 = packed.get(ValueLayout.JAVA_BYTE, toff + 1L * tl + i) * scales[sr1 + (cb << 2)];
            final float u2 = packed.get(ValueLayout.JAVA_BYTE, toff + 2L * tl + i) * scales[sr2 + (cb << 2)];
            final float u3 = packed.get(ValueLayout.JAVA_BYTE, toff + 3L * tl + i) * scales[sr3 + (cb << 2)];
            q00 += u0 * x[xf + i];
            q10 += u1 * x[xf + i];
            q20 += u2 * x[xf + i];
            q30 += u3 * x[xf + i];
        }
        y[yo] = VectorMath.sum(buf, bo) + q00;
        y[yo + 1] = VectorMath.sum(buf, bo + L) + q10;
        y[yo + 2] = VectorMath.sum(buf, bo + 2 * L) + q20;
        y[yo + 3] = VectorMath.sum(buf, bo + 3 * L) + q30;
    }

    /** Row {@code r} of a tile of {@code h} rows, token {@code t}; same summation order as the tile kernels. */
    private void row1(int r, int h, int t, float[] x, float[] y, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int r0 = r - r % QuantKernels.TILE;
        final int ri = r - r0;
        final long base = (long) r0 * cols;
        final int sr0 = sbase(r);
        final int x0 = t * cols;
        int b;
        FloatVector a00 = FloatVector.zero(F);
        final long step = (long) h * GB;
        long off = base + (long) ri * GB;
        for (int c = 0; c < full; c += G, off += step) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
            b = (c + 0 * L) >> bwShift;
            FloatVector w00 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector x00 = FloatVector.fromArray(F, x, x0 + c + 0 * L);
            a00 = w00.fma(x00, a00);
            b = (c + 1 * L) >> bwShift;
            FloatVector w01 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector x01 = FloatVector.fromArray(F, x, x0 + c + 1 * L);
            a00 = w01.fma(x01, a00);
            b = (c + 2 * L) >> bwShift;
            FloatVector w02 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector x02 = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            a00 = w02.fma(x02, a00);
            b = (c + 3 * L) >> bwShift;
            FloatVector w03 = ((FloatVector) v0.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(scales[sr0 + (b << 2)]);
            FloatVector x03 = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            a00 = w03.fma(x03, a00);
        }
        final int tl = cols - full;
        final long toff = base + (long) (full / 1) * h + (long) ri * tl;
        float q00 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) / bw;
            final float u0 = packed.get(ValueLayout.JAVA_BYTE, toff + i) * scales[sr0 + (cb << 2)];
            q00 += u0 * x[x0 + full + i];
        }
        a00.intoArray(buf, bo);
        y[t * rows + r] = VectorMath.sum(buf, bo) + q00;
    }
}
