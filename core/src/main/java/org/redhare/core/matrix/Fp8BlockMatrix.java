package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.redhare.core.DType;
import org.redhare.core.NativeMemory;
import org.redhare.core.Parallel;
import org.redhare.core.ops.VectorMath;

/**
 * FP8 E4M3FN weights {@code [rows, cols]} with F32 block scales {@code [ceil(rows/bh), ceil(cols/bw)]}
 * (DeepSeek-V3 / Qwen3-FP8 {@code weight_scale_inv}): {@code W[r, c] = e4m3(code[r, c]) * scale[r/bh, c/bw]}.
 * The codes stay one byte per weight in memory; the kernels widen them in registers.
 *
 * <p><b>Widening without a table.</b> For a code {@code b}, {@code ((b & 0x80) << 24) | ((b & 0x7F) << 20)}
 * read as a float is the E4M3 value times 2^-120, exact for subnormal codes too. An int lane holds four
 * codes; for code {@code k} of the lane, {@code ((v << (24 - 8k)) >> 4) & 0x87F00000} (arithmetic shift)
 * produces exactly those bits, so 4L weights cost one 64-byte load and three integer operations per L floats.
 *
 * <p><b>Block scales go onto the activations.</b> For the rows of one scale band ({@code bh} rows sharing a
 * row of scales), {@code sum_c e4m3(code) * scale[band, c/bw] * x[c]} is computed as
 * {@code sum_c e4m3(code) * x'[c]} with {@code x'[c] = x[c] * scale[band, c/bw]} (one rounding per activation,
 * made once per band and token, not once per weight). The weights are then plain widened codes, so a row is a
 * single dot product with no per-block fold, and the prompt path runs the same five-row micro-kernel as BF16
 * ({@link FloatTiles}). Per-tensor and per-channel scales (one column block) leave the activations unscaled
 * and multiply each row's sum by its scale instead.
 *
 * <p><b>Subnormals.</b> Products of the 2^-120-scaled codes with activations would be subnormal (slow on x86,
 * and Java cannot flush them to zero), so the activations are also multiplied by 2^64 (exact) and each sum by
 * the remaining 2^(120-64) (exact): products stay around {@code w * x * 2^-56}, far from both ends of the
 * float range, and activations up to 2^57 cannot overflow with scales below 2^7.
 *
 * <p><b>Batch invariance.</b> Every (row, token) result is one vector accumulator fed the widened code
 * vectors in column order (for each group of 4L columns, the four L-column chunks in order), then
 * {@code VectorMath.sum}'s fixed lane order (or the bit-identical {@code sum16}), then the tail columns in order,
 * then the row factor. The one-token, 4-token and prompt kernels differ only in how many rows and tokens share a
 * widened vector, so a token gets the same bits alone or in any batch.
 *
 * <p><b>Layout (repacked at load).</b> Rows are grouped in tiles of {@link QuantKernels#TILE}; a tile is
 * one sequential stream: for each group of {@code G = 4L} columns, each row's G codes (permuted so byte
 * {@code k} of int lane {@code i} is column {@code k*L + i}), then each row's {@code cols % G} tail codes
 * in natural order. NaN codes (0x7F/0xFF) are rejected at load: the bit trick would read them as 480.
 */
public final class Fp8BlockMatrix implements WeightMatrix, ExactRows {
    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Integer> I = Kernels.I;
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int G = 4 * Kernels.L;
    /** 32 vector registers (AVX-512): three tokens past the last group of four take {@link #tile4x3}, and four one pass ({@link #rows4tokens4}). */
    private static final boolean REGISTERS32 = Kernels.L >= 16;
    private static final int MASK = 0x87F00000;
    /** Activations are pre-scaled by 2^64 (see the class comment). */
    private static final float X_SCALE = 0x1p64f;
    /** The exponent bias the bit trick leaves out (2^120) less the activation pre-scale: applied to each sum. */
    private static final float BIAS = 0x1p56f;
    /**
     * The prompt path widens codes to floats times 2^8 and divides its activation factors by 2^8 (see {@link #widen}),
     * when every factor is at least this: then even a subnormal activation times the smaller factor stays a normal
     * float, so both roundings commute with the power of two and the products are bit for bit the same. (Below it the
     * products concerned are far under the smallest float and vanish on both paths anyway; the check makes the
     * equality hold by construction rather than by that argument.)
     */
    private static final float TILE_SCALE = 0x1p8f;
    private static final float PANEL_SAFE_SCALE = 0x1p31f; // 2^(149 - 126 + 8): scale >= 2^-33 times X_SCALE

    private final MemorySegment packed; // [rows * cols] codes in the tile layout above
    private final float[] weightScales; // [ceil(rows/bh), nb] block scales times 2^56, for row()
    private final float[] xScales;      // [bands, nb] activation factor per band and column block (scale * 2^64, or 2^64)
    private final float[] panelScales;  // xScales / tileScale, for the prompt path's panels
    private final float tileScale;      // the prompt path's widened codes are times this (see widen)
    private final float[] rowFactors;   // [rows] applied to each row's sum (2^56, or the row's scale * 2^56)
    private final int rows;
    private final int cols;
    private final int bh;               // scale block height (rows)
    private final int bw;               // scale block width (columns)
    private final int nb;               // scale blocks per row: ceil(cols / bw)
    private final int bandRows;         // rows sharing one set of activation factors: bh, or all rows when nb == 1

    /**
     * @param codes  {@code [rows, cols]} E4M3 codes, row-major
     * @param scales {@code [ceil(rows/bh), ceil(cols/bw)]} little-endian F32 scales
     */
    public Fp8BlockMatrix(MemorySegment codes, MemorySegment scales, int rows, int cols, int bh, int bw) {
        MatrixChecks.size(codes, rows, cols, 1, "FP8");
        if (bh < 1 || bw < 1 || bw % G != 0 && bw < cols) {
            throw new IllegalArgumentException("FP8 scale block " + bh + "x" + bw + " is not supported: the block width must be a"
                    + " multiple of " + G + " (checkpoints use 128x128)");
        }
        this.rows = rows;
        this.cols = cols;
        this.bh = bh;
        this.bw = bw;
        this.nb = (cols + bw - 1) / bw;
        int sRows = (rows + bh - 1) / bh;
        if (scales.byteSize() != (long) sRows * nb * 4) {
            throw new IllegalArgumentException("FP8 matrix [" + rows + ", " + cols + "] with " + bh + "x" + bw + " blocks needs ["
                    + sRows + ", " + nb + "] F32 scales (" + (long) sRows * nb * 4 + " bytes) but got " + scales.byteSize() + " bytes");
        }
        this.weightScales = new float[sRows * nb];
        for (int i = 0; i < sRows * nb; i++) {
            float s = scales.getAtIndex(LE_FLOAT, i);
            if (!(Math.abs(s) < 0x1p7f)) { // keeps the scaled activations and the products far from overflow
                throw new IllegalArgumentException("FP8 block scale [" + i / nb + ", " + i % nb + "] is " + s
                        + "; expected a finite scale below 128 (weights above 448 * 128 are not plausible)");
            }
            weightScales[i] = s * BIAS;
        }
        this.rowFactors = new float[rows];
        if (nb > 1) {
            this.bandRows = bh;
            this.xScales = new float[sRows * nb];
            for (int i = 0; i < sRows * nb; i++) {
                xScales[i] = scales.getAtIndex(LE_FLOAT, i) * X_SCALE;
            }
            java.util.Arrays.fill(rowFactors, BIAS);
        } else {
            this.bandRows = rows;
            this.xScales = new float[] {X_SCALE};
            for (int r = 0; r < rows; r++) {
                rowFactors[r] = weightScales[r / bh];
            }
        }
        float smallest = Float.MAX_VALUE;
        for (float f : xScales) {
            if (f != 0) {
                smallest = Math.min(smallest, Math.abs(f));
            }
        }
        this.tileScale = smallest >= PANEL_SAFE_SCALE ? TILE_SCALE : 1f;
        this.panelScales = new float[xScales.length];
        for (int i = 0; i < xScales.length; i++) {
            panelScales[i] = xScales[i] / tileScale;
        }
        this.packed = QuantKernels.allocate((long) rows * cols);
        repack(codes);
    }

    /** Copies row-major codes into the tile layout ({@link QuantKernels#repackBytes}), rejecting NaN codes. */
    private void repack(MemorySegment codes) {
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            byte[] row = new byte[cols];
            for (int r = r0; r < r1; r++) {
                MemorySegment.copy(codes, ValueLayout.JAVA_BYTE, (long) r * cols, row, 0, cols);
                if (hasNan(row)) {
                    for (int c = 0; c < cols; c++) {
                        if ((row[c] & 0x7F) == 0x7F) {
                            throw new IllegalArgumentException("FP8 weight [" + r + ", " + c + "] is the NaN code 0x"
                                    + Integer.toHexString(row[c] & 0xFF) + "; the checkpoint is corrupt");
                        }
                    }
                }
            }
        });
        QuantKernels.repackBytes(codes, packed, rows, cols);
    }

    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED;

    /**
     * Whether any code of {@code row} is a NaN ({@code 0x7F} or {@code 0xFF}), a vector of codes at a time: the byte-by-byte
     * loop was a seventh of a 3B FP8 checkpoint's load (JFR), the scan that checks every weight.
     */
    private static boolean hasNan(byte[] row) {
        int c = 0;
        for (; c <= row.length - B.length(); c += B.length()) {
            if (ByteVector.fromArray(B, row, c).and((byte) 0x7F).compare(VectorOperators.EQ, (byte) 0x7F).anyTrue()) {
                return true;
            }
        }
        for (; c < row.length; c++) {
            if ((row[c] & 0x7F) == 0x7F) {
                return true;
            }
        }
        return false;
    }

    /** E4M3 code to its value times 2^-120 (the bit trick; exact, subnormals included). */
    private static float decode(byte b) {
        return Float.intBitsToFloat(((b & 0x80) << 24) | ((b & 0x7F) << 20));
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public DType dtype() { return DType.F8_E4M3; }
    @Override public long bytes() { return (long) rows * cols + (long) ((rows + bh - 1) / bh) * nb * 4; }

    /** Scale block height and width, as in the checkpoint. */
    public int blockRows() { return bh; }
    public int blockCols() { return bw; }

    @Override
    public void row(int r, float[] dst, int off) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        for (int c = 0; c < cols; c++) {
            dst[off + c] = decode(packed.get(ValueLayout.JAVA_BYTE, QuantKernels.byteOffset(rows, cols, r, c)))
                    * weightScales[r / bh * nb + c / bw] * X_SCALE;
        }
    }

    private int band(int r) {
        return r / bandRows;
    }

    /**
     * Rows {@code ids[0 .. count)} for one token, each through {@link #row1} on its band's scaled activations: the FMAs
     * of every path in the same order (the class comment), so the bits {@link #multiply} gives. What the LM head's screen
     * ({@link ScreenedHead}) computes for its candidate rows. {@code scratch} holds at least {@code cols + 16} floats.
     */
    @Override
    public void multiplyRows(float[] x, int[] ids, int count, float[] y, float[] scratch) {
        int ready = -1; // band whose activations are in scratch
        for (int i = 0; i < count; i++) {
            int r = ids[i];
            if (band(r) != ready) {
                ready = band(r);
                scaleActivations(x, 0, 1, ready, scratch, 0);
            }
            y[r] = row1(r, scratch, 0, scratch, cols);
        }
    }

    /**
     * {@code out[oo + j * cols + c] = x[xo + j * cols + c] * xScales[band, c / bw]} for tokens {@code j < n}: the
     * activations of one band (see the class comment). Lane-wise multiplies, so the same bits on every path.
     */
    private void scaleActivations(float[] x, int xo, int n, int band, float[] out, int oo) {
        final int L = Kernels.L;
        for (int j = 0; j < n; j++) {
            int xi = xo + j * cols;
            int oi = oo + j * cols;
            for (int b = 0; b < nb; b++) {
                float f = xScales[nb > 1 ? band * nb + b : 0];
                int c0 = b * bw;
                int c1 = Math.min(cols, c0 + bw);
                int c = c0;
                for (; c + L <= c1; c += L) {
                    FloatVector.fromArray(F, x, xi + c).mul(f).intoArray(out, oi + c);
                }
                for (; c < c1; c++) {
                    out[oi + c] = x[xi + c] * f;
                }
            }
        }
    }

    /**
     * {@link #scaleActivations} of tokens {@code t0 .. t0+n} in {@code grouped / 4} groups of four (a last group
     * past {@code n} padded with zeros; full column groups only)
     * written straight into 4-token panels at {@code out[off ...]}: the layout of {@link Kernels#packTokens4}
     * with {@code PAIR_BLOCK} chunks. Same multiplies, so the same bits as the token-order copy.
     */
    private void scalePanels(float[] x, int t0, int n, int grouped, int band, float[] out, int off) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / G * G;
        for (int g = 0; g + 4 <= grouped; g += 4) {
            int panel = off + g * full;
            for (int j = 0; j < 4; j++) {
                if (g + j >= n) { // a padded group's missing tokens: zeros (FloatTiles#groupedTokens)
                    for (int c = 0, o = panel + j * FloatTiles.TOKEN_STEP; c < full; c += B, o += 4 * B) {
                        FloatVector.zero(F).intoArray(out, o);
                        FloatVector.zero(F).intoArray(out, o + FloatTiles.XHALF_STEP);
                    }
                    continue;
                }
                int src = (t0 + g + j) * cols;
                for (int cb = 0, o = panel + j * FloatTiles.TOKEN_STEP; cb < full; cb += bw) { // a scale block holds whole steps (bw is a multiple of G = 2B)
                    final float f = panelScales[nb > 1 ? band * nb + cb / bw : 0];
                    final int ce = Math.min(full, cb + bw);
                    for (int c = cb; c < ce; c += B, o += 4 * B) {
                        FloatVector.fromArray(F, x, src + c).mul(f).intoArray(out, o);
                        FloatVector.fromArray(F, x, src + c + L).mul(f).intoArray(out, o + FloatTiles.XHALF_STEP);
                    }
                }
            }
        }
    }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        if (n > 1 && (n <= NATIVE_TOKENS || rows % QuantKernels.TILE == 0) && (NativeKernels.available() || Avx2Kernels.fp8Available())
                && packed.isNative() && wholeTiles()) {
            int scratch = Math.min(n, NATIVE_TOKENS) * cols + Kernels.SUM16_FLOATS; // at least the 15 floats fp8Tokens may skip to align
            long ahead = NativeKernels.fp8RowsAhead(pool.threads());
            pool.forRange((rows + QuantKernels.TILE - 1) / QuantKernels.TILE, QuantKernels.tileGrain(rows, pool.threads()), 1,
                    (t0, t1, w) -> tokensNative(x, n, y, t0, t1, pool.workerScratch(w, scratch), ahead));
            return;
        }
        if (widens(n)) {
            final int full = cols / G * G;
            final int block = FloatTiles.tokenBlock(n, cols);
            final int scratch = promptScratch(block, full);
            pool.forRange(rows, promptGrain(pool.threads()), (r0, r1, w) -> prompt(x, n, y, r0, r1, pool.workerScratch(w, scratch)));
        } else {
            int tiles = (rows + QuantKernels.TILE - 1) / QuantKernels.TILE;
            if (n == 1 && packed.isNative() && (NativeKernels.available() || Avx2Kernels.fp8Available() && wholeTiles())) { // the machine code takes an address
                long ahead = NativeKernels.fp8RowsAhead(pool.threads());
                int scratch = 2 * cols + Kernels.SUM16_FLOATS + 4 * NativeKernels.TILES;
                pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1,
                        (t0, t1, w) -> decodeNative(x, y, t0, t1, pool.workerScratch(w, scratch), ahead));
                return;
            }
            if (n == 1) {
                int scratch = 2 * cols + Kernels.SUM16_FLOATS;
                pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1, (t0, t1, w) -> decode(x, y, t0, t1, pool.workerScratch(w, scratch)));
                return;
            }
            int scratch = n * cols + Kernels.SUM16_FLOATS;
            pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1, (t0, t1, w) -> run(x, n, y, t0, t1, pool.workerScratch(w, scratch)));
        }
    }

    /*
     * From this many tokens (a prompt, or a decode step of many users) rows are widened once per token block
     * into a per-thread float tile and the five-row micro-kernel runs on plain float loads: widening in
     * registers costs three integer operations per float vector on the ports the FMAs use, and the register
     * path repeats it for every 4 tokens. The tile holds exactly the floats the register path computes and the
     * FMAs run in the same order, so results are bit for bit the same. Since the four-token register kernel runs in
     * two passes of two rows ({@link #rows2tokens4}) it won below 16 tokens with the former AVX2 tile kernel. With the
     * five-row by two-token kernel ({@link FloatTiles#SPLIT}) the tile wins from 8 tokens, except where three or two
     * tokens past the last group of four take the slow one-row path (`QuickMatrixRates fp8 SHAPE N 1`, G products/s,
     * register vs tile): [4864x896] 8 tokens 16.8-17.1 vs 25.1-25.4 (two threads 33.6 vs 49.4-50.0), 9 16.4 vs 17.9,
     * 10 15.5 vs 15.2, 11 15.3 vs 13.5, 12 17.1-17.2 vs 27.4-27.8, 13 16.7 vs 21.2, 14 16.1 vs 18.2, 15 15.5 vs 16.0;
     * [48640x896] from DRAM 8 tokens 16.0-16.2 vs 20.6-21.0, 11 14.8 vs 12.8, 12 16.0 vs 24.5; 4 tokens lose from DRAM
     * (16.4 vs 15.7). Elsewhere the former rule, from 16 tokens.
     *
     * <p>Since a last group with two or three tokens is padded ({@link FloatTiles#groupedTokens}), the tile wins on these
     * hosts from 6 tokens (register vs tile, one thread): [4864x896] 6 tokens 14.7-14.8 vs 19.3, 7 13.5-14.0 vs
     * 22.0-22.4, 10 15.2-15.8 vs 23.0-23.4, 11 14.7-15.2 vs 24.8-25.7, 15 15.2-15.4 vs 26.8-27.5; from DRAM [48640x896]
     * 7 tokens 12.7-13.3 vs 16.6-18.0, 11 14.3-14.5 vs 21.2-21.7. At 4 and 5 tokens the register path stays ahead
     * (5: 15.1-15.7 vs 13.2-13.6; 4 from DRAM: 15.6-16.2 vs 14.4).
     *
     * <p>On AVX-512 hosts (no SPLIT) the rule had stayed at 16 tokens, unmeasured since. On the Intel Xeon host of the
     * thirty-seventh session, register (with the one-pass {@link #rows4tokens4}) vs tile: [4864x896] 5 tokens 24.3 vs
     * 21.0, 6 25.9 vs 26.7, 8 27.5 vs 34.7, 9 25.2 vs 27.2, 12 26.9 vs 39.7, 16 26.3 vs 42.4; [151936x896] from DRAM 6
     * tokens 21.7 vs 21.8, 8 23.0 vs 28.9, 12 23.6 vs 33.6. So from 6 tokens on every host.
     */
    private static boolean widens(int n) {
        return n >= 6;
    }

    /**
     * The product through the Java kernels alone (one token {@link #decode}, more the register path {@link #run}), what a
     * host without the machine code runs: tests compare the native paths' bits with it.
     */
    void multiplyInJava(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        int tiles = (rows + QuantKernels.TILE - 1) / QuantKernels.TILE;
        int scratch = n * cols + Kernels.SUM16_FLOATS;
        if (n == 1) {
            pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1, (t0, t1, w) -> decode(x, y, t0, t1, pool.workerScratch(w, 2 * cols + Kernels.SUM16_FLOATS)));
        } else {
            pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1, (t0, t1, w) -> run(x, n, y, t0, t1, pool.workerScratch(w, scratch)));
        }
    }

    /**
     * Up to this many tokens run through {@link NativeKernels#fp8Tokens} where it can run (every code widened once per
     * group of up to five tokens, their activations read by the FMAs from L1/L2) rather than the register path ({@link
     * #run}, 2 to 5 tokens) or the widened tile ({@link #prompt}, 6 and more). `QuickMatrixRates fp8 SHAPE N T` (G products
     * a second, AMD EPYC Zen 4, one thread unless said; before -> after): [4864x896] 2 tokens 19.1 -> 48.4, 4 30.8 -> 50.8,
     * 6 28.3 -> 51.2, 8 36.0 -> 51.0, 16 40.2 -> 51.1, 64 43.3 -> 48.4, 128 42.8 -> 47.3, 256 44.2 -> 46.0, 512 44.2 -> 42.1
     * (the tile path's token blocks keep its activations in cache); two threads 2 tokens 39.3 -> 86.8, 16 82.5 -> 97.8,
     * 64 87.5 -> 95.7; [151936x896] from DRAM 2 tokens 18.4 -> 46.5, 16 34.9 -> 50.3. One token keeps {@link
     * NativeKernels#fp8Decode} (its activations loaded once per group for the tile's four rows). More tokens (a prompt)
     * go in blocks of this many over runs of {@link #BLOCK_TILES} tiles where the rows are whole tiles: [4864x896] 128
     * tokens 44.2 -> 48.3, 512 44.8 -> 47.0; `bench --quantize fp8 -p 512 -n 0 -r 2 -t 1` (qwen2.5-0.5b shape), alternated:
     * 116.0 / 113.2 -> 120.5 / 123.1 tok/s.
     *
     * <p>With 8-float vectors ({@link Avx2Kernels#fp8Tokens}; JVM limited to AVX2 on an AMD EPYC Zen 5, one thread, Java
     * kernels -> machine code, G products a second): [4864x896] 2 tokens 17.1 -> 33.4, 3 15.1 -> 32.9, 4 20.2 -> 40.3, 8
     * 31.0 -> 44.6, 16 35.3 -> 44.8, 128 37.5 -> 44.7, 512 40.8 -> 45.5; [896x4864] 2 23.8 -> 36.4, 4 22.5 -> 39.5, 16
     * 33.3 -> 43.6, 64 31.3-37.8 -> 38.5-42.1, 512 37.1-40.5 -> 34.7-37.3 (the one shape behind, within this host's noise
     * of 10%; token blocks of 13 to 64 tokens measured the same). The machine code takes prompts too, as on AVX-512.
     */
    private static final int NATIVE_TOKENS = 64;

    /** Few tokens: tiles {@code tile0 .. tile1} widened in registers, activations of the current band in {@code buf[0 ..]}. */
    private void run(float[] x, int n, float[] y, int tile0, int tile1, float[] buf) {
        final int sums = n * cols;
        int ready = -1; // band whose activations are in buf
        for (int tile = tile0; tile < tile1; tile++) {
            int r0 = tile * QuantKernels.TILE;
            int h = Math.min(QuantKernels.TILE, rows - r0);
            if (h == QuantKernels.TILE && band(r0) == band(r0 + h - 1)) {
                if (ready != band(r0)) {
                    ready = band(r0);
                    scaleActivations(x, 0, n, ready, buf, 0);
                }
                int t = 0;
                for (; t + 4 <= n; t += 4) {
                    tile4x4(r0, t, buf, y, buf, sums);
                }
                if (REGISTERS32 && n - t == 3) {
                    tile4x3(r0, t, buf, y, buf, sums);
                    t += 3;
                }
                for (; t + 2 <= n; t += 2) {
                    tile4x2(r0, t, buf, y, buf, sums);
                }
                for (; t < n; t++) {
                    tile4x1(r0, t, buf, y, buf, sums);
                }
            } else { // a short last tile, or one across two scale bands (blocks of fewer rows than a tile)
                for (int r = r0; r < r0 + h; r++) {
                    if (ready != band(r)) {
                        ready = band(r);
                        scaleActivations(x, 0, n, ready, buf, 0);
                    }
                    for (int t = 0; t < n; t++) {
                        y[t * rows + r] = row1(r, buf, t * cols, buf, sums);
                    }
                }
            }
        }
    }

    /**
     * One token: tiles {@code tile0 + i} and {@code tile0 + h + i} ({@code h} half the range) go through
     * {@link #tiles2x1} together (in turns of {@link #STREAM_COLUMNS} columns), so the pass reads two long sequential
     * streams where {@link #tile4x1} read one.
     * Widening costs about four times BF16's integer work per byte, and with one stream the memory reads and that
     * arithmetic ran one after the other (the one-stream rate from DRAM, 7.2-7.4 GB/s on one thread, was what
     * adding the two times predicts); the second stream keeps more lines in flight while the arithmetic runs.
     * Same arithmetic per row, so the same bits. Measured (`QuickMatrixRates fp8 SHAPE 1 [threads]`, one build, a
     * temporary switch alternating, GB/s): [151936 x 896] 6.6-7.3 -> 9.8-10.0 on one thread, 14.2-15.2 -> 18.1-18.5
     * on two; [896 x 4864] 15.6 -> 19.9 and 28.2-28.5 -> 35.4-36.8; [4864 x 896] 14.7 -> 17.2 and 27.0-27.6 ->
     * 30.9-32.0. Four streams (16 accumulators) measured 15-19% over two on [896 x 4864] but its kernel was
     * compiled badly on [151936 x 896] (0.1 GB/s) and was not kept. Activations of the first tile's band are in
     * {@code buf[0 ..]}, of the second's in {@code buf[cols ..]}.
     */
    private void decode(float[] x, float[] y, int tile0, int tile1, float[] buf) {
        final int sums = 2 * cols;
        final int h = (tile1 - tile0) / 2;
        int readyA = -1, readyB = -1;
        for (int i = 0; i < h; i++) {
            int ra = (tile0 + i) * QuantKernels.TILE;
            int rb = (tile0 + h + i) * QuantKernels.TILE;
            if (fullTile(ra) && fullTile(rb)) {
                if (readyA != band(ra)) {
                    readyA = band(ra);
                    scaleActivations(x, 0, 1, readyA, buf, 0);
                }
                if (readyB != band(rb)) {
                    readyB = band(rb);
                    scaleActivations(x, 0, 1, readyB, buf, cols);
                }
                tiles2x1(ra, rb, buf, y, buf, sums);
            } else {
                readyA = readyB = -1;
                oneTile(ra, x, y, buf, sums);
                oneTile(rb, x, y, buf, sums);
            }
        }
        for (int tile = tile0 + 2 * h; tile < tile1; tile++) {
            oneTile(tile * QuantKernels.TILE, x, y, buf, sums);
        }
    }

    /**
     * One token through {@link NativeKernels}. Rows of whole groups whose tiles each lie in one band: runs of whole tiles
     * go to {@link NativeKernels#fp8Decode}, which scales the activations band by band and stores the outputs itself.
     * Elsewhere runs of whole tiles in one scale band go to {@link NativeKernels#fp8} (one sequential stream, prefetched
     * ahead), which leaves each row's sum over whole groups; the tail and row factor are {@link #tiles2x1}'s. Same FMAs and lane sums in the same order, so the same bits as {@link #decode}.
     * Activations at {@code buf[0 ..]} (the AVX2 kernel's second stream's at {@code buf[cols ..]}), the rows' sums at
     * {@code buf[2 cols + SUM16_FLOATS ..]}.
     */
    private void decodeNative(float[] x, float[] y, int tile0, int tile1, float[] buf, long ahead) {
        if (wholeTiles()) {
            final int whole = Math.min(tile1, rows / QuantKernels.TILE);
            for (int t = tile0; t < whole; t += NativeKernels.DECODE_TILES) {
                final int n = Math.min(NativeKernels.DECODE_TILES, whole - t);
                if (NativeKernels.available()) {
                    NativeKernels.fp8Decode(packed, (long) t * QuantKernels.TILE * cols, n, cols, t * QuantKernels.TILE, bandRows, nb, bw, x,
                            xScales, rowFactors, y, buf, ahead);
                } else { // 8-float vectors on AVX2 (multiply sends only whole tiles here)
                    Avx2Kernels.fp8Decode(packed, (long) t * QuantKernels.TILE * cols, n, cols, t * QuantKernels.TILE, bandRows, nb, bw, x,
                            xScales, rowFactors, y, buf, ahead);
                }
            }
            for (int tile = Math.max(tile0, whole); tile < tile1; tile++) {
                oneTile(tile * QuantKernels.TILE, x, y, buf, 2 * cols);
            }
            return;
        }
        final int full = cols / G * G;
        final int sums = 2 * cols;
        final int lanes = 2 * cols + Kernels.SUM16_FLOATS;
        int ready = -1;
        for (int tile = tile0; tile < tile1; ) {
            final int r0 = tile * QuantKernels.TILE;
            if (!fullTile(r0) || full == 0) {
                oneTile(r0, x, y, buf, sums);
                ready = -1;
                tile++;
                continue;
            }
            final int b = band(r0);
            int end = tile + 1;
            while (end < tile1 && end - tile < NativeKernels.TILES && fullTile(end * QuantKernels.TILE) && band(end * QuantKernels.TILE) == b) {
                end++;
            }
            if (ready != b) {
                ready = b;
                scaleActivations(x, 0, 1, b, buf, 0);
            }
            NativeKernels.fp8(packed, (long) r0 * cols, end - tile, cols, full, buf, 0, lanes, ahead);
            for (int r = r0, o = lanes; r < end * QuantKernels.TILE; r++, o++) {
                y[r] = (buf[o] + tail(r, buf, 0)) * rowFactors[r];
            }
            tile = end;
        }
    }

    /** Whether the rows are whole 64-column groups and every whole tile lies in one scale band (the native runs' shapes). */
    private boolean wholeTiles() {
        return cols % G == 0 && (nb == 1 || bandRows % QuantKernels.TILE == 0);
    }

    /**
     * Several tokens (a decode step of several users, a drafted run being checked, a prompt) through {@link
     * NativeKernels#fp8Tokens} (with 8-float vectors {@link Avx2Kernels#fp8Tokens}, groups of up to ten tokens): runs of whole tiles, each code widened once per group of up to five tokens, the tokens in
     * blocks of {@link #NATIVE_TOKENS}; a short last tile through {@link #run}. The arithmetic of {@link #run} (and of one
     * token), so the same bits. The block's scaled activations at {@code buf[..]}.
     */
    private void tokensNative(float[] x, int n, float[] y, int tile0, int tile1, float[] buf, long ahead) {
        final int whole = Math.min(tile1, rows / QuantKernels.TILE);
        final int run = n <= NATIVE_TOKENS ? NativeKernels.DECODE_TILES : BLOCK_TILES;
        for (int t = tile0; t < whole; t += run) {
            final int k = Math.min(run, whole - t);
            for (int b = 0; b < n; b += NATIVE_TOKENS) {
                if (NativeKernels.available()) {
                    NativeKernels.fp8Tokens(packed, (long) t * QuantKernels.TILE * cols, k, cols, t * QuantKernels.TILE, bandRows, nb, bw,
                            Math.min(NATIVE_TOKENS, n - b), rows, x, b * cols, xScales, rowFactors, y, b * rows, buf, ahead);
                } else {
                    Avx2Kernels.fp8Tokens(packed, (long) t * QuantKernels.TILE * cols, k, cols, t * QuantKernels.TILE, bandRows, nb, bw,
                            Math.min(NATIVE_TOKENS, n - b), rows, x, b * cols, xScales, rowFactors, y, b * rows, buf, ahead);
                }
            }
        }
        if (Math.max(tile0, whole) < tile1) { // a short last tile: at most NATIVE_TOKENS tokens (more come only with whole tiles)
            run(x, n, y, Math.max(tile0, whole), tile1, buf);
        }
    }

    /**
     * Tiles per {@link NativeKernels#fp8Tokens} call when more than {@link #NATIVE_TOKENS} tokens go through it in blocks
     * of that many: 32 tiles of 896 columns are 115 KB of codes, which stay in L2 from one block to the next.
     */
    private static final int BLOCK_TILES = 32;

    private boolean fullTile(int r0) {
        return r0 + QuantKernels.TILE <= rows && band(r0) == band(r0 + QuantKernels.TILE - 1);
    }

    /** One token, the tile at row {@code r0}, activations scaled into {@code buf[0 ..]} here. */
    private void oneTile(int r0, float[] x, float[] y, float[] buf, int sums) {
        int h = Math.min(QuantKernels.TILE, rows - r0);
        int ready = -1;
        for (int r = r0; r < r0 + h; r++) {
            if (ready != band(r)) {
                ready = band(r);
                scaleActivations(x, 0, 1, ready, buf, 0);
            }
            y[r] = row1(r, buf, 0, buf, sums);
        }
    }

    /**
     * Full tiles at rows {@code ra} and {@code rb}, one token; activations for {@code ra} at {@code x[0 ..]}, for {@code rb} at
     * {@code x[cols ..]}. The two tiles take turns, {@link #STREAM_COLUMNS} columns at a time ({@link #stream4}), their
     * accumulators kept in {@code buf[bo ..]} between turns: stored and reloaded exactly, and each still takes its FMAs in
     * column order, so the bits are those of every other path.
     *
     * <p>Why turns rather than one loop over both tiles (the kernel before, eight accumulators): C2 did not fit that loop in
     * AVX2's 16 vector registers. Read through {@code scripts/hsdis}, it kept four of the eight accumulators on the stack
     * (a load and a store per row and group, some stored and reloaded between two FMAs of the same chain) and rebuilt the
     * mask constant from memory before every AND. One tile at a time needs four accumulators, four activation vectors, the
     * mask and two temporaries, and compiles without spills. Measured (`QuickMatrixRates fp8 SHAPE 1 1`, wall G
     * weights/s, the two builds' processes alternated, AMD EPYC host): [256 x 896] (in L2) 11.5-12.0 -> 14.9-15.4;
     * [4864 x 896] 11.3-11.5 -> 14.6-14.9; [896 x 4864] 13.5 -> 16.1; [2048 x 8192] 13.1 -> 16.0; from DRAM
     * [151936 x 896] 10.8-11.0 -> 12.7-13.4 and [128256 x 2048] 12.1 -> 13.9. Turns of 512 columns read DRAM best (whole
     * rows: 12.4 on [128256 x 2048]; 256 columns: 12.7 on [151936 x 896]; 64 or 128: slower everywhere).
     *
     * <p>In about one process of three this loop used to compile slowly (20.3-21.1 tok/s decoding qwen2.5-0.5b FP8 on one
     * thread instead of 23.3-24.0). The eighteenth session read that compile as an unrolled loop; it was not: C2 had
     * kept the segment's class and session checks inside the loop, one set per vector load, because the Vector API's
     * shared type profile was not ready when it compiled. {@link NativeMemory#typed} now tells C2 the class whatever the
     * profile (docs/PERFORMANCE.md, nineteenth session).
     *
     * <p>An earlier note here said the shifts bound this kernel, from a timing-only variant without the shifts by 8, 16 and
     * 24 (19.6 G weights/s in L2). That variant measured less than it seemed: with those shifts gone the four codes of a
     * lane become the same expression, C2 computes it once, and three quarters of the widening disappear.
     */
    private void tiles2x1(int ra, int rb, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int xb = cols;
        java.util.Arrays.fill(buf, bo, bo + 8 * L, 0f);
        for (int c0 = 0; c0 < full; c0 += STREAM_COLUMNS) {
            final int c1 = Math.min(full, c0 + STREAM_COLUMNS);
            stream4(ra, x, 0, c0, c1, buf, bo);
            stream4(rb, x, xb, c0, c1, buf, bo + 4 * L);
        }
        y[ra] = (VectorMath.sum(buf, bo) + tail(ra, x, 0)) * rowFactors[ra];
        y[ra + 1] = (VectorMath.sum(buf, bo + L) + tail(ra + 1, x, 0)) * rowFactors[ra + 1];
        y[ra + 2] = (VectorMath.sum(buf, bo + 2 * L) + tail(ra + 2, x, 0)) * rowFactors[ra + 2];
        y[ra + 3] = (VectorMath.sum(buf, bo + 3 * L) + tail(ra + 3, x, 0)) * rowFactors[ra + 3];
        y[rb] = (VectorMath.sum(buf, bo + 4 * L) + tail(rb, x, xb)) * rowFactors[rb];
        y[rb + 1] = (VectorMath.sum(buf, bo + 5 * L) + tail(rb + 1, x, xb)) * rowFactors[rb + 1];
        y[rb + 2] = (VectorMath.sum(buf, bo + 6 * L) + tail(rb + 2, x, xb)) * rowFactors[rb + 2];
        y[rb + 3] = (VectorMath.sum(buf, bo + 7 * L) + tail(rb + 3, x, xb)) * rowFactors[rb + 3];
    }

    /** Columns per turn of each tile in {@link #tiles2x1}: see there. */
    private static final int STREAM_COLUMNS = 512;

    /**
     * Columns {@code c0 .. c1} (whole groups) of the full tile at row {@code r0}, activations at {@code x[xo ..]}, its four
     * accumulators at {@code buf[ao ..]} (read and written). Row by row, each activation vector loaded at its first use,
     * and byte offsets linear in the loop counter ({@code o + 4c}) so that C2 drops the segment's bounds checks from the
     * loop; with a separately incremented offset it kept about 20 scalar instructions of checks per load.
     */
    private void stream4(int r0, float[] x, int xo, int c0, int c1, float[] buf, int ao) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final long o = (long) r0 * cols;
        FloatVector a0 = FloatVector.fromArray(F, buf, ao), a1 = FloatVector.fromArray(F, buf, ao + L);
        FloatVector a2 = FloatVector.fromArray(F, buf, ao + 2 * L), a3 = FloatVector.fromArray(F, buf, ao + 3 * L);
        for (int c = c0; c < c1; c += G) {
            final long q = o + 4L * c;
            IntVector v;
            FloatVector x0, x1, x2, x3;
            v = IntVector.fromMemorySegment(I, packed, q, ByteOrder.LITTLE_ENDIAN);
            x0 = FloatVector.fromArray(F, x, xo + c + 0 * L);
            a0 = v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x0, a0);
            x1 = FloatVector.fromArray(F, x, xo + c + 1 * L);
            a0 = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x1, a0);
            x2 = FloatVector.fromArray(F, x, xo + c + 2 * L);
            a0 = v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x2, a0);
            x3 = FloatVector.fromArray(F, x, xo + c + 3 * L);
            a0 = v.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x3, a0);
            v = IntVector.fromMemorySegment(I, packed, q + 1L * G, ByteOrder.LITTLE_ENDIAN);
            a1 = v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x0, a1);
            a1 = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x1, a1);
            a1 = v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x2, a1);
            a1 = v.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x3, a1);
            v = IntVector.fromMemorySegment(I, packed, q + 2L * G, ByteOrder.LITTLE_ENDIAN);
            a2 = v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x0, a2);
            a2 = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x1, a2);
            a2 = v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x2, a2);
            a2 = v.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x3, a2);
            v = IntVector.fromMemorySegment(I, packed, q + 3L * G, ByteOrder.LITTLE_ENDIAN);
            a3 = v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x0, a3);
            a3 = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x1, a3);
            a3 = v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x2, a3);
            a3 = v.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x3, a3);
        }
        a0.intoArray(buf, ao);
        a1.intoArray(buf, ao + L);
        a2.intoArray(buf, ao + 2 * L);
        a3.intoArray(buf, ao + 3 * L);
    }

    /**
     * Rows per work item of the prompt path: whole scale bands (or halves, quarters while there are fewer than
     * four items per thread), so few five-row groups are cut short at a band's end; a multiple of five when one
     * band covers the matrix.
     */
    private int promptGrain(int threads) {
        if (bandRows < rows && bandRows >= 4 * FloatTiles.ROWS) {
            int g = bandRows;
            while (g % 2 == 0 && g / 2 >= 4 * FloatTiles.ROWS && (rows + g - 1) / g < 4 * threads) {
                g /= 2;
            }
            return g;
        }
        int g = Kernels.rowGrain(rows, threads);
        return (g + FloatTiles.ROWS - 1) / FloatTiles.ROWS * FloatTiles.ROWS;
    }

    /** Worker scratch of the prompt path: tile, accumulators, lane sums, the band's activations and their 4-token panels. */
    private int promptScratch(int block, int full) {
        int chunk = FloatTiles.chunkColumns(full);
        int group = FloatTiles.ROWS * 4 * Kernels.L;
        return FloatTiles.TILE_AT + FloatTiles.ROWS * chunk + (block / 4 + 1) * group + 32 + block * cols + Kernels.L + block / 4 * 4 * full
                + (NATIVE_GROUPS ? 20 * (block / 4) + Kernels.L : 0);
    }

    /**
     * Whether the prompt pass runs in machine code ({@link NativeKernels#fp8TileGroups}: the first token group widens the
     * tile from the codes as {@link #widen} does and takes its FMAs on the way, then every other group of the block runs
     * over the tile, in one call; the same tile and the same FMAs in the same order as {@link FloatTiles#tile5tokens4}, so
     * the same bits); {@code -Dredhare.nativeKernels=false} turns it off with the others. Widening inside the first
     * group's loop rather than in a pass of its own: `ManyMatrixRates fp8 4864x896 60 16 1`, alternated, 32.9-33.9 ->
     * 35.1-35.6 G weights/s; two threads 62.0 / 65.4 -> 67.4 / 68.8 (896x4864: 65.5 / 68.8 -> 72.0 / 68.5); 512 tokens
     * level (`QuickMatrixRates fp8 4864x896 512 1`).
     */
    private static final boolean NATIVE_GROUPS = NativeKernels.available() && !FloatTiles.SPLIT;

    /**
     * Many tokens: rows {@code r0 .. r1} in five-row groups that never cross a scale band (a band's last group
     * may be short: its missing rows are zeros and their results are dropped), one token block at a time.
     */
    private void prompt(float[] x, int n, float[] y, int r0, int r1, float[] buf) {
        final int grouped = FloatTiles.groupedTokens(n);
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int block = FloatTiles.tokenBlock(n, cols);
        final int chunk = FloatTiles.chunkColumns(full);
        final int h5 = FloatTiles.ROWS;
        final int group = h5 * 4 * L;            // floats of one token group's accumulators
        final int accs = FloatTiles.TILE_AT + h5 * chunk; // accumulators carried from one column chunk to the next, after the tile
        final int sums = accs + block / 4 * group; // the last chunk's accumulators and their lane sums
        final int xs = sums + group + 32;        // the band's scaled activations, token by token
        final int panels = FloatTiles.aligned(xs + block * cols); // and as 4-token panels
        final int groupSums = FloatTiles.aligned(panels + block / 4 * 4 * full); // the machine code's lane sums, 20 a group
        final long[] rowOffsets = NATIVE_GROUPS ? new long[FloatTiles.ROWS] : null, rowStrides = NATIVE_GROUPS ? new long[FloatTiles.ROWS] : null;
        for (int t0 = 0; t0 < n; t0 += block) {
            final int t1 = Math.min(n, t0 + block);
            final int g1 = Math.min(grouped, t0 + block); // end of the 4-token groups; tokens g1 .. t1-1 (none if padded) take a one-row path
            int ready = -1;
            for (int r = r0; r < r1; ) {
                final int b = band(r);
                final int end = Math.min(r1, (b + 1) * bandRows);
                if (ready != b) {
                    ready = b;
                    scalePanels(x, t0, t1 - t0, g1 - t0, b, buf, panels);
                    if (full < cols || g1 < t1) { // tail columns or tokens past the last group read them in token order
                        scaleActivations(x, t0 * cols, t1 - t0, b, buf, xs);
                    }
                }
                while (r < end) {
                    final int h = Math.min(h5, end - r);
                    int c0 = 0;
                    do { // at least once: rows shorter than one group still get their tails and stores
                        int c1 = Math.min(full, c0 + chunk);
                        if (!NATIVE_GROUPS || g1 == t0) {
                            widen(r, h, buf, c0, c1);
                        }
                        if (NATIVE_GROUPS && g1 > t0) {
                            int groups = (g1 - t0) / 4;
                            int rn = c1 < full ? r : r + h, cn = c1 < full ? c1 : 0; // while the groups run, the next widen's codes come in
                            QuantKernels.prefetchWiden(packed, cols, rn, cn, Math.min(full, cn + chunk) - cn);
                            for (int i = 0; i < h; i++) { // where each row's codes of columns c0 .. c0 + G start, and their step
                                int row = r + i, tr = row - row % QuantKernels.TILE, th = Math.min(QuantKernels.TILE, rows - tr);
                                rowOffsets[i] = (long) tr * cols + (long) c0 * th + (long) (row - tr) * G;
                                rowStrides[i] = (long) th * G;
                            }
                            NativeKernels.fp8TileGroups(packed, rowOffsets, rowStrides, h, tileScale, (c1 - c0) / Kernels.PAIR_BLOCK, groups, buf,
                                    panels, full, buf, FloatTiles.TILE_AT, accs, groupSums, c0 == 0, c1 == full, c0);
                            for (int g = 0; c1 == full && g < groups; g++) {
                                int t = t0 + 4 * g;
                                finishSums(buf, groupSums + 20 * g, xs + (t - t0) * cols, y, r, h, t, Math.min(4, n - t));
                            }
                        }
                        for (int t = t0; t + 4 <= g1 && !NATIVE_GROUPS; t += 4) {
                            int acc = accs + (t - t0) / 4 * group;
                            int g = (t - t0) / 4;
                            if (g <= 1 && FloatTiles.FETCH_AHEAD) { // the first two token groups fetch the codes the next widen reads (QuantKernels#fetchStart)
                                long ta = QuantKernels.fetchStart(cols, c1 < full ? r : r + h, c1 < full ? c1 : 0, g);
                                FloatTiles.tile5tokens4Fetching(buf, c0, c1, buf, panels + (t - t0) * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf,
                                        c0 == 0 ? 0 : acc, c1 == full ? sums : acc, packed, ta, ta + 64, 128, packed.byteSize() - 1);
                            } else {
                                FloatTiles.tile5tokens4(buf, c0, c1, buf, panels + (t - t0) * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf,
                                        c0 == 0 ? 0 : acc, c1 == full ? sums : acc);
                            }
                            if (c1 == full) {
                                finish(buf, sums, xs + (t - t0) * cols, y, r, h, t, Math.min(4, n - t));
                            }
                        }
                        c0 = c1;
                    } while (c0 < full);
                    for (int t = g1; t < t1; t++) {
                        for (int i = 0; i < h; i++) {
                            y[t * rows + r + i] = row1(r + i, buf, xs + (t - t0) * cols, buf, sums);
                        }
                    }
                    r += h;
                }
            }
        }
    }

    /**
     * Full groups of columns {@code c0 .. c1} of rows {@code r .. r+h-1}, widened to the {@link FloatTiles} layout
     * ({@code [2L columns][row 0..4][2L floats]}, in half-block units on 16-register hosts: {@link FloatTiles#ROW_STEP}); rows {@code h .. 4} are zeros.
     *
     * <p>Times {@link #tileScale} (2^8), exact: the few subnormal E4M3 codes would otherwise be subnormal floats,
     * and on x86 every FMA with a subnormal input takes a microcode assist (about 110 cycles measured here, against
     * half a cycle for a plain FMA). In a prompt each tile vector feeds an FMA for every token group, so 0.003% of
     * subnormal codes (a quantized synth model) cost the prompt kernel about a quarter of its time. The panels carry
     * the inverse factor, so each product is the same real number and every FMA the same bits as on the one-token
     * paths, which read each code once and keep the plain bit trick.
     */
    private void widen(int r, int h, float[] tile, int c0, int c1) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int h5 = FloatTiles.ROWS;
        for (int i = 0; i < h5; i++) {
            if (i >= h) {
                for (int o = FloatTiles.TILE_AT + i * FloatTiles.ROW_STEP; o < FloatTiles.TILE_AT + h5 * (c1 - c0); o += h5 * B) {
                    FloatVector.zero(F).intoArray(tile, o);
                    FloatVector.zero(F).intoArray(tile, o + FloatTiles.HALF_STEP);
                }
                continue;
            }
            final int row = r + i;
            final int tr = row - row % QuantKernels.TILE;
            final int th = Math.min(QuantKernels.TILE, rows - tr);
            long off = (long) tr * cols + (long) c0 * th + (long) (row - tr) * G;
            for (int c = c0, o = FloatTiles.TILE_AT + i * FloatTiles.ROW_STEP; c < c1; c += G, off += (long) th * G, o += 2 * h5 * B) {
                IntVector v = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
                v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(tileScale).intoArray(tile, o);
                v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(tileScale).intoArray(tile, o + FloatTiles.HALF_STEP);
                v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(tileScale).intoArray(tile, o + h5 * B);
                v.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(tileScale).intoArray(tile, o + h5 * B + FloatTiles.HALF_STEP);
            }
        }
    }

    /**
     * Lane sums of a five-row group's 20 accumulators at {@code buf[sums ...]} (rows 0..3 by token, then row 4),
     * plus tails, times the row factors, into {@code y} for the group's {@code h} real rows and tokens t..t+3
     * (activations of token t at {@code buf[xo ...]}).
     */
    private void finish(float[] buf, int sums, int xo, float[] y, int r, int h, int t, int tokens) {
        final int L = Kernels.L;
        VectorMath.sum16(buf, sums, buf, sums + 20 * L);
        for (int j = 0; j < tokens; j++) {
            for (int i = 0; i < Math.min(h, 4); i++) {
                y[(t + j) * rows + r + i] = (buf[sums + 20 * L + 4 * j + i] + tail(r + i, buf, xo + j * cols)) * rowFactors[r + i];
            }
            if (h == FloatTiles.ROWS) {
                y[(t + j) * rows + r + 4] = (VectorMath.sum(buf, sums + (16 + j) * L) + tail(r + 4, buf, xo + j * cols)) * rowFactors[r + 4];
            }
        }
    }

    /** {@link #finish} for lane sums made already, at {@code buf[s ..]}: row i (0..3) of token j at {@code s + 4j + i}, row 4 at {@code s + 16 + j}. */
    private void finishSums(float[] buf, int s, int xo, float[] y, int r, int h, int t, int tokens) {
        for (int j = 0; j < tokens; j++) {
            for (int i = 0; i < Math.min(h, 4); i++) {
                y[(t + j) * rows + r + i] = (buf[s + 4 * j + i] + tail(r + i, buf, xo + j * cols)) * rowFactors[r + i];
            }
            if (h == FloatTiles.ROWS) {
                y[(t + j) * rows + r + 4] = (buf[s + 16 + j] + tail(r + 4, buf, xo + j * cols)) * rowFactors[r + 4];
            }
        }
    }

    /** The columns past the last full group of row {@code r} times the activations at {@code x[xo ...]}, in order. */
    private float tail(int r, float[] x, int xo) {
        if (cols % G == 0) { // the common case, tested before anything else: callers run this 20 times per tile and token group
            return 0f;
        }
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int full = cols / G * G;
        float q = 0f;
        for (int c = full; c < cols; c++) {
            q += decode(packed.get(ValueLayout.JAVA_BYTE, QuantKernels.byteOffset(rows, cols, r, c))) * x[xo + c];
        }
        return q;
    }

    /**
     * Rows {@code r0 .. r0+3} (a full tile of one band) for tokens {@code t .. t+3}; activations of token t at {@code x[t * cols]}.
     * Two passes of two rows ({@link #rows2tokens4}): sixteen accumulators do not fit AVX2's 16 vector registers, and the
     * one-pass kernel spilled (the same finding as {@link #tiles2x1}). `QuickMatrixRates fp8 4864x896 4 1`, processes
     * alternated: 12.6-14.6 -> 15.7-17.0 G products/s. Its compiled loop still has about twice the FMAs of one pass and
     * some spills (read through hsdis; not rechecked since the class checks were found, see {@link #tiles2x1}), so there
     * may be more to gain here. With AVX-512's 32 registers one pass fits ({@link #rows4tokens4}): two passes against one,
     * same command, Intel Xeon host: from DRAM [16384x4096] 4 tokens 18.1-18.2 -> 22.7-23.1 G products/s; in cache
     * [4864x896] 4 tokens 28.5-29.0 -> 26.8-27.4, 8 tokens 29.1 -> 26.9-27.4 (a model's decode reads DRAM: one pass).
     */
    private void tile4x4(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        if (REGISTERS32) {
            rows4tokens4(r0, t, x, buf, bo);
        } else {
            rows2tokens4(r0, 0, t, x, buf, bo);
            rows2tokens4(r0, 2, t, x, buf, bo);
        }
        VectorMath.sum16(buf, bo, buf, bo + 16 * L);
        for (int j = 0; j < 4; j++) {
            for (int i = 0; i < 4; i++) {
                y[(t + j) * rows + r0 + i] = (buf[bo + 16 * L + 4 * j + i] + tail(r0 + i, x, (t + j) * cols)) * rowFactors[r0 + i];
            }
        }
    }

    /**
     * Rows {@code r0 + i0} and {@code r0 + i0 + 1} of a full tile for tokens {@code t .. t+3}: eight accumulators, stored at
     * {@code buf[bo + (4 j + i) L]} (token j, row i of the tile) for {@link VectorMath#sum16}. Per accumulator the FMAs run in
     * column order, as in every kernel here.
     */
    private void rows2tokens4(int r0, int i0, int t, float[] x, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long o = (long) r0 * cols + (long) i0 * G;
        final int x0 = (t + 0) * cols;
        final int x1 = (t + 1) * cols;
        final int x2 = (t + 2) * cols;
        final int x3 = (t + 3) * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F), b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
        for (int c = 0; c < full; c += G) {
            final long q = o + 4L * c;
            IntVector v = IntVector.fromMemorySegment(I, packed, q, ByteOrder.LITTLE_ENDIAN);
            IntVector u = IntVector.fromMemorySegment(I, packed, q + G, ByteOrder.LITTLE_ENDIAN);
            FloatVector w, z, xv;
            w = v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            z = u.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
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
            w = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            z = u.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
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
            w = v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            z = u.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
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
            w = v.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            z = u.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
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
     * Rows {@code r0 .. r0+3} (a full tile of one band) for tokens {@code t, t + 1}: each code vector widened once for both
     * tokens, eight accumulators each fed as in {@link #tile4x1}, so the same bits. Two users' decode step used to widen
     * every weight twice ({@link #tile4x1} per token), the widening being what bounds these kernels.
     */
    private void tile4x2(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long step = 4L * G;
        long off = (long) r0 * cols;
        final int x0 = t * cols, x1 = x0 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F);
        for (int c = 0; c < full; c += G, off += step) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * G, ByteOrder.LITTLE_ENDIAN);
            FloatVector w, p = FloatVector.fromArray(F, x, x0 + c), q = FloatVector.fromArray(F, x, x1 + c);
            w = v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            w = v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            w = v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            w = v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            p = FloatVector.fromArray(F, x, x0 + c + L);
            q = FloatVector.fromArray(F, x, x1 + c + L);
            w = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            w = v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            w = v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            w = v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            p = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 2 * L);
            w = v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            w = v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            w = v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            w = v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            p = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 3 * L);
            w = v0.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            w = v1.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            w = v2.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            w = v3.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
        }
        final int y0 = t * rows + r0, y1 = y0 + rows;
        a00.intoArray(buf, bo);
        y[y0] = (VectorMath.sum(buf, bo) + tail(r0, x, x0)) * rowFactors[r0];
        a10.intoArray(buf, bo);
        y[y0 + 1] = (VectorMath.sum(buf, bo) + tail(r0 + 1, x, x0)) * rowFactors[r0 + 1];
        a20.intoArray(buf, bo);
        y[y0 + 2] = (VectorMath.sum(buf, bo) + tail(r0 + 2, x, x0)) * rowFactors[r0 + 2];
        a30.intoArray(buf, bo);
        y[y0 + 3] = (VectorMath.sum(buf, bo) + tail(r0 + 3, x, x0)) * rowFactors[r0 + 3];
        a01.intoArray(buf, bo);
        y[y1] = (VectorMath.sum(buf, bo) + tail(r0, x, x1)) * rowFactors[r0];
        a11.intoArray(buf, bo);
        y[y1 + 1] = (VectorMath.sum(buf, bo) + tail(r0 + 1, x, x1)) * rowFactors[r0 + 1];
        a21.intoArray(buf, bo);
        y[y1 + 2] = (VectorMath.sum(buf, bo) + tail(r0 + 2, x, x1)) * rowFactors[r0 + 2];
        a31.intoArray(buf, bo);
        y[y1 + 3] = (VectorMath.sum(buf, bo) + tail(r0 + 3, x, x1)) * rowFactors[r0 + 3];
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
        final long step = 4L * G;
        long off = (long) r0 * cols;
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F), a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F), a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F), a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F), a33 = FloatVector.zero(F);
        for (int c = 0; c < full; c += G, off += step) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * G, ByteOrder.LITTLE_ENDIAN);
            FloatVector w, p = FloatVector.fromArray(F, x, x0 + c), q = FloatVector.fromArray(F, x, x1 + c), u = FloatVector.fromArray(F, x, x2 + c), e = FloatVector.fromArray(F, x, x3 + c);
            w = v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            a03 = w.fma(e, a03);
            w = v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            a13 = w.fma(e, a13);
            w = v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            a23 = w.fma(e, a23);
            w = v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            a33 = w.fma(e, a33);
            p = FloatVector.fromArray(F, x, x0 + c + L);
            q = FloatVector.fromArray(F, x, x1 + c + L);
            u = FloatVector.fromArray(F, x, x2 + c + L);
            e = FloatVector.fromArray(F, x, x3 + c + L);
            w = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            a03 = w.fma(e, a03);
            w = v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            a13 = w.fma(e, a13);
            w = v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            a23 = w.fma(e, a23);
            w = v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            a33 = w.fma(e, a33);
            p = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 2 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 2 * L);
            e = FloatVector.fromArray(F, x, x3 + c + 2 * L);
            w = v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            a03 = w.fma(e, a03);
            w = v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            a13 = w.fma(e, a13);
            w = v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            a23 = w.fma(e, a23);
            w = v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            a33 = w.fma(e, a33);
            p = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 3 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 3 * L);
            e = FloatVector.fromArray(F, x, x3 + c + 3 * L);
            w = v0.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            a03 = w.fma(e, a03);
            w = v1.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            a13 = w.fma(e, a13);
            w = v2.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            a23 = w.fma(e, a23);
            w = v3.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
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
     * Rows {@code r0 .. r0+3} (a full tile of one band) for tokens {@code t .. t + 2}: {@link #tile4x2} with a third token,
     * twelve accumulators (20 vector registers with the codes, activations and widened weight: AVX-512's 32 only, see
     * {@link #REGISTERS32}). Three users' decode step took {@link #tile4x2} and {@link #tile4x1}, widening every weight twice.
     */
    private void tile4x3(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long step = 4L * G;
        long off = (long) r0 * cols;
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F);
        for (int c = 0; c < full; c += G, off += step) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * G, ByteOrder.LITTLE_ENDIAN);
            FloatVector w, p = FloatVector.fromArray(F, x, x0 + c), q = FloatVector.fromArray(F, x, x1 + c), u = FloatVector.fromArray(F, x, x2 + c);
            w = v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            w = v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            w = v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            w = v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            p = FloatVector.fromArray(F, x, x0 + c + L);
            q = FloatVector.fromArray(F, x, x1 + c + L);
            u = FloatVector.fromArray(F, x, x2 + c + L);
            w = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            w = v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            w = v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            w = v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            p = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 2 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 2 * L);
            w = v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            w = v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            w = v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            w = v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
            p = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            q = FloatVector.fromArray(F, x, x1 + c + 3 * L);
            u = FloatVector.fromArray(F, x, x2 + c + 3 * L);
            w = v0.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a00 = w.fma(p, a00);
            a01 = w.fma(q, a01);
            a02 = w.fma(u, a02);
            w = v1.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a10 = w.fma(p, a10);
            a11 = w.fma(q, a11);
            a12 = w.fma(u, a12);
            w = v2.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a20 = w.fma(p, a20);
            a21 = w.fma(q, a21);
            a22 = w.fma(u, a22);
            w = v3.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
            a30 = w.fma(p, a30);
            a31 = w.fma(q, a31);
            a32 = w.fma(u, a32);
        }
        final int y0 = t * rows + r0, y1 = y0 + rows, y2 = y1 + rows;
        a00.intoArray(buf, bo);
        y[y0] = (VectorMath.sum(buf, bo) + tail(r0, x, x0)) * rowFactors[r0];
        a10.intoArray(buf, bo);
        y[y0 + 1] = (VectorMath.sum(buf, bo) + tail(r0 + 1, x, x0)) * rowFactors[r0 + 1];
        a20.intoArray(buf, bo);
        y[y0 + 2] = (VectorMath.sum(buf, bo) + tail(r0 + 2, x, x0)) * rowFactors[r0 + 2];
        a30.intoArray(buf, bo);
        y[y0 + 3] = (VectorMath.sum(buf, bo) + tail(r0 + 3, x, x0)) * rowFactors[r0 + 3];
        a01.intoArray(buf, bo);
        y[y1] = (VectorMath.sum(buf, bo) + tail(r0, x, x1)) * rowFactors[r0];
        a11.intoArray(buf, bo);
        y[y1 + 1] = (VectorMath.sum(buf, bo) + tail(r0 + 1, x, x1)) * rowFactors[r0 + 1];
        a21.intoArray(buf, bo);
        y[y1 + 2] = (VectorMath.sum(buf, bo) + tail(r0 + 2, x, x1)) * rowFactors[r0 + 2];
        a31.intoArray(buf, bo);
        y[y1 + 3] = (VectorMath.sum(buf, bo) + tail(r0 + 3, x, x1)) * rowFactors[r0 + 3];
        a02.intoArray(buf, bo);
        y[y2] = (VectorMath.sum(buf, bo) + tail(r0, x, x2)) * rowFactors[r0];
        a12.intoArray(buf, bo);
        y[y2 + 1] = (VectorMath.sum(buf, bo) + tail(r0 + 1, x, x2)) * rowFactors[r0 + 1];
        a22.intoArray(buf, bo);
        y[y2 + 2] = (VectorMath.sum(buf, bo) + tail(r0 + 2, x, x2)) * rowFactors[r0 + 2];
        a32.intoArray(buf, bo);
        y[y2 + 3] = (VectorMath.sum(buf, bo) + tail(r0 + 3, x, x2)) * rowFactors[r0 + 3];
    }

    /** Rows {@code r0 .. r0+3} (a full tile of one band) for token {@code t}; activations of token t at {@code x[t * cols]}. */
    private void tile4x1(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long step = 4L * G;
        long off = (long) r0 * cols;
        final int x0 = t * cols;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F);
        for (int c = 0; c < full; c += G, off += step) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * G, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * G, ByteOrder.LITTLE_ENDIAN);
            FloatVector x00 = FloatVector.fromArray(F, x, x0 + c + 0 * L);
            a00 = v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x00, a00);
            a10 = v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x00, a10);
            a20 = v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x00, a20);
            a30 = v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x00, a30);
            FloatVector x01 = FloatVector.fromArray(F, x, x0 + c + 1 * L);
            a00 = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x01, a00);
            a10 = v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x01, a10);
            a20 = v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x01, a20);
            a30 = v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x01, a30);
            FloatVector x02 = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            a00 = v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x02, a00);
            a10 = v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x02, a10);
            a20 = v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x02, a20);
            a30 = v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x02, a30);
            FloatVector x03 = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            a00 = v0.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x03, a00);
            a10 = v1.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x03, a10);
            a20 = v2.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x03, a20);
            a30 = v3.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().fma(x03, a30);
        }
        final int yo = t * rows + r0;
        a00.intoArray(buf, bo);
        y[yo] = (VectorMath.sum(buf, bo) + tail(r0, x, x0)) * rowFactors[r0];
        a10.intoArray(buf, bo);
        y[yo + 1] = (VectorMath.sum(buf, bo) + tail(r0 + 1, x, x0)) * rowFactors[r0 + 1];
        a20.intoArray(buf, bo);
        y[yo + 2] = (VectorMath.sum(buf, bo) + tail(r0 + 2, x, x0)) * rowFactors[r0 + 2];
        a30.intoArray(buf, bo);
        y[yo + 3] = (VectorMath.sum(buf, bo) + tail(r0 + 3, x, x0)) * rowFactors[r0 + 3];
    }

    /** Row {@code r} times the band-scaled activations at {@code x[xo ...]}; same summation order as the tile kernels. */
    private float row1(int r, float[] x, int xo, float[] buf, int bo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int r0 = r - r % QuantKernels.TILE;
        final int h = Math.min(QuantKernels.TILE, rows - r0);
        final long step = (long) h * G;
        long off = (long) r0 * cols + (long) (r - r0) * G;
        FloatVector a00 = FloatVector.zero(F);
        for (int c = 0; c < full; c += G, off += step) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
            a00 = v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats()
                    .fma(FloatVector.fromArray(F, x, xo + c), a00);
            a00 = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats()
                    .fma(FloatVector.fromArray(F, x, xo + c + L), a00);
            a00 = v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats()
                    .fma(FloatVector.fromArray(F, x, xo + c + 2 * L), a00);
            a00 = v0.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats()
                    .fma(FloatVector.fromArray(F, x, xo + c + 3 * L), a00);
        }
        a00.intoArray(buf, bo);
        return (VectorMath.sum(buf, bo) + tail(r, x, xo)) * rowFactors[r];
    }
}
