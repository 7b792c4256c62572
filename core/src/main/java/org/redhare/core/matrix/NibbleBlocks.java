package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.redhare.core.NativeMemory;
import org.redhare.core.Parallel;

/**
 * The kernels of 4-bit weights with a float scale {@code s} per 32-column block of a row, and either the offset of
 * Q4_0 ({@code W = (q - 8) s}) or a float offset {@code o} per block ({@code W = q s + o}: Q4_K's sub-blocks, with
 * {@code s = d * sc} and {@code o = -dmin * m}, and Q4_1); and of Q5_0's 5-bit values, kept a byte each (see the second
 * constructor). {@link Q4_0Matrix}, {@link Q4_KMatrix} and {@link Q5_0Matrix} hold one.
 *
 * <p><b>Integer products, 16-bit sums.</b> The activations of each token are quantized per 32-column block, as
 * llama.cpp does for this format: {@code dx = amax / 127}, {@code xq = rint(x * (1 / dx))} in -127..127. A 4-bit weight
 * times such an activation fits in 16 bits, and so does each block's sum once its offset is taken off (see
 * {@link #BLOCK_SUMS}): the kernels multiply and add {@code short} vectors ({@code vpmullw}, {@code vpaddw} on x86),
 * 2L products per instruction, where widening each weight to a float took two or three instructions before its FMA.
 * Per block the 16-bit sums become {@code T = S - 8 * sum(xq)}, widened to int and then float, exactly, and each
 * (row, token) accumulates {@code fma(T, s * dx, acc)} over the blocks in column order; with offsets, then also
 * {@code fma(sum(xq), (8 s + o) * dx, acc)}, since {@code sum((q s + o) xq) = s T + (8 s + o) sum(xq)}. The
 * Vector API has no widening multiply-add ({@code vpmaddwd}, {@code vpmaddubsw}), which is why 8-bit weights (Q8_0) do not profit the same way:
 * two of their products already overflow 16 bits.
 *
 * <p><b>Rows in lanes.</b> A tile is {@code TR = 2L} rows, one per 16-bit lane, so a tile's sums come out as whole
 * vectors with no horizontal reduction. Within an int lane, the low short is row {@code i} and the high short row
 * {@code L + i}: widening the 16-bit sums ({@code (v << 16) >> 16} and {@code v >> 16}) gives rows 0..L-1 and L..2L-1
 * as two float vectors in order. Each short holds four columns of its row as nibbles; an int shift and an AND with
 * {@code 0x000F000F} take column {@code j} of both rows of a lane at once.
 *
 * <p><b>Activations in lanes.</b> The kernels multiply a tile step by the activation of one column in every lane,
 * read as a vector from an expanded copy ({@code TR} copies of each quantized activation): a plain load, where a
 * broadcast from a short array took three instructions in C2's code. One token expands the whole row once
 * ({@code cols * TR} shorts), and several tokens one such copy each, up to {@link #TOKEN_BLOCK} at a time
 * ({@link #onePerToken}); groups of four tokens ({@link #several}: Q4_K's from 8 tokens, the others' from 16) expand four
 * tokens' chunk of columns at a time per worker.
 *
 * <p><b>Batch invariance.</b> The integer sums are exact, so their order never matters; each (row, token) adds its
 * blocks' {@code fma} in column order on every path ({@link #tiles4x1} per token; groups of four tokens:
 * {@link #tile1x4}),
 * and a token's quantized activations depend only on that token. A token gets the same bits alone or in any batch,
 * on any number of threads.
 *
 * <p><b>Accuracy.</b> The activation quantization adds an error of at most {@code dx / 2} per activation (about 0.4%
 * of each block's largest value), as in llama.cpp's own kernels for these formats (finer than its Q8_K for Q4_K);
 * {@code redhare perplexity --kl} measures it: on the trained stories260K, {@code --quantize q4_0} gave a mean KL
 * of 0.0851 against the float model with float activations and 0.0847 with these.
 *
 * <p><b>Layout (repacked at load).</b> Tiles of {@code TR} rows (the last padded with zero weights), each one stream of
 * 32-column blocks; a block is 8 steps of {@code TR} shorts, step {@code s} holding columns {@code 4s .. 4s+3} of
 * each row at bits {@code 4j}. Scales and offsets are floats, {@code [tile][block][TR]}; or, for Q4_K, factored as the
 * file has them (a byte code per block and row, a float factor per super-block and row: see the third constructor),
 * and multiplied out into a small scratch between kernel calls, a few super-blocks at a time.
 */
final class NibbleBlocks {
    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Integer> I = Kernels.I;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize()));
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int L = Kernels.L;
    /** Rows per tile: one per 16-bit lane. */
    static final int TR = 2 * L;
    /** Bytes of one step (four columns of the tile's rows) and of one block (32 columns). */
    private static final int STEP = 2 * TR;
    private static final int BLOCK = 8 * STEP;
    /**
     * Why a block's 32 products may be summed in 16 bits although their sum with 4-bit {@code q} in 0..15 can reach
     * 60960 in size: the kernels want {@code T = sum((q - 8) * xq) = S - 8 * sum(xq)}, which is at most 32 * 8 * 127 =
     * 32512 in size. {@code S} and {@code 8 * sum(xq)} are both known modulo 2^16 (wrapping 16-bit adds), so their
     * difference modulo 2^16, read as a signed short, is exactly {@code T}. (Byte values: see the second constructor.)
     */
    private static final int BLOCK_SUMS = 32;
    /**
     * Added and subtracted, rounds a float below 2^22 in size to the nearest integer, ties to even ({@code Math.rint}):
     * the activations' quantization, vectorized (it was 10 ns an activation in scalar code, a third of one-token time
     * on 4864-wide rows).
     */
    private static final float ROUND = 0x1.8p23f;
    /** Column j of both shorts of an int lane, after a shift by 4j. */
    private static final int NIBBLES = 0x000F000F;
    /** Tokens per pass of the several-token kernel. */
    private static final int TOKENS = 4;
    /**
     * Blocks of columns expanded at a time by the several-token path: 4 tokens x 4 blocks x 32 columns x TR shorts, 16 KiB
     * at L = 8, in L1 beside the chunk's weights (16 blocks, 64 KiB: 22.8 against 24.6 G products/s).
     */
    private static final int CHUNK_BLOCKS = 4;
    /** Tiles per pass of the several-token path over one token group and column chunk. */
    private static final int TILE_CHUNK = 16;
    /**
     * Expanded activations start this many shorts into their array, so that their vectors are aligned to the vector size:
     * the scratch arrays are humongous objects, at the start of a G1 region ({@code Parallel#MIN_SCRATCH_FLOATS}), and
     * an array's elements start 16 bytes in. Unaligned, half of the 32-byte loads crossed a cache line: the several-token
     * kernel ran 25.2 G products/s instead of 28.0 ({@code QuickMatrixRates q4_0 4864x896 512}, AMD EPYC).
     */
    private static final int XA = Math.max(0, (S.vectorByteSize() - 16) / 2);

    private final MemorySegment packed; // nibbles: [tiles][nb][8 steps][TR shorts]; bytes: [tiles][cols / 2 steps][TR shorts]
    private final float[] d;            // [tiles][cols / bw][TR] block scales (zero for padding rows), or null (factored)
    private final float[] o;            // [tiles][nb][TR] block offsets, or null (Q4_0, byte values, factored)
    // Factored (Q4_K): s = dsup * sc, o = msup * m = -(dmin * m), as the file stores them (see the third constructor); else null.
    private final int[] codes;          // [tiles][nb][L] sub-block codes: int lane i = sc(i) | sc(L + i) << 8 | m(i) << 16 | m(L + i) << 24
    private final float[] dsup;         // [tiles][nb / 8][TR] super-block scales d
    private final float[] msup;         // [tiles][nb / 8][TR] super-block mins, negated: -dmin
    private final int nsb;              // super-blocks (of 8 blocks) per row, factored
    private final String type;
    private final int rows;
    private final int cols;
    private final int nb;               // 32-column blocks per row (activation scales)
    private final int tiles;
    private final boolean bytes;        // values stored a byte each (Q5_0) rather than a nibble
    private final int center;           // the offset of the values: W = (u - center) s; 8 for nibbles
    private final int span;             // columns per 16-bit sum: BLOCK_SUMS for nibbles, BYTE_SPAN for bytes
    private final int bw;               // columns per scale
    private final int nbw;              // scales per row
    private final int nspan;            // 16-bit sums per row

    /**
     * @param q       {@code [rows, cols]} 4-bit values 0..15, one per byte, row-major
     * @param scales  {@code [rows, cols / 32]} block scales
     * @param offsets {@code [rows, cols / 32]} block offsets ({@code W = q s + o}), or null for {@code W = (q - 8) s}
     * @param type    the format's name, for messages
     */
    NibbleBlocks(MemorySegment q, float[] scales, float[] offsets, int rows, int cols, String type) {
        this(q, scales, offsets, false, rows, cols, type);
    }

    /** The nibble forms: float scales (and offsets), or, {@code factored}, Q4_K's codes and factors, filled by the caller. */
    private NibbleBlocks(MemorySegment q, float[] scales, float[] offsets, boolean factored, int rows, int cols, String type) {
        if (q != null) { // null: the caller fills the layout itself (ofGgmlQ4_0)
            MatrixChecks.size(q, rows, cols, 1, type);
        }
        if (cols % (factored ? 256 : 32) != 0) {
            throw new IllegalArgumentException(type + " rows must be a multiple of " + (factored ? 256 : 32) + " long, got " + cols);
        }
        this.rows = rows;
        this.cols = cols;
        this.nb = cols / 32;
        this.type = type;
        if (!factored && scales != null && scales.length != rows * nb) {
            throw new IllegalArgumentException(type + " matrix [" + rows + ", " + cols + "] needs " + rows * nb + " scales, got " + scales.length);
        }
        if (offsets != null && offsets.length != rows * nb) {
            throw new IllegalArgumentException(type + " matrix [" + rows + ", " + cols + "] needs " + rows * nb + " offsets, got " + offsets.length);
        }
        this.tiles = (rows + TR - 1) / TR;
        this.d = factored ? null : new float[tiles * nb * TR];
        this.o = offsets == null ? null : new float[tiles * nb * TR];
        this.nsb = factored ? cols / 256 : 0;
        this.codes = factored ? new int[tiles * nb * L] : null;
        this.dsup = factored ? new float[tiles * nsb * TR] : null;
        this.msup = factored ? new float[tiles * nsb * TR] : null;
        this.packed = QuantKernels.allocate((long) tiles * nb * BLOCK);
        this.bytes = false;
        this.center = 8;
        this.span = BLOCK_SUMS;
        this.bw = 32;
        this.nbw = nb;
        this.nspan = nb;
        if (q != null) {
            repack(q, scales, offsets);
        }
    }

    /**
     * GGML Q4_0 blocks as GGUF stores them (per row {@code cols / 32} blocks of an f16 scale and 16 bytes whose low
     * nibbles are the block's columns 0..15 and high nibbles 16..31) straight into the tile layout, in ranges of tiles
     * over {@link Repacking}'s threads: the same layout as unpacking them a value a byte and {@link #repack}ing that, in
     * one pass instead of two over a byte-a-weight copy (and no check: a nibble is always 0..15).
     */
    static NibbleBlocks ofGgmlQ4_0(MemorySegment blocks, int rows, int cols) {
        NibbleBlocks m = new NibbleBlocks(null, null, null, false, rows, cols, "Q4_0");
        Repacking.forRange(m.tiles, Repacking.grain(cols, TR), (t0, t1, worker) -> m.fillQ4_0(blocks, t0 * TR, Math.min(rows, t1 * TR)));
        return m;
    }

    /** Rows {@code r0 .. r1} (whole tiles) of {@link #ofGgmlQ4_0}. */
    private void fillQ4_0(MemorySegment blocks, int r0, int r1) {
        final int rowBytes = nb * 18;
        byte[] in = new byte[rowBytes];
        short[] tile = new short[nb * 8 * TR];
        for (int r = r0; r < r1; r++) {
            if (r % TR == 0) {
                java.util.Arrays.fill(tile, (short) 0);
            }
            MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, (long) r * rowBytes, in, 0, rowBytes);
            int t = r / TR;
            int lane = lane(r % TR);
            for (int b = 0; b < nb; b++) {
                int o = b * 18;
                d[(t * nb + b) * TR + r % TR] = Float.float16ToFloat((short) ((in[o] & 0xFF) | (in[o + 1] & 0xFF) << 8));
                for (int s = 0, p = o + 2, at = b * 8 * TR + lane; s < 4; s++, p += 4, at += TR) { // steps s and s + 4
                    tile[at] = (short) ((in[p] & 0xF) | (in[p + 1] & 0xF) << 4 | (in[p + 2] & 0xF) << 8 | (in[p + 3] & 0xF) << 12);
                    tile[at + 4 * TR] = (short) ((in[p] >> 4 & 0xF) | (in[p + 1] >> 4 & 0xF) << 4 | (in[p + 2] >> 4 & 0xF) << 8
                            | (in[p + 3] >> 4 & 0xF) << 12);
                }
            }
            if (r % TR == TR - 1 || r == rows - 1) {
                MemorySegment.copy(tile, 0, packed, LE_SHORT, (long) t * nb * BLOCK, tile.length);
            }
        }
    }

    /**
     * Q5_0's 5-bit values stored a byte each: {@code W = (u - 16) s} with {@code u} in {@code 0 .. 31} and a float scale
     * per 32 columns. Their products with int8 activations are at most {@code 31 * 127}, and {@code sum((u - 16) xq)}
     * over {@link #BYTE_SPAN} = 16 columns at most 16 * 16 * 127 = 32512 in size, so the 16-bit sums are folded every
     * 16 columns (see {@link #BLOCK_SUMS}). Q6_K (center 32, so a span of 8 columns) ran through these kernels too, but
     * folding every 8 columns cost more than it saved: one-token 8.9 G weights/s against the float kernels' 10.0 in
     * cache, prompts 13.7 G products/s against 23.8 ({@code QuickMatrixRates q6_k 2048x2048}); it now has kernels of its
     * own where AVX512-VNNI machine code runs ({@link Q6_KMatrix}), and stays on {@link Q8_0Matrix} elsewhere. At one byte a weight Q5_0 reads 1.8 times Q4_0's bytes and runs at about half its rate
     * (14.8 against 27.3 G weights/s one token, {@code QuickMatrixRates q5_0|q4_0 4864x896 1}).
     *
     * @param codes  {@code [rows, cols]} the values less {@code center} ({@code u - center}), int8, row-major
     * @param scales {@code [rows, cols / bw]} block scales
     */
    NibbleBlocks(MemorySegment codes, float[] scales, int bw, int center, int rows, int cols, String type) {
        MatrixChecks.size(codes, rows, cols, 1, type);
        if (cols % 32 != 0) {
            throw new IllegalArgumentException(type + " rows must be a multiple of 32 long, got " + cols);
        }
        if (center != 256 / BYTE_SPAN || bw != 32) {
            throw new IllegalArgumentException("byte values centered at " + center + " with scales per " + bw + " columns are not supported"
                    + " (only Q5_0's 16 and 32)");
        }
        this.rows = rows;
        this.cols = cols;
        this.nb = cols / 32;
        this.type = type;
        this.bytes = true;
        this.center = center;
        this.span = BYTE_SPAN;
        this.bw = bw;
        this.nbw = cols / bw;
        this.nspan = cols / span;
        if (scales.length != rows * nbw) {
            throw new IllegalArgumentException(type + " matrix [" + rows + ", " + cols + "] needs " + rows * nbw + " scales, got " + scales.length);
        }
        this.tiles = (rows + TR - 1) / TR;
        this.d = new float[tiles * nbw * TR];
        this.o = null;
        this.codes = null;
        this.dsup = this.msup = null;
        this.nsb = 0;
        this.packed = QuantKernels.allocate((long) tiles * cols * TR);
        Repacking.forRange(tiles, Repacking.grain(cols, TR), (t0, t1, worker) -> {
            byte[] row = new byte[cols];
            for (int r = t0 * TR; r < Math.min(rows, t1 * TR); r++) {
                MemorySegment.copy(codes, ValueLayout.JAVA_BYTE, (long) r * cols, row, 0, cols);
                int t = r / TR;
                int lane = lane(r % TR);
                for (int c = 0; c < cols; c++) {
                    int u = row[c] + center;
                    if (u < 0 || u >= 2 * center) {
                        throw new IllegalArgumentException(type + " value [" + r + ", " + c + "] is " + row[c] + "; expected " + -center + ".." + (center - 1));
                    }
                    packed.set(ValueLayout.JAVA_BYTE, (long) t * cols * TR + (long) (c >> 1) * STEP + 2L * lane + (c & 1), (byte) u);
                }
                for (int b = 0; b < nbw; b++) {
                    d[(t * nbw + b) * TR + r % TR] = scales[r * nbw + b];
                }
            }
        });
    }

    /**
     * Q4_K as the file factors it: {@code W = q s + o} with {@code s = d * sc} and {@code o = -(dmin * m)}, where
     * {@code sc} and {@code m} are a sub-block's (32 columns) 6-bit codes and {@code d} and {@code dmin} its super-block's
     * (256 columns) f16 factors. Kept so, a code a byte and the factors a float per super-block, instead of a float
     * scale and a float offset per sub-block: 0.59 bytes a weight instead of 0.75, the bytes a token reads. Their callers
     * multiply the factors out into a small scratch between kernel calls ({@link #expandSuper}, {@link #expandBlocks});
     * both products are exact in float (an 11-bit significand times a 6-bit integer) and equal the ones the float form
     * held, so the results are the same bits.
     *
     * @param q          {@code [rows, cols]} 4-bit values 0..15, one per byte, row-major
     * @param superD     {@code [rows, cols / 256]} super-block scales {@code d}
     * @param superMin   {@code [rows, cols / 256]} super-block mins {@code dmin}
     * @param scaleCodes {@code [rows, cols / 32]} sub-block scale codes {@code sc}
     * @param minCodes   {@code [rows, cols / 32]} sub-block min codes {@code m}
     */
    NibbleBlocks(MemorySegment q, float[] superD, float[] superMin, byte[] scaleCodes, byte[] minCodes, int rows, int cols, String type) {
        this(q, null, null, true, rows, cols, type);
        if (superD.length != rows * nsb || superMin.length != rows * nsb) {
            throw new IllegalArgumentException(type + " matrix [" + rows + ", " + cols + "] needs " + rows * nsb + " super-block factors, got "
                    + superD.length + " and " + superMin.length);
        }
        if (scaleCodes.length != rows * nb || minCodes.length != rows * nb) {
            throw new IllegalArgumentException(type + " matrix [" + rows + ", " + cols + "] needs " + rows * nb + " sub-block codes, got "
                    + scaleCodes.length + " and " + minCodes.length);
        }
        for (int r = 0; r < rows; r++) {
            final int t = r / TR;
            final int i = r % TR % L;
            final int shift = r % TR < L ? 0 : 8;
            for (int b = 0; b < nb; b++) {
                final int sc = scaleCodes[r * nb + b], m = minCodes[r * nb + b];
                if ((sc & ~63) != 0 || (m & ~63) != 0) {
                    throw new IllegalArgumentException(type + " sub-block codes [" + r + ", " + b + "] are " + sc + " and " + m + "; expected 0..63");
                }
                codes[(t * nb + b) * L + i] |= sc << shift | m << (16 + shift);
            }
            for (int u = 0; u < nsb; u++) {
                dsup[(t * nsb + u) * TR + r % TR] = superD[r * nsb + u];
                msup[(t * nsb + u) * TR + r % TR] = -superMin[r * nsb + u]; // -(dmin) m = -(dmin m) exactly
            }
        }
    }

    /** Whether the scales are factored (see the third constructor). */
    private boolean factored() {
        return codes != null;
    }

    /** Where {@link #tiles4x1} keeps a super-block's factored scales in its scratch, after its results. */
    private static final int FS = 4 * TR;
    /** Super-blocks per call of {@link #tiles4x1}, factored: their scales, expanded, take {@code 4 * 8 * SBC * 2 * TR} floats. */
    private static final int SBC = 2;
    /** Blocks of a factored chunk of {@link #tiles4x1}. */
    private static final int CB = 8 * SBC;

    /**
     * The scales and offsets of factored tiles {@code ta .. td}'s blocks {@code b0 .. b1-1} (whole super-blocks, at most
     * {@link #CB} blocks), as the float form holds them: {@code s} of tile {@code i}'s (0..3) block {@code b} at
     * {@code dst[at + (i CB + b - b0) TR ...]}, {@code o} {@code 4 CB TR} further. Called between {@link #tiles4x1}'s
     * calls, one per chunk, not from inside its loop: inlined into that large method, this code hit C2's node-count
     * cutoff, and its vectors were boxed (q4_k [1024x1024] 14-24 G weights/s against 40).
     */
    private void expandSuper(int ta, int tb, int tc, int td, int b0, int b1, float[] dst, int at) {
        expandTile(ta, b0, b1, dst, at, TR, 4 * CB * TR);
        expandTile(tb, b0, b1, dst, at + CB * TR, TR, 4 * CB * TR);
        expandTile(tc, b0, b1, dst, at + 2 * CB * TR, TR, 4 * CB * TR);
        expandTile(td, b0, b1, dst, at + 3 * CB * TR, TR, 4 * CB * TR);
    }

    /**
     * The same for factored tiles {@code t0 .. t1-1}'s blocks {@code b0 .. b1-1}, for {@link #tile1x4}: {@code s} of
     * tile {@code t}'s block {@code b} at {@code dst[at + ((t - t0) * (b1 - b0) + b - b0) * 2 TR ...]}, {@code o} TR
     * further.
     */
    private void expandBlocks(int t0, int t1, int b0, int b1, float[] dst, int at) {
        for (int t = t0; t < t1; t++) {
            expandTile(t, b0, b1, dst, at + (t - t0) * (b1 - b0) * 2 * TR, 2 * TR, TR);
        }
    }

    /**
     * Tile {@code t}'s blocks {@code b0 .. b1-1}, whole super-blocks: {@code s = d * sc} of block {@code b} at {@code dst[at + (b - b0) step
     * ...]} ({@code TR} floats) and {@code o = -dmin * m} {@code ob} further. The byte extraction is written out: a
     * helper for it was once left un-inlined by C2 ("low call site frequency"), which boxed its vectors.
     */
    private void expandTile(int t, int b0, int b1, float[] dst, int at, int step, int ob) {
        int k = at;
        for (int u = b0 >>> 3; u < b1 >>> 3; u++) { // b0 and b1 are multiples of 8: whole super-blocks
            final int v = (t * nsb + u) * TR;
            final FloatVector d0 = FloatVector.fromArray(F, dsup, v), d1 = FloatVector.fromArray(F, dsup, v + L);
            final FloatVector m0 = FloatVector.fromArray(F, msup, v), m1 = FloatVector.fromArray(F, msup, v + L);
            for (int b = 8 * u; b < 8 * u + 8; b++, k += step) {
                final IntVector g = IntVector.fromArray(I, codes, (t * nb + b) * L);
                d0.mul((FloatVector) g.and(0xFF).convert(VectorOperators.I2F, 0)).intoArray(dst, k);
                d1.mul((FloatVector) g.lanewise(VectorOperators.LSHR, 8).and(0xFF).convert(VectorOperators.I2F, 0)).intoArray(dst, k + L);
                m0.mul((FloatVector) g.lanewise(VectorOperators.LSHR, 16).and(0xFF).convert(VectorOperators.I2F, 0)).intoArray(dst, k + ob);
                m1.mul((FloatVector) g.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).intoArray(dst, k + ob + L);
            }
        }
    }

    /** The short lane of row {@code i} of a tile: low short of int lane {@code i}, or high short of int lane {@code i - L}. */
    private static int lane(int i) {
        return i < L ? 2 * i : 2 * (i - L) + 1;
    }

    /** Row by row into a tile's worth of shorts (the tile's bytes are one contiguous run), copied out once per tile. */
    private void repack(MemorySegment q, float[] scales, float[] offsets) {
        Repacking.forRange(tiles, Repacking.grain(cols, TR), (t0, t1, worker) -> repack(q, scales, offsets, t0 * TR, Math.min(rows, t1 * TR)));
    }

    /** {@link #repack} of rows {@code r0 .. r1} (whole tiles). */
    private void repack(MemorySegment q, float[] scales, float[] offsets, int r0, int r1) {
        byte[] row = new byte[cols];
        short[] tile = new short[nb * 8 * TR];
        for (int r = r0; r < r1; r++) {
            if (r % TR == 0) {
                java.util.Arrays.fill(tile, (short) 0);
            }
            MemorySegment.copy(q, ValueLayout.JAVA_BYTE, (long) r * cols, row, 0, cols);
            int any = 0;
            for (int c = 0; c < cols; c++) {
                any |= row[c];
            }
            if ((any & 0xF0) != 0) {
                for (int c = 0; c < cols; c++) {
                    if ((row[c] & 0xF0) != 0) {
                        throw new IllegalArgumentException(type + " value [" + r + ", " + c + "] is " + row[c] + "; expected 0..15");
                    }
                }
            }
            int t = r / TR;
            int lane = lane(r % TR);
            for (int b = 0; b < nb; b++) {
                if (scales != null) {
                    d[(t * nb + b) * TR + r % TR] = scales[r * nb + b];
                }
                if (offsets != null) {
                    o[(t * nb + b) * TR + r % TR] = offsets[r * nb + b];
                }
                for (int s = 0, p = b * 32, at = b * 8 * TR + lane; s < 8; s++, p += 4, at += TR) {
                    tile[at] = (short) (row[p] | row[p + 1] << 4 | row[p + 2] << 8 | row[p + 3] << 12);
                }
            }
            if (r % TR == TR - 1 || r == rows - 1) {
                MemorySegment.copy(tile, 0, packed, LE_SHORT, (long) t * nb * BLOCK, tile.length);
            }
        }
    }

    int rows() {
        return rows;
    }

    int cols() {
        return cols;
    }

    long bytes() {
        if (factored()) {
            return packed.byteSize() + (long) (codes.length + dsup.length + msup.length) * Float.BYTES;
        }
        return packed.byteSize() + (long) d.length * Float.BYTES * (o == null ? 1 : 2);
    }

    void row(int r, float[] dst, int off) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        int t = r / TR;
        int lane = lane(r % TR);
        if (bytes) {
            for (int c = 0; c < cols; c++) {
                int u = packed.get(ValueLayout.JAVA_BYTE, (long) t * cols * TR + (long) (c >> 1) * STEP + 2L * lane + (c & 1)) & 0xFF;
                dst[off + c] = (u - center) * d[(t * nbw + c / bw) * TR + r % TR];
            }
            return;
        }
        for (int c = 0; c < cols; c++) {
            int b = c >> 5;
            int p = c & 31;
            int v = packed.get(LE_SHORT, ((long) t * nb + b) * BLOCK + (long) (p >> 2) * STEP + 2L * lane);
            int qv = (v >>> (4 * (p & 3))) & 0xF;
            int k = (t * nb + b) * TR + r % TR;
            if (factored()) {
                int u = (t * nsb + (b >>> 3)) * TR + r % TR;
                int v4 = codes[(t * nb + b) * L + r % TR % L] >>> (r % TR < L ? 0 : 8);
                dst[off + c] = Math.fma((float) qv, dsup[u] * (v4 & 0xFF), msup[u] * ((v4 >>> 16) & 0xFF));
                continue;
            }
            dst[off + c] = o == null ? (qv - 8) * d[k] : Math.fma((float) qv, d[k], o[k]); // (q - 8) d exact: d is an f16 value
        }
    }

    void multiply(Parallel pool, float[] x, int n, float[] y) {
        multiply(pool, x, n, y, nativeTokens());
    }

    /**
     * {@link #multiply} in machine code ({@code natively}, where it runs: every token through {@link #onePerToken}'s
     * {@link NativeKernels#nibbleTokens}) or in Java (tests; and where the machine code does not run: the several-token
     * kernel from {@link #GROUP_FROM} tokens). The same bits either way.
     */
    void multiply(Parallel pool, float[] x, int n, float[] y, boolean natively) {
        final int dxo = 0;               // [n][nb] activation scales
        final int sxo = n * nb;          // [n][nspan] center * sum of each span's quantized activations
        final float[] xf = pool.scratch(n * nb + n * nspan);
        // In Java, tokens in whole groups of four through the several-token kernel: Q4_K's from 8 tokens, the other forms'
        // from GROUP_FROM (see onePerToken); the rest one at a time. The machine code takes every token one at a time.
        final int grouped = natively && SEVERAL_NATIVE ? 0 : n >= (factored() ? 2 * TOKENS : GROUP_FROM) ? n / TOKENS * TOKENS : 0;
        if (grouped > 0) {
            final short[] xq = pool.shortScratch(grouped * cols);
            pool.forRange(grouped, Math.max(1, grouped / (4 * pool.threads())), (q0, q1, w) -> {
                for (int t = q0; t < q1; t++) {
                    quantize(x, t, xf, dxo, sxo, xq, COMPACT, 0);
                }
            });
            final int chunkBlocks = Math.min(nb, CHUNK_BLOCKS);
            final int expanded = XA + TOKENS * chunkBlocks * 32 * TR;
            final int accs = TILE_CHUNK * TOKENS * TR + (factored() ? TILE_CHUNK * nb * 2 * TR : 0); // and a tile chunk's factored scales
            pool.forRange(tiles, Math.max(1, Math.min(TILE_CHUNK, (tiles + pool.threads() * 2 - 1) / (pool.threads() * 2))), 1,
                    (t0, t1, w) -> several(xq, xf, n, grouped, y, t0, t1, pool.workerShortScratch(w, expanded), pool.workerScratch(w, accs), chunkBlocks));
        }
        for (int t = grouped; t < n; t += TOKEN_BLOCK) {
            onePerToken(pool, x, t, Math.min(n, t + TOKEN_BLOCK), n, xf, y, natively && nativeTokens());
        }
    }

    /** From this many tokens, Q4_0, Q5_0 and the float-offset form take the several-token kernel (see onePerToken). */
    private static final int GROUP_FROM = 16;
    /** Tokens whose activations {@link #onePerToken} expands at a time (16 x 64 bytes per column at L = 16). */
    private static final int TOKEN_BLOCK = 16;
    /** The forms of {@link #quantize}'s quantized activations: a short each, {@code TR} copies each, pairs of bytes. */
    private static final int COMPACT = 0, EXPANDED = 1, PAIRS = 2;

    /**
     * Bytes the machine-code kernel ({@link NativeKernels#nibbleTokens}) prefetches ahead of each tile's reads (into L2):
     * none, since its four sequential streams far apart are what the hardware prefetchers follow best. `QuickMatrixRates
     * q4_0 151936x896 1 1` (AMD EPYC Zen 4, from DRAM) read 38.3-40.4 GB/s with none, 28.2-28.5 with 4096 bytes ahead,
     * 24.6-29.2 with 8192, 26.8-27.6 with 16384 and 25.8 with 32768 (membw, one thread: 29.2); [896 x 4864] 49.2-49.8
     * against 47.4 with 8192. The AVX2 kernel ({@link Avx2Kernels#nibbleTokens}, tiles of 16 rows) takes 16384 bytes:
     * with the JVM limited to AVX2 on the same host, [128256 x 2048] Q4_K from DRAM on one thread read 21.1 and 19.6
     * GB/s with none, 23.7 and 23.5 with 16384 (2048: 22.7-23.4, 32768: 23.5; sixty-fifth session). {@code
     * -Dredhare.nibbleAhead=N} sets it for both.
     */
    private static final long NATIVE_AHEAD = Long.getLong("redhare.nibbleAhead", TR == 16 ? 16384 : 0);

    /**
     * Whether prompts and many users (from {@link #GROUP_FROM} tokens) take the machine code too, a token at a time per
     * quad of tiles, rather than the Java several-token kernel: `QuickMatrixRates q4_0 4864x896 N 1` 16, 64, 512 tokens
     * 41.1-43.6 -> 92.6-97.9 G products/s, q4_k [8192 x 2048] 36.2-39.9 -> 69.8-72.5, two threads q4_0 [896 x 4864] 512
     * tokens 59.3 -> 140.6, q5_0 53.3 -> 118.2; qwen2.5-0.5b Q4_0 GGUF pp512, one thread, 108.7-108.8 -> 216.4-218.5
     * tok/s (AMD EPYC Zen 4, fifty-sixth session). {@code -Dredhare.nibbleAll=false} keeps the Java kernel there, for
     * measuring.
     */
    static final boolean SEVERAL_NATIVE = Boolean.parseBoolean(System.getProperty("redhare.nibbleAll", "true"));

    /** The codes {@link NativeKernels#nibbleTokens} does not read (forms without factored scales). */
    private static final int[] NO_CODES = new int[0];

    /**
     * Whether {@link #onePerToken} can run in machine code (every form: nibbles, factored or not, and Q5_0's bytes): tiles
     * of 32 rows on AVX-512 ({@link NativeKernels#nibbleTokens}), of 16 on AVX2 ({@link Avx2Kernels#nibbleTokens}).
     */
    boolean nativeTokens() {
        return (TR == 32 ? NativeKernels.available() : TR == 16 && Avx2Kernels.nibblesAvailable()) && packed.isNative();
    }

    /** Tokens per work item of {@link #onePerToken}: a quad of tiles and up to this many tokens. */
    private static final int ITEM_TOKENS = 4;

    /**
     * Tokens {@code t0 .. t1} of {@code n}, each through the one-token kernel ({@link #tiles4x1}): a work item is a quad of
     * tiles and up to {@link #ITEM_TOKENS} of the tokens, the items of a quad next to each other, so the quad's weights
     * come from memory once and from cache for every later token. Each token's arithmetic is exactly its one-token pass,
     * so the same bits.
     *
     * <p>The several-token kernel ({@link #tile1x4}) this replaces for Q4_0, Q5_0 and the forms with float offsets padded
     * a group to four tokens, loaded sixteen activation vectors per step of one tile where this one loads one for four
     * tiles, and read sixteen short tile streams at a time from memory: a decode step of two users on a Q4_0 model took
     * 2.5 times one user's (`redhare bench -s 2`). Measured (`QuickMatrixRates q4_0 SHAPE N 1`, G products/s, several
     * against this, one build behind a switch, alternated): [16384 x 4096] from DRAM 2 tokens 9.5 -> 33.6, 3 13.9 -> 39.0,
     * 4 26.3 -> 46.2, 16 35.5 -> 45.7, 64 40.3 -> 48.1; [4864 x 896] 4 tokens 42.3 -> 48.9, 64 42.3 -> 46.2, 512 38.7 ->
     * 44.7; Q5_0 [4864 x 896] 4, 16, 128 tokens 34.3-36.2 -> 43.6-46.1. Q4_K's factored scales are expanded once per chunk
     * and token here, once per chunk and four tokens there: in cache from 16 tokens the several-token kernel stays ahead
     * (42.1 against 34.4), from DRAM at 4 tokens it does not (24.5 against 32.6), so Q4_K takes it from 8 tokens.
     *
     * <p>For the others the one-token kernel wins on that host (AMD Zen 4) at every count on one thread, but lost on its
     * two hyperthreads of one core from 16 tokens ([896 x 4864] 512 tokens, 2 threads: 58-59 against 34-35: each token's
     * expanded activations, 64 bytes a column, crowd the cache the two threads share), and on an Intel Xeon with AVX-512
     * (two cores, 2 MB L2 each) the several-token kernel is ahead from 64 tokens on one thread too ([4864 x 896] 64
     * tokens 48.7 against 40.2, 512 49.2 against 41.4; 16 tokens 46.9 against 45.2; 2 threads 64 tokens 90.5 against
     * 79.8) while at 4 to 8 tokens they tie. So from {@link #GROUP_FROM} tokens (prompts, many users) they take it too,
     * and this one keeps the few-token steps it was written for.
     *
     * <p>Every form (Q4_0, Q4_1, Q4_K, Q5_0's bytes) runs it in machine code where that runs
     * ({@link NativeKernels#nibbleTokens}: the same quads, tokens
     * and arithmetic, two columns a 16-bit product-sum instruction; the activations as pairs of bytes instead of the
     * expanded copy). qwen2.5-0.5b Q4_0 GGUF decode, one thread (`bench -p 16 -n 64 -r 1 -t 1`, AMD EPYC Zen 4,
     * alternated): 57.3-60.2 -> 84.1-89.1 tok/s, where llama.cpp decoded the same file at 59.7-62.2 (docs/PERFORMANCE.md,
     * fifty-sixth session). `QuickMatrixRates q4_0 4864x896 1 1` (in cache): 48.3 -> 91.0 G weights/s. Q4_K (its scales
     * multiplied out in the kernel, block by block): `QuickMatrixRates q4_k 8192x2048 1 1` 35.9 -> 65.8, [128256 x 2048]
     * from DRAM 21.8 -> 38.9; Llama-3.2-1B-shaped Q4_K GGUF decode, one thread, 17.1-17.7 -> 30.1-30.2 tok/s (llama.cpp
     * on the same file 27.6-29.2). Q5_0 (a byte a value, one VPMADDUBSW a step and no unpacking): `QuickMatrixRates q5_0
     * 4864x896 1 1` 43.9 -> 73.2, [151936 x 896] from DRAM 22.1 -> 31.2; qwen2.5-0.5b's Q4_K GGUF (Q5_0 where rows are
     * not a multiple of 256, Q4_K elsewhere) 37.9-38.5 -> 48.0-57.0 tok/s (llama.cpp 37.0-37.3).
     */
    private void onePerToken(Parallel pool, float[] x, int t0, int t1, int n, float[] xf, float[] y, boolean natively) {
        final int sxo = n * nb;
        if (natively) {
            final short[] xp = pool.shortScratch((t1 - t0) * 16 * nb);
            pool.forRange(t1 - t0, 1, (q0, q1, w) -> {
                for (int t = t0 + q0; t < t0 + q1; t++) {
                    quantize(x, t, xf, 0, sxo, xp, PAIRS, (t - t0) * 16 * nb);
                }
            });
            final int quads = (tiles + 3) / 4;
            final long ahead = NATIVE_AHEAD;
            final int form = bytes ? 3 : factored() ? 2 : o != null ? 1 : 0;
            final float[] scales = factored() ? dsup : d, offsets = factored() ? msup : o != null ? o : d;
            final int[] factors = factored() ? codes : NO_CODES;
            pool.forRange(quads, Math.max(1, (quads + pool.threads() * 4 - 1) / (pool.threads() * 4)), 1,
                    (p0, p1, w) -> {
                        if (TR == 32) {
                            NativeKernels.nibbleTokens(packed, nb, tiles, rows, p0, p1, t0, t1, n, xp, xf, form, scales, offsets, factors, y, ahead);
                        } else { // tiles of 16 rows: AVX2
                            Avx2Kernels.nibbleTokens(packed, nb, tiles, rows, p0, p1, t0, t1, n, xp, xf, form, scales, offsets, factors, y, ahead);
                        }
                    });
            return;
        }
        final int per = cols * TR; // one token's expanded activations
        final short[] xe = pool.shortScratch(XA + (t1 - t0) * per);
        pool.forRange(t1 - t0, 1, (q0, q1, w) -> {
            for (int t = t0 + q0; t < t0 + q1; t++) {
                quantize(x, t, xf, 0, sxo, xe, EXPANDED, XA + (t - t0) * per);
            }
        });
        final int quads = (tiles + 3) / 4;
        final int chunks = (t1 - t0 + ITEM_TOKENS - 1) / ITEM_TOKENS;
        final int items = quads * chunks;
        pool.forRange(items, Math.max(1, (items + pool.threads() * 4 - 1) / (pool.threads() * 4)), 1, (i0, i1, w) -> {
            final float[] part = pool.workerScratch(w, FS + 8 * CB * TR);
            for (int i = i0; i < i1; i++) { // tiles p + k quads: four streams far apart (past the end: tile p again)
                final int p = i / chunks;
                final int tb = p + quads < tiles ? p + quads : p;
                final int tc = p + 2 * quads < tiles ? p + 2 * quads : p;
                final int td = p + 3 * quads < tiles ? p + 3 * quads : p;
                final int ta = t0 + i % chunks * ITEM_TOKENS;
                for (int t = ta; t < Math.min(t1, ta + ITEM_TOKENS); t++) {
                    final int xb = XA + (t - t0) * per;
                    final int dx = t * nb, sx = sxo + t * nspan, yo = t * rows;
                    if (bytes) {
                        tiles4x1Bytes(p, tb, tc, td, xe, xb, xf, dx, sx, y, yo, part);
                        continue;
                    }
                    java.util.Arrays.fill(part, 0, 4 * TR, 0f);
                    if (factored()) { // a chunk of CB blocks at a time, its scales expanded here (see expandSuper)
                        for (int b0 = 0; b0 < nb; b0 += CB) {
                            final int b1 = Math.min(nb, b0 + CB);
                            expandSuper(p, tb, tc, td, b0, b1, part, FS);
                            tiles4x1(p, tb, tc, td, 8 * b0, 8 * b1, xe, xb, xf, dx, sx, part);
                        }
                    } else {
                        tiles4x1(p, tb, tc, td, 0, 8 * nb, xe, xb, xf, dx, sx, part);
                    }
                    storePair(part, 0, p, tb, y, yo);
                    storePair(part, 2 * TR, tc, td, y, yo);
                }
            }
        });
    }

    /**
     * The 32 activations {@code x[c0 ..]} quantized to int8, as llama.cpp quantizes them for its integer kernels:
     * {@code dx = amax / 127} returned, {@code rint(x / dx)} (ties to even) into {@code q[0 .. 32)} as floats holding
     * integers in -127..127. NaN or infinite activations make {@code dx} so, and the results NaN.
     */
    static float quantizeBlock(float[] x, int c0, float[] q) {
        FloatVector m = FloatVector.zero(F);
        for (int i = 0; i < 32; i += L) {
            m = m.max(FloatVector.fromArray(F, x, c0 + i).abs());
        }
        float dx = m.reduceLanes(VectorOperators.MAX) / 127f;
        float id = dx != 0 && Float.isFinite(dx) ? 1f / dx : 0f;
        for (int i = 0; i < 32; i += L) {
            FloatVector.fromArray(F, x, c0 + i).mul(id).add(ROUND).sub(ROUND).max(-127f).min(127f).intoArray(q, i);
        }
        return dx;
    }

    /**
     * Token {@code t}'s activations quantized per 32-column block: scale {@code dx} at {@code xf[dxo + t*nb + b]},
     * {@code center} times each span's sum of quantized values at {@code xf[sxo + t*nspan + k]}, and the values either expanded ({@code TR}
     * copies each, at {@code out[eo + c * TR]}, one token), compact ({@code out[t * cols + c]}) or as the byte pairs of
     * the machine code ({@code out[eo + 16 b ..]} for block {@code b}, see {@link NativeKernels#nibbleTokens}).
     */
    private void quantize(float[] x, int t, float[] xf, int dxo, int sxo, short[] out, int form, int eo) {
        final boolean expand = form == EXPANDED;
        final int xo = t * cols;
        final float[] q = new float[32];
        for (int b = 0; b < nb; b++) {
            xf[dxo + t * nb + b] = quantizeBlock(x, xo + b * 32, q);
            int sum = 0;
            for (int p = 0; p < 32; p++) {
                int v = (int) q[p];
                int c = b * 32 + p;
                sum += v;
                if (expand) {
                    ShortVector.broadcast(S, (short) v).intoArray(out, eo + c * TR);
                } else if (form == COMPACT) {
                    out[xo + c] = (short) v;
                }
                if ((c + 1) % span == 0) {
                    xf[sxo + t * nspan + c / span] = center * sum;
                    sum = 0;
                }
            }
            if (form == PAIRS && bytes) { // a step's two columns, a byte each (see NativeKernels.nibbleTokens)
                for (int k = 0, at = eo + b * 16; k < 16; k++, at++) {
                    out[at] = (short) (((int) q[2 * k] & 0xFF) | (int) q[2 * k + 1] << 8);
                }
            } else if (form == PAIRS) { // step k's columns 0 and 2, then 1 and 3
                for (int k = 0, at = eo + b * 16; k < 8; k++, at += 2) {
                    out[at] = (short) (((int) q[4 * k] & 0xFF) | (int) q[4 * k + 2] << 8);
                    out[at + 1] = (short) (((int) q[4 * k + 1] & 0xFF) | (int) q[4 * k + 3] << 8);
                }
            }
        }
    }

    /**
     * One token, tiles {@code ta .. td} (repeated where fewer remain), expanded activations {@code xe}. Each step's four
     * columns: shift, AND, multiply by the column's activations, add, per tile; every block its sums, less
     * {@code 8 * sum(xq)} (see {@link #BLOCK_SUMS}), folded into the float accumulators (rows 0..L-1 and L..2L-1 of each
     * tile).
     *
     * <p>Four tiles, not two: each activation vector, loaded from L2 (the expanded copy of a 896-column row is 56 KiB at
     * L = 16, past a 48 KiB L1), now serves four tiles, and the pass reads four sequential streams far apart, as the BF16
     * one-token kernel does, which the hardware prefetchers follow further. Registers: 4 short and 8 float accumulators,
     * 4 code vectors, fit AVX-512's 32 without spills (on AVX2's 16 some float accumulators, used once a block, may spill:
     * not measurable on the AVX-512 hosts here, where C2 keeps 32 registers at any vector size). Same per-tile arithmetic, so the same bits. Measured
     * (`QuickMatrixRates q4_0 SHAPE 1 1`, AMD EPYC Zen 5, two tiles against four alternated, G weights/s): [1024 x 896]
     * 60.4-64.3 -> 65.2-67.8; [896 x 4864] 47.3-51.6 -> 56.6-57.2; [151936 x 896] from DRAM 27.9-29.9 -> 28.9-38.1.
     * qwen2.5-0.5b Q4_0 decode, one thread (`bench -p 0 -n 64 -r 3 -t 1`, alternated): 48.3-53.2 -> 61.5-70.2 tok/s.
     *
     * <p>One loop over the steps of every block, each block folded after its eighth step: with the offsets linear in this
     * loop's counter C2 hoists the segment's bounds checks. Nested in a block loop, the 8-step loop was split into pre,
     * main and post loops with about 50 scalar instructions of checks (cmov chains) around every block ([1024 x 896] 54.5-58.1
     * -> 63.3-64.5 G weights/s with two tiles). Unrolling the eight steps by hand instead was slower.
     */
    private void tiles4x1(int ta, int tb, int tc, int td, int k0, int k1, short[] xe, int xb, float[] xf, int dxo, int sxo, float[] part) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final boolean fac = factored();
        final boolean offsets = o != null || fac;
        final float[] dd = fac ? part : d, oo = fac ? part : o; // factored: each super-block's s and o expanded into part
        final int om = fac ? 4 * CB * TR : 0;                    // where o is, from s
        final int c0 = k0 >>> 3;                                 // factored: the first block of part's scales
        final long oa = (long) ta * nb * BLOCK, ob = (long) tb * nb * BLOCK, oc = (long) tc * nb * BLOCK, od = (long) td * nb * BLOCK;
        FloatVector fa0 = FloatVector.fromArray(F, part, 0), fa1 = FloatVector.fromArray(F, part, L);
        FloatVector fb0 = FloatVector.fromArray(F, part, TR), fb1 = FloatVector.fromArray(F, part, TR + L);
        FloatVector fc0 = FloatVector.fromArray(F, part, 2 * TR), fc1 = FloatVector.fromArray(F, part, 2 * TR + L);
        FloatVector fd0 = FloatVector.fromArray(F, part, 3 * TR), fd1 = FloatVector.fromArray(F, part, 3 * TR + L);
        ShortVector sa = ShortVector.zero(S), sb = ShortVector.zero(S), sc = ShortVector.zero(S), sd = ShortVector.zero(S);
        for (int k = k0; k < k1; k++) {
            {
                final int xo = xb + k * 4 * TR;
                final IntVector va = IntVector.fromMemorySegment(I, packed, oa + (long) k * STEP, ByteOrder.LITTLE_ENDIAN);
                final IntVector vb = IntVector.fromMemorySegment(I, packed, ob + (long) k * STEP, ByteOrder.LITTLE_ENDIAN);
                final IntVector vc = IntVector.fromMemorySegment(I, packed, oc + (long) k * STEP, ByteOrder.LITTLE_ENDIAN);
                final IntVector vd = IntVector.fromMemorySegment(I, packed, od + (long) k * STEP, ByteOrder.LITTLE_ENDIAN);
                ShortVector xv = ShortVector.fromArray(S, xe, xo);
                sa = sa.add(va.and(NIBBLES).reinterpretAsShorts().mul(xv));
                sb = sb.add(vb.and(NIBBLES).reinterpretAsShorts().mul(xv));
                sc = sc.add(vc.and(NIBBLES).reinterpretAsShorts().mul(xv));
                sd = sd.add(vd.and(NIBBLES).reinterpretAsShorts().mul(xv));
                xv = ShortVector.fromArray(S, xe, xo + TR);
                sa = sa.add(va.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).reinterpretAsShorts().mul(xv));
                sb = sb.add(vb.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).reinterpretAsShorts().mul(xv));
                sc = sc.add(vc.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).reinterpretAsShorts().mul(xv));
                sd = sd.add(vd.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).reinterpretAsShorts().mul(xv));
                xv = ShortVector.fromArray(S, xe, xo + 2 * TR);
                sa = sa.add(va.lanewise(VectorOperators.LSHR, 8).and(NIBBLES).reinterpretAsShorts().mul(xv));
                sb = sb.add(vb.lanewise(VectorOperators.LSHR, 8).and(NIBBLES).reinterpretAsShorts().mul(xv));
                sc = sc.add(vc.lanewise(VectorOperators.LSHR, 8).and(NIBBLES).reinterpretAsShorts().mul(xv));
                sd = sd.add(vd.lanewise(VectorOperators.LSHR, 8).and(NIBBLES).reinterpretAsShorts().mul(xv));
                xv = ShortVector.fromArray(S, xe, xo + 3 * TR);
                sa = sa.add(va.lanewise(VectorOperators.LSHR, 12).and(NIBBLES).reinterpretAsShorts().mul(xv));
                sb = sb.add(vb.lanewise(VectorOperators.LSHR, 12).and(NIBBLES).reinterpretAsShorts().mul(xv));
                sc = sc.add(vc.lanewise(VectorOperators.LSHR, 12).and(NIBBLES).reinterpretAsShorts().mul(xv));
                sd = sd.add(vd.lanewise(VectorOperators.LSHR, 12).and(NIBBLES).reinterpretAsShorts().mul(xv));
            }
            if ((k & 7) != 7) {
                continue;
            }
            final int b = k >>> 3;
            final short sx = (short) xf[sxo + b];
            final float dx = xf[dxo + b];
            final IntVector ia = sa.sub(sx).reinterpretAsInts();
            final IntVector ib = sb.sub(sx).reinterpretAsInts();
            final IntVector ic = sc.sub(sx).reinterpretAsInts();
            final IntVector id = sd.sub(sx).reinterpretAsInts();
            sa = ShortVector.zero(S);
            sb = ShortVector.zero(S);
            sc = ShortVector.zero(S);
            sd = ShortVector.zero(S);
            final int bs = b - c0;
            final int ka = fac ? FS + bs * TR : (ta * nb + b) * TR, kb = fac ? FS + (CB + bs) * TR : (tb * nb + b) * TR;
            final int kc = fac ? FS + (2 * CB + bs) * TR : (tc * nb + b) * TR, kd = fac ? FS + (3 * CB + bs) * TR : (td * nb + b) * TR;
            fa0 = ((FloatVector) ia.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, dd, ka).mul(dx), fa0);
            fa1 = ((FloatVector) ia.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, dd, ka + L).mul(dx), fa1);
            fb0 = ((FloatVector) ib.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, dd, kb).mul(dx), fb0);
            fb1 = ((FloatVector) ib.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, dd, kb + L).mul(dx), fb1);
            fc0 = ((FloatVector) ic.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, dd, kc).mul(dx), fc0);
            fc1 = ((FloatVector) ic.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, dd, kc + L).mul(dx), fc1);
            fd0 = ((FloatVector) id.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, dd, kd).mul(dx), fd0);
            fd1 = ((FloatVector) id.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, dd, kd + L).mul(dx), fd1);
            if (offsets) { // sum((q s + o) xq) = s T + (8 s + o) sum(xq)
                final FloatVector sq = FloatVector.broadcast(F, xf[sxo + b] * 0.125f);
                fa0 = sq.fma(FloatVector.fromArray(F, dd, ka).mul(8f).add(FloatVector.fromArray(F, oo, ka + om)).mul(dx), fa0);
                fa1 = sq.fma(FloatVector.fromArray(F, dd, ka + L).mul(8f).add(FloatVector.fromArray(F, oo, ka + L + om)).mul(dx), fa1);
                fb0 = sq.fma(FloatVector.fromArray(F, dd, kb).mul(8f).add(FloatVector.fromArray(F, oo, kb + om)).mul(dx), fb0);
                fb1 = sq.fma(FloatVector.fromArray(F, dd, kb + L).mul(8f).add(FloatVector.fromArray(F, oo, kb + L + om)).mul(dx), fb1);
                fc0 = sq.fma(FloatVector.fromArray(F, dd, kc).mul(8f).add(FloatVector.fromArray(F, oo, kc + om)).mul(dx), fc0);
                fc1 = sq.fma(FloatVector.fromArray(F, dd, kc + L).mul(8f).add(FloatVector.fromArray(F, oo, kc + L + om)).mul(dx), fc1);
                fd0 = sq.fma(FloatVector.fromArray(F, dd, kd).mul(8f).add(FloatVector.fromArray(F, oo, kd + om)).mul(dx), fd0);
                fd1 = sq.fma(FloatVector.fromArray(F, dd, kd + L).mul(8f).add(FloatVector.fromArray(F, oo, kd + L + om)).mul(dx), fd1);
            }
        }
        // Through memory rather than a helper taking the vectors: passed to a method C2 did not inline, they were boxed
        // inside the loop.
        fa0.intoArray(part, 0);
        fa1.intoArray(part, L);
        fb0.intoArray(part, TR);
        fb1.intoArray(part, TR + L);
        fc0.intoArray(part, 2 * TR);
        fc1.intoArray(part, 2 * TR + L);
        fd0.intoArray(part, 3 * TR);
        fd1.intoArray(part, 3 * TR + L);
    }

    /** The results of tiles {@code ta} ({@code part[po .. po+TR)}) and {@code tb} ({@code part[po+TR .. po+2TR)}) into {@code y[yo ..]}, clipped to the rows. */
    private void storePair(float[] part, int po, int ta, int tb, float[] y, int yo) {
        System.arraycopy(part, po, y, yo + ta * TR, Math.min(TR, rows - ta * TR));
        System.arraycopy(part, po + TR, y, yo + tb * TR, Math.min(TR, rows - tb * TR));
    }

    /**
     * The first {@code grouped} tokens (a multiple of four), tiles {@code t0 .. t1}: by chunks of {@link #TILE_CHUNK} tiles,
     * groups of four tokens and chunks of {@code chunkBlocks} column blocks, whose activations are expanded
     * into {@code xe} ({@code [column][token][TR]}) once for the chunk's tiles; accumulators in {@code acc}
     * ({@code [tile][token][TR]}), carried from column chunk to column chunk.
     */
    private void several(short[] xq, float[] xf, int n, int grouped, float[] y, int t0, int t1, short[] xe, float[] acc, int chunkBlocks) {
        for (int tc = t0; tc < t1; tc += TILE_CHUNK) {
            final int tcEnd = Math.min(t1, tc + TILE_CHUNK);
            if (factored()) { // the chunk's scales, after the accumulators, once for all token groups; not in tile1x4: see expandSuper
                expandBlocks(tc, tcEnd, 0, nb, acc, TILE_CHUNK * TOKENS * TR);
            }
            for (int g = 0; g < grouped; g += TOKENS) {
                java.util.Arrays.fill(acc, 0, (tcEnd - tc) * TOKENS * TR, 0f);
                for (int b0 = 0; b0 < nb; b0 += chunkBlocks) {
                    final int b1 = Math.min(nb, b0 + chunkBlocks);
                    for (int k = 0; k < TOKENS; k++) {
                        final int xo = (g + k) * cols;
                        for (int c = b0 * 32; c < b1 * 32; c++) {
                            ShortVector.broadcast(S, xq[xo + c]).intoArray(xe, XA + ((c - b0 * 32) * TOKENS + k) * TR);
                        }
                    }
                    for (int t = tc; t < tcEnd; t++) {
                        if (bytes) {
                            tile1x4Bytes(t, g, n, b0, b1, xe, xf, acc, (t - tc) * TOKENS * TR);
                        } else {
                            tile1x4(t, g, n, b0, b1, xe, xf, acc, (t - tc) * TOKENS * TR, TILE_CHUNK * TOKENS * TR + ((t - tc) * nb + b0) * 2 * TR);
                        }
                    }
                }
                for (int t = tc; t < tcEnd; t++) {
                    for (int k = 0; k < TOKENS && g + k < n; k++) {
                        System.arraycopy(acc, ((t - tc) * TOKENS + k) * TR, y, (g + k) * rows + t * TR, Math.min(TR, rows - t * TR));
                    }
                }
            }
        }
    }

    /**
     * Tile {@code t}, tokens {@code g .. g+3}, column blocks {@code b0 .. b1} with their
     * expanded activations at {@code xe[(column * 4 + k) * TR ...]} (one base register for all sixteen loads of a
     * step); the same per-block arithmetic as {@link #tiles4x1}, with the float accumulators in {@code acc[ao + k*TR ...]}.
     */
    private void tile1x4(int t, int g, int n, int b0, int b1, short[] xe, float[] xf, float[] acc, int ao, int fo) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int sxo = n * nb;
        final boolean fac = factored();
        final boolean offsets = o != null || fac;
        final float[] dd = fac ? acc : d, oo = fac ? acc : o;
        final int om = fac ? TR : 0;
        final int k1 = g + 1, k2 = g + 2, k3 = g + 3; // whole groups only (see several)
        long at = ((long) t * nb + b0) * BLOCK;
        for (int b = b0; b < b1; b++, at += BLOCK) {
            ShortVector s0 = ShortVector.zero(S), s1 = ShortVector.zero(S), s2 = ShortVector.zero(S), s3 = ShortVector.zero(S);
            int xo = XA + (b - b0) * 32 * TOKENS * TR;
            for (int s = 0; s < 8; s++, xo += 4 * TOKENS * TR) {
                final IntVector v = IntVector.fromMemorySegment(I, packed, at + (long) s * STEP, ByteOrder.LITTLE_ENDIAN);
                ShortVector w = v.and(NIBBLES).reinterpretAsShorts();
                s0 = s0.add(w.mul(ShortVector.fromArray(S, xe, xo)));
                s1 = s1.add(w.mul(ShortVector.fromArray(S, xe, xo + TR)));
                s2 = s2.add(w.mul(ShortVector.fromArray(S, xe, xo + 2 * TR)));
                s3 = s3.add(w.mul(ShortVector.fromArray(S, xe, xo + 3 * TR)));
                w = v.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).reinterpretAsShorts();
                s0 = s0.add(w.mul(ShortVector.fromArray(S, xe, xo + 4 * TR)));
                s1 = s1.add(w.mul(ShortVector.fromArray(S, xe, xo + 5 * TR)));
                s2 = s2.add(w.mul(ShortVector.fromArray(S, xe, xo + 6 * TR)));
                s3 = s3.add(w.mul(ShortVector.fromArray(S, xe, xo + 7 * TR)));
                w = v.lanewise(VectorOperators.LSHR, 8).and(NIBBLES).reinterpretAsShorts();
                s0 = s0.add(w.mul(ShortVector.fromArray(S, xe, xo + 8 * TR)));
                s1 = s1.add(w.mul(ShortVector.fromArray(S, xe, xo + 9 * TR)));
                s2 = s2.add(w.mul(ShortVector.fromArray(S, xe, xo + 10 * TR)));
                s3 = s3.add(w.mul(ShortVector.fromArray(S, xe, xo + 11 * TR)));
                w = v.lanewise(VectorOperators.LSHR, 12).and(NIBBLES).reinterpretAsShorts();
                s0 = s0.add(w.mul(ShortVector.fromArray(S, xe, xo + 12 * TR)));
                s1 = s1.add(w.mul(ShortVector.fromArray(S, xe, xo + 13 * TR)));
                s2 = s2.add(w.mul(ShortVector.fromArray(S, xe, xo + 14 * TR)));
                s3 = s3.add(w.mul(ShortVector.fromArray(S, xe, xo + 15 * TR)));
            }
            // The four tokens' folds written out, here and in tile1x4Bytes: one shared helper, fed the sums through memory
            // (vectors passed to a method C2 does not inline are boxed), ran 7-10% slower (q4_0 and q5_0 4864x896 512).
            final int kd = (t * nb + b) * TR;
            final int ks = fac ? fo + (b - b0) * 2 * TR : kd;
            final FloatVector d0 = FloatVector.fromArray(F, dd, ks);
            final FloatVector d1 = FloatVector.fromArray(F, dd, ks + L);
            final FloatVector c0 = offsets ? d0.mul(8f).add(FloatVector.fromArray(F, oo, ks + om)) : d0; // 8 s + o (see tiles4x1)
            final FloatVector c1 = offsets ? d1.mul(8f).add(FloatVector.fromArray(F, oo, ks + om + L)) : d1;
            float sx = xf[sxo + g * nb + b];
            float dx = xf[g * nb + b];
            IntVector iv = s0.sub((short) sx).reinterpretAsInts();
            int a = ao + 0 * TR;
            FloatVector lo = ((FloatVector) iv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d0.mul(dx), FloatVector.fromArray(F, acc, a));
            FloatVector hi = ((FloatVector) iv.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d1.mul(dx), FloatVector.fromArray(F, acc, a + L));
            if (offsets) {
                lo = FloatVector.broadcast(F, sx * 0.125f).fma(c0.mul(dx), lo);
                hi = FloatVector.broadcast(F, sx * 0.125f).fma(c1.mul(dx), hi);
            }
            lo.intoArray(acc, a);
            hi.intoArray(acc, a + L);
            sx = xf[sxo + k1 * nb + b];
            dx = xf[k1 * nb + b];
            iv = s1.sub((short) sx).reinterpretAsInts();
            a = ao + 1 * TR;
            lo = ((FloatVector) iv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d0.mul(dx), FloatVector.fromArray(F, acc, a));
            hi = ((FloatVector) iv.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d1.mul(dx), FloatVector.fromArray(F, acc, a + L));
            if (offsets) {
                lo = FloatVector.broadcast(F, sx * 0.125f).fma(c0.mul(dx), lo);
                hi = FloatVector.broadcast(F, sx * 0.125f).fma(c1.mul(dx), hi);
            }
            lo.intoArray(acc, a);
            hi.intoArray(acc, a + L);
            sx = xf[sxo + k2 * nb + b];
            dx = xf[k2 * nb + b];
            iv = s2.sub((short) sx).reinterpretAsInts();
            a = ao + 2 * TR;
            lo = ((FloatVector) iv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d0.mul(dx), FloatVector.fromArray(F, acc, a));
            hi = ((FloatVector) iv.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d1.mul(dx), FloatVector.fromArray(F, acc, a + L));
            if (offsets) {
                lo = FloatVector.broadcast(F, sx * 0.125f).fma(c0.mul(dx), lo);
                hi = FloatVector.broadcast(F, sx * 0.125f).fma(c1.mul(dx), hi);
            }
            lo.intoArray(acc, a);
            hi.intoArray(acc, a + L);
            sx = xf[sxo + k3 * nb + b];
            dx = xf[k3 * nb + b];
            iv = s3.sub((short) sx).reinterpretAsInts();
            a = ao + 3 * TR;
            lo = ((FloatVector) iv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d0.mul(dx), FloatVector.fromArray(F, acc, a));
            hi = ((FloatVector) iv.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d1.mul(dx), FloatVector.fromArray(F, acc, a + L));
            if (offsets) {
                lo = FloatVector.broadcast(F, sx * 0.125f).fma(c0.mul(dx), lo);
                hi = FloatVector.broadcast(F, sx * 0.125f).fma(c1.mul(dx), hi);
            }
            lo.intoArray(acc, a);
            hi.intoArray(acc, a + L);
        }
    }

    /**
     * Columns per 16-bit sum of byte values (Q5_0: 16 * 16 * 127 = 32512), a constant: the one-token kernel folds every
     * {@code BYTE_SPAN / 4} turns of its loop (with the span read from a field, 13.7 G weights/s against 14.8:
     * {@code QuickMatrixRates q5_0 4864x896 1}).
     */
    private static final int BYTE_SPAN = 16;
    /** Column {@code 2s} (low byte) of both shorts of an int lane; column {@code 2s + 1} after a shift by 8. */
    private static final int BYTE_VALUES = 0x00FF00FF;

    /**
     * {@link #tiles4x1} for byte values: each step holds two columns of the tiles' rows, and every {@link #span} columns
     * (four turns of this loop, two steps each) the 16-bit sums, less {@code center * sum(xq)}, are folded with the scale of
     * their {@code bw}-column block. One loop over all the turns, as in {@link #tiles4x1}, and four tiles: measured
     * against two tiles with a loop per span (`QuickMatrixRates q5_0 SHAPE 1 1`, alternated, G weights/s) in
     * docs/PERFORMANCE.md (twenty-fourth session).
     */
    private void tiles4x1Bytes(int ta, int tb, int tc, int td, short[] xe, int xb, float[] xf, int dxo, int sxo, float[] y, int yo, float[] part) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int turns = cols / 4;
        final long oa = (long) ta * cols * TR, ob = (long) tb * cols * TR, oc = (long) tc * cols * TR, od = (long) td * cols * TR;
        FloatVector fa0 = FloatVector.zero(F), fa1 = FloatVector.zero(F), fb0 = FloatVector.zero(F), fb1 = FloatVector.zero(F);
        FloatVector fc0 = FloatVector.zero(F), fc1 = FloatVector.zero(F), fd0 = FloatVector.zero(F), fd1 = FloatVector.zero(F);
        ShortVector sa = ShortVector.zero(S), sb = ShortVector.zero(S), sc = ShortVector.zero(S), sd = ShortVector.zero(S);
        for (int j = 0; j < turns; j++) {
            {
                final int xo = xb + j * 4 * TR;
                final long q = (long) j * 2 * STEP;
                IntVector va = IntVector.fromMemorySegment(I, packed, oa + q, ByteOrder.LITTLE_ENDIAN);
                IntVector vb = IntVector.fromMemorySegment(I, packed, ob + q, ByteOrder.LITTLE_ENDIAN);
                IntVector vc = IntVector.fromMemorySegment(I, packed, oc + q, ByteOrder.LITTLE_ENDIAN);
                IntVector vd = IntVector.fromMemorySegment(I, packed, od + q, ByteOrder.LITTLE_ENDIAN);
                ShortVector xv = ShortVector.fromArray(S, xe, xo);
                sa = sa.add(va.and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sb = sb.add(vb.and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sc = sc.add(vc.and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sd = sd.add(vd.and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                xv = ShortVector.fromArray(S, xe, xo + TR);
                sa = sa.add(va.lanewise(VectorOperators.LSHR, 8).and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sb = sb.add(vb.lanewise(VectorOperators.LSHR, 8).and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sc = sc.add(vc.lanewise(VectorOperators.LSHR, 8).and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sd = sd.add(vd.lanewise(VectorOperators.LSHR, 8).and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                va = IntVector.fromMemorySegment(I, packed, oa + q + STEP, ByteOrder.LITTLE_ENDIAN);
                vb = IntVector.fromMemorySegment(I, packed, ob + q + STEP, ByteOrder.LITTLE_ENDIAN);
                vc = IntVector.fromMemorySegment(I, packed, oc + q + STEP, ByteOrder.LITTLE_ENDIAN);
                vd = IntVector.fromMemorySegment(I, packed, od + q + STEP, ByteOrder.LITTLE_ENDIAN);
                xv = ShortVector.fromArray(S, xe, xo + 2 * TR);
                sa = sa.add(va.and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sb = sb.add(vb.and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sc = sc.add(vc.and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sd = sd.add(vd.and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                xv = ShortVector.fromArray(S, xe, xo + 3 * TR);
                sa = sa.add(va.lanewise(VectorOperators.LSHR, 8).and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sb = sb.add(vb.lanewise(VectorOperators.LSHR, 8).and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sc = sc.add(vc.lanewise(VectorOperators.LSHR, 8).and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
                sd = sd.add(vd.lanewise(VectorOperators.LSHR, 8).and(BYTE_VALUES).reinterpretAsShorts().mul(xv));
            }
            if ((j & (BYTE_SPAN / 4 - 1)) != BYTE_SPAN / 4 - 1) {
                continue;
            }
            final int k = j / (BYTE_SPAN / 4);
            final short sx = (short) xf[sxo + k];
            final float dx = xf[dxo + (k * span >> 5)];
            final int ka = (ta * nbw + k * span / bw) * TR;
            final IntVector na = sa.sub(sx).reinterpretAsInts();
            sa = ShortVector.zero(S);
            fa0 = ((FloatVector) na.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, d, ka).mul(dx), fa0);
            fa1 = ((FloatVector) na.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, d, ka + L).mul(dx), fa1);
            final int kb = (tb * nbw + k * span / bw) * TR;
            final IntVector nb = sb.sub(sx).reinterpretAsInts();
            sb = ShortVector.zero(S);
            fb0 = ((FloatVector) nb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, d, kb).mul(dx), fb0);
            fb1 = ((FloatVector) nb.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, d, kb + L).mul(dx), fb1);
            final int kc = (tc * nbw + k * span / bw) * TR;
            final IntVector nc = sc.sub(sx).reinterpretAsInts();
            sc = ShortVector.zero(S);
            fc0 = ((FloatVector) nc.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, d, kc).mul(dx), fc0);
            fc1 = ((FloatVector) nc.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, d, kc + L).mul(dx), fc1);
            final int kd = (td * nbw + k * span / bw) * TR;
            final IntVector nd = sd.sub(sx).reinterpretAsInts();
            sd = ShortVector.zero(S);
            fd0 = ((FloatVector) nd.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, d, kd).mul(dx), fd0);
            fd1 = ((FloatVector) nd.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, d, kd + L).mul(dx), fd1);
        }
        fa0.intoArray(part, 0 * TR);
        fa1.intoArray(part, 0 * TR + L);
        fb0.intoArray(part, 1 * TR);
        fb1.intoArray(part, 1 * TR + L);
        fc0.intoArray(part, 2 * TR);
        fc1.intoArray(part, 2 * TR + L);
        fd0.intoArray(part, 3 * TR);
        fd1.intoArray(part, 3 * TR + L);
        storePair(part, 0, ta, tb, y, yo);
        storePair(part, 2 * TR, tc, td, y, yo);
    }

    /** {@link #tile1x4} for byte values: the spans and folds of {@link #tiles4x1Bytes}, four tokens, accumulators in {@code acc}. */
    private void tile1x4Bytes(int t, int g, int n, int b0, int b1, short[] xe, float[] xf, float[] acc, int ao) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int sxo = n * nb;
        final int steps = BYTE_SPAN / 2;
        final int k1 = g + 1, k2 = g + 2, k3 = g + 3; // whole groups only (see several)
        long at = (long) t * cols * TR + (long) b0 * 32 * TR;
        int xo = XA;
        for (int k = b0 * 32 / span; k < b1 * 32 / span; k++) {
            ShortVector s0 = ShortVector.zero(S), s1 = ShortVector.zero(S), s2 = ShortVector.zero(S), s3 = ShortVector.zero(S);
            for (int s = 0; s < steps; s++, at += STEP, xo += 2 * TOKENS * TR) {
                final IntVector v = IntVector.fromMemorySegment(I, packed, at, ByteOrder.LITTLE_ENDIAN);
                ShortVector w = v.and(BYTE_VALUES).reinterpretAsShorts();
                s0 = s0.add(w.mul(ShortVector.fromArray(S, xe, xo)));
                s1 = s1.add(w.mul(ShortVector.fromArray(S, xe, xo + TR)));
                s2 = s2.add(w.mul(ShortVector.fromArray(S, xe, xo + 2 * TR)));
                s3 = s3.add(w.mul(ShortVector.fromArray(S, xe, xo + 3 * TR)));
                w = v.lanewise(VectorOperators.LSHR, 8).and(BYTE_VALUES).reinterpretAsShorts();
                s0 = s0.add(w.mul(ShortVector.fromArray(S, xe, xo + 4 * TR)));
                s1 = s1.add(w.mul(ShortVector.fromArray(S, xe, xo + 5 * TR)));
                s2 = s2.add(w.mul(ShortVector.fromArray(S, xe, xo + 6 * TR)));
                s3 = s3.add(w.mul(ShortVector.fromArray(S, xe, xo + 7 * TR)));
            }
            final int kd = (t * nbw + k * span / bw) * TR;
            final int b = k * span >> 5;
            final FloatVector d0 = FloatVector.fromArray(F, d, kd);
            final FloatVector d1 = FloatVector.fromArray(F, d, kd + L);
            float dx = xf[g * nb + b];
            IntVector iv = s0.sub((short) xf[sxo + g * nspan + k]).reinterpretAsInts();
            int a = ao + 0 * TR;
            ((FloatVector) iv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d0.mul(dx), FloatVector.fromArray(F, acc, a)).intoArray(acc, a);
            ((FloatVector) iv.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d1.mul(dx), FloatVector.fromArray(F, acc, a + L)).intoArray(acc, a + L);
            dx = xf[k1 * nb + b];
            iv = s1.sub((short) xf[sxo + k1 * nspan + k]).reinterpretAsInts();
            a = ao + 1 * TR;
            ((FloatVector) iv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d0.mul(dx), FloatVector.fromArray(F, acc, a)).intoArray(acc, a);
            ((FloatVector) iv.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d1.mul(dx), FloatVector.fromArray(F, acc, a + L)).intoArray(acc, a + L);
            dx = xf[k2 * nb + b];
            iv = s2.sub((short) xf[sxo + k2 * nspan + k]).reinterpretAsInts();
            a = ao + 2 * TR;
            ((FloatVector) iv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d0.mul(dx), FloatVector.fromArray(F, acc, a)).intoArray(acc, a);
            ((FloatVector) iv.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d1.mul(dx), FloatVector.fromArray(F, acc, a + L)).intoArray(acc, a + L);
            dx = xf[k3 * nb + b];
            iv = s3.sub((short) xf[sxo + k3 * nspan + k]).reinterpretAsInts();
            a = ao + 3 * TR;
            ((FloatVector) iv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d0.mul(dx), FloatVector.fromArray(F, acc, a)).intoArray(acc, a);
            ((FloatVector) iv.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(d1.mul(dx), FloatVector.fromArray(F, acc, a + L)).intoArray(acc, a + L);
        }
    }

}
