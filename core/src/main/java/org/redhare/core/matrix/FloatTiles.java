package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import org.redhare.core.NativeMemory;

/**
 * The prompt micro-kernel shared by the weight types whose rows widen to plain floats with no per-block
 * scale left to apply ({@link Bf16Matrix}, and {@link Fp8BlockMatrix} with its block scales moved onto the
 * activations): five widened rows by four tokens.
 *
 * <p>Five rows by four tokens is 20 accumulators, 8 activation and 2 weight registers of the 32: each
 * activation vector streamed from L2 serves ten FMAs instead of eight (4x4), which measured 10-15% faster on
 * the micro-kernel alone.
 *
 * <p>On hosts with 16 vector registers (AVX2) the same tile runs as two passes of five rows by two tokens
 * ({@link #SPLIT}, {@link #rows5tokens2}). Each accumulator still takes its FMAs in the same order (first L floats
 * of a block, then the second), so the results are the same bits as the single pass.
 *
 * <p>Layouts, for blocks of {@code B = 2L} columns: the widened tile is {@code [block][row 0..4][B floats]}
 * and the activations are 4-token panels {@code [block][token 0..3][B floats]} ({@link Kernels#packTokens4}
 * with chunk {@code B}); on 16-register hosts each half block is a unit of its own ({@link #ROW_STEP} and the
 * offsets beside it). Per block each accumulator takes the first L floats' FMA and then the second's, so a
 * caller whose one-token kernel adds the same two vectors in the same order gets the same bits.
 */
final class FloatTiles {
    private FloatTiles() {}

    /**
     * Whether the five-row pass runs as two passes sized for 16 vector registers ({@link #rows5tokens2} for tokens 0-1,
     * then 2-3): 8-lane vectors mean AVX2 on x86, which has 16 registers, where the five-row body (30 live vectors)
     * spills about 19 accumulator loads and stores per 40 FMAs (read in C2's code through {@code scripts/hsdis}). With
     * 32 registers (AVX-512, 16 lanes) the single pass is kept: it reads each activation vector once for five rows.
     */
    static final boolean SPLIT = Kernels.L == 8;

    /** Rows per widened tile. */
    static final int ROWS = 5;

    /**
     * Where the widened tile starts in its array, and where activation panels should start modulo the vector length:
     * so many floats that the vectors are aligned to their size. The scratch arrays are humongous objects at the start
     * of a G1 region ({@code Parallel#MIN_SCRATCH_FLOATS}) whose elements start 16 bytes in; from index 0, half of the
     * 32-byte loads crossed a cache line. Aligned: `QuickMatrixRates bf16 4864x896 512` 25.8 -> 27.0 G products/s on
     * the AMD EPYC host (the same fix gave {@link NibbleBlocks}' prompt kernel 11%).
     */
    static final int TILE_AT = Math.max(0, (Kernels.F.vectorByteSize() - 16) / Float.BYTES);

    /** The first index at or after {@code offset} that is aligned as {@link #TILE_AT} is, for activation panels. */
    static int aligned(int offset) {
        int l = Kernels.L;
        return (offset - TILE_AT + l - 1) / l * l + TILE_AT;
    }

    /**
     * Activation bytes per token block of a prompt kernel: they should stay in L2 while every tile of a thread's rows
     * passes over them. 1 MB is half of the 2 MB L2 of the AVX-512 host this was tuned on (0.5 and 2 MB measured slower).
     * On 16-register (AVX2) hosts, 384 KB: the AMD EPYC Zen 3 host has 512 KB of L2 per core, and its five-row by
     * two-token kernel ({@link #rows5tokens2}) runs at the FMA peak only on activations from L2
     * (`org.redhare.core.matrix.TileKernelRates 448 32`, 224 KB of panels: 43.6 G multiply-adds/s; `448 146`, 1 MB: 39.6).
     * Smaller blocks widen the weights again for each block; `QuickMatrixRates SHAPE 4864x896 512 1`, 1 MB / 256 KB /
     * 384 KB / 512 KB, G products/s: bf16 29.3 / 28.3-28.9 / 29.6-29.8 / 29.2-29.3, fp8 28.0-28.3 / 30.8 / 29.8-30.1 / 27.8-28.5.
     */
    static final int ACTIVATION_BLOCK_BYTES = SPLIT ? 384 * 1024 : 1024 * 1024;

    /**
     * Long rows are widened in chunks of this many columns (a tile that stays in L1 while every token group of the
     * block passes over it); each (row, token) accumulator is stored after a chunk and reloaded for the next, so the
     * FMAs run in exactly the unchunked order. Rows up to 1.5 chunks are not split. On AVX2 hosts 448 columns (a
     * multiple of every weight type's block of 32): five rows of 896 floats (18 KB) and a 4-token panel (14 KB) fill the
     * 32 KB L1 between them, and the kernel ran at 39.3 G multiply-adds/s on 896 columns against 43.6 on 448
     * (`TileKernelRates 896 16` and `448 32`, the same 224 KB of panels).
     */
    static final int CHUNK_COLUMNS = SPLIT ? 448 : 1024;

    static int chunkColumns(int full) {
        return full <= CHUNK_COLUMNS * 3 / 2 ? full : CHUNK_COLUMNS;
    }

    /**
     * Tokens per block (a multiple of 4) whose activations, {@link #ACTIVATION_BLOCK_BYTES}, stay in L2; all {@code n}
     * in one block when they fit (rounded up to a multiple of 4), so that a batch of, say, 14 tokens is one pass over
     * the weights rather than 12 tokens and then a second pass for the last 2.
     */
    static int tokenBlock(int n, int cols) {
        int cap = Math.max(4, ACTIVATION_BLOCK_BYTES / (cols * 4) / 4 * 4);
        return Math.min(cap, (n + 3) / 4 * 4);
    }


    /**
     * How many tokens a tile path runs through its 4-token groups: {@code n} rounded up to a multiple of four when two
     * or three tokens are past the last full group (the padding tokens' activations are zeros and their results are
     * dropped), else {@code n} rounded down, the one token past the last group taking a one-row path. The same FMAs in
     * the same order for every real token, so the same bits. With the five-row by two-token kernel a padded group costs
     * less than two or three one-row passes; one token left over does better alone. `QuickMatrixRates bf16 SHAPE N 2`,
     * G products/s of the real tokens, unpadded against padded: [4864x896] 14 tokens 44.9-45.6 / 47.5-49.6, 15 tokens
     * 40.5-42.3 / 51.3-53.2; [896x4864] 10 tokens 39.6-42.1 / 46.5-48.5; [151936x896] from DRAM 14 tokens 42.7-43.2 /
     * 45.1-45.7, 15 tokens 39.6-40.1 / 48.3-48.7, but 13 tokens 47.0-47.3 / 37.5-41.4 (padded from one left over).
     */
    static int groupedTokens(int n) {
        return n % 4 >= 2 ? (n + 3) / 4 * 4 : n / 4 * 4;
    }

    /**
     * Offsets of the widened tile and the activation panels. Tile: row {@code r}, half {@code e} (0: the first L floats
     * of a block of {@code 2L} columns, 1: the second) of block {@code b} at {@code TILE_AT + b * 5 * 2L + e * HALF_STEP
     * + r * ROW_STEP}. Panel: token {@code j} at {@code b * 4 * 2L + e * XHALF_STEP + j * TOKEN_STEP}. With 16 registers
     * ({@link #SPLIT}) each half is one unit ({@code [half][row 0..4][L]}, {@code [half][token 0..3][L]}), so that the
     * micro-kernel's loop takes one half per turn at a constant step ({@link #rows5tokens2}); otherwise a block is one
     * unit ({@code [block][row][2L]}, {@code [block][token][2L]}) as the single-pass kernel reads it.
     */
    static final int ROW_STEP = SPLIT ? Kernels.L : Kernels.PAIR_BLOCK;
    static final int HALF_STEP = SPLIT ? ROWS * Kernels.L : Kernels.L;
    static final int TOKEN_STEP = SPLIT ? Kernels.L : Kernels.PAIR_BLOCK;
    static final int XHALF_STEP = SPLIT ? 4 * Kernels.L : Kernels.L;

    /** The interleaving chunk of {@link Kernels#packTokens4} for these panels. */
    static final int PANEL_CHUNK = SPLIT ? Kernels.L : Kernels.PAIR_BLOCK;

    /**
     * Always 0, but read from a field C2 cannot fold: added to the index of a second load of the same tile vector, it keeps
     * the two loads apart, so each has one use and C2 folds it into its FMA as a memory operand ({@link #rows5tokens2}).
     */
    private static int noOffset = 0;

    /**
     * The micro-kernel on 16 vector registers ({@link #SPLIT}): all five rows of the tile by tokens {@code tk} and
     * {@code tk + 1} of the panel, one half block per turn. Ten accumulators; rows 0-2 and the two activation vectors
     * in registers (15 with the accumulators, even when C2 loads all of a turn's operands first, which it does); rows 3
     * and 4 read again for the second token through {@link #noOffset}, so that their loads become memory operands of
     * their FMAs and need no register. Against the former passes of three and two rows by four tokens (12 accumulators,
     * 3 weights and 4 activations live at once when C2 hoists the loads: seven spilled accumulators per turn in
     * {@code scripts/hsdis}), each activation vector now serves five FMAs instead of three and nothing spills.
     * Each accumulator still takes its FMAs half after half in column order, so the bits are those of every other
     * kernel. Accumulators of row {@code r < 4} and token {@code t} at {@code (4 t + r) L}, of row 4 at {@code (16 + t) L}.
     */
    private static void rows5tokens2(float[] tile, int c0, int c1, float[] xp, int xq, float[] init, int io, int out, int tk) {
        final int L = Kernels.L;
        final int z = noOffset;
        final int i0 = 4 * tk * L, i1 = i0 + 4 * L, j0 = (16 + tk) * L, j1 = j0 + L;
        FloatVector a00 = FloatVector.fromArray(Kernels.F, init, io + i0), a10 = FloatVector.fromArray(Kernels.F, init, io + i0 + L);
        FloatVector a20 = FloatVector.fromArray(Kernels.F, init, io + i0 + 2 * L), a30 = FloatVector.fromArray(Kernels.F, init, io + i0 + 3 * L);
        FloatVector a40 = FloatVector.fromArray(Kernels.F, init, io + j0);
        FloatVector a01 = FloatVector.fromArray(Kernels.F, init, io + i1), a11 = FloatVector.fromArray(Kernels.F, init, io + i1 + L);
        FloatVector a21 = FloatVector.fromArray(Kernels.F, init, io + i1 + 2 * L), a31 = FloatVector.fromArray(Kernels.F, init, io + i1 + 3 * L);
        FloatVector a41 = FloatVector.fromArray(Kernels.F, init, io + j1);
        final int end = TILE_AT + 5 * (c1 - c0);
        for (int p = TILE_AT, q = xq + 4 * c0 + tk * L; p < end; p += 5 * L, q += 4 * L) {
            FloatVector w0 = FloatVector.fromArray(Kernels.F, tile, p);
            FloatVector w1 = FloatVector.fromArray(Kernels.F, tile, p + L);
            FloatVector w2 = FloatVector.fromArray(Kernels.F, tile, p + 2 * L);
            FloatVector x = FloatVector.fromArray(Kernels.F, xp, q);
            FloatVector y = FloatVector.fromArray(Kernels.F, xp, q + L);
            a00 = w0.fma(x, a00); a10 = w1.fma(x, a10); a20 = w2.fma(x, a20);
            a01 = w0.fma(y, a01); a11 = w1.fma(y, a11); a21 = w2.fma(y, a21);
            a30 = x.fma(FloatVector.fromArray(Kernels.F, tile, p + 3 * L), a30); // the load second: C2 folds only that operand
            a31 = y.fma(FloatVector.fromArray(Kernels.F, tile, p + 3 * L + z), a31);
            a40 = x.fma(FloatVector.fromArray(Kernels.F, tile, p + 4 * L), a40);
            a41 = y.fma(FloatVector.fromArray(Kernels.F, tile, p + 4 * L + z), a41);
        }
        a00.intoArray(tile, out + i0);
        a10.intoArray(tile, out + i0 + L);
        a20.intoArray(tile, out + i0 + 2 * L);
        a30.intoArray(tile, out + i0 + 3 * L);
        a40.intoArray(tile, out + j0);
        a01.intoArray(tile, out + i1);
        a11.intoArray(tile, out + i1 + L);
        a21.intoArray(tile, out + i1 + 2 * L);
        a31.intoArray(tile, out + i1 + 3 * L);
        a41.intoArray(tile, out + j1);
    }

    /**
     * Whether callers run {@link #tile5tokens4Fetching} for the first token groups of a tile, touching the rows they widen
     * next. It was measured to help on the AVX-512 host (BF16 [151936 x 896], 16 tokens, one thread 21.1 -> 23.4 G weights/s).
     * On the AVX2 host with {@link #rows5tokens2} the touches cost more than they save: a touch that misses to DRAM holds
     * up retirement behind it, and the kernel otherwise runs at the FMA peak. `QuickMatrixRates TYPE SHAPE N THREADS`
     * with and without (G products/s): fp8 48640x896 16 1 24.0-24.6 / 26.3-26.5, 16 2 48.5-49.4 / 51.4-52.8,
     * 8960x4864 16 1 22.9-25.5 / 26.9-27.8, 896x4864 512 1 25.8-28.1 / 29.3-30.0; bf16 151936x896 64 1 30.1-30.3 /
     * 31.4-32.2, 64 2 59.1-59.3 / 61.9-62.7, 4864x896 512 1 30.1-30.9 / 32.5-32.9; q8_0 4864x896 512 1 31.5-31.7 /
     * 33.1-33.7, 48640x896 16 1 22.0-22.5 / 22.2-23.2.
     */
    static final boolean FETCH_AHEAD = !SPLIT;

    /** Zero accumulators for the first column chunk of {@link #tile5tokens4}. */
    static final float[] ZERO_ACCUMULATORS = new float[20 * Kernels.L];

    /**
     * The micro-kernel: a five-row tile ({@code [block][row 0..4][first|second L floats]}): the 20 accumulators
     * start from {@code init[io ...]} (zeros, or the previous column chunk's) and are stored to
     * {@code tile[out ...]}. Branch-free and without the lane sums, so C2 compiles the whole method with
     * intrinsics: a larger body hit its node limit and left some vector stores boxed (measured 30% slower).
     */
    static void tile5tokens4(float[] tile, int c0, int c1, float[] xp, int xq, float[] init, int io, int out) {
        if (SPLIT) {
            rows5tokens2(tile, c0, c1, xp, xq, init, io, out, 0);
            rows5tokens2(tile, c0, c1, xp, xq, init, io, out, 2);
            return;
        }
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        FloatVector a00 = FloatVector.fromArray(Kernels.F, init, io), a10 = FloatVector.fromArray(Kernels.F, init, io + L);
        FloatVector a20 = FloatVector.fromArray(Kernels.F, init, io + 2 * L), a30 = FloatVector.fromArray(Kernels.F, init, io + 3 * L);
        FloatVector a01 = FloatVector.fromArray(Kernels.F, init, io + 4 * L), a11 = FloatVector.fromArray(Kernels.F, init, io + 5 * L);
        FloatVector a21 = FloatVector.fromArray(Kernels.F, init, io + 6 * L), a31 = FloatVector.fromArray(Kernels.F, init, io + 7 * L);
        FloatVector a02 = FloatVector.fromArray(Kernels.F, init, io + 8 * L), a12 = FloatVector.fromArray(Kernels.F, init, io + 9 * L);
        FloatVector a22 = FloatVector.fromArray(Kernels.F, init, io + 10 * L), a32 = FloatVector.fromArray(Kernels.F, init, io + 11 * L);
        FloatVector a03 = FloatVector.fromArray(Kernels.F, init, io + 12 * L), a13 = FloatVector.fromArray(Kernels.F, init, io + 13 * L);
        FloatVector a23 = FloatVector.fromArray(Kernels.F, init, io + 14 * L), a33 = FloatVector.fromArray(Kernels.F, init, io + 15 * L);
        FloatVector a40 = FloatVector.fromArray(Kernels.F, init, io + 16 * L), a41 = FloatVector.fromArray(Kernels.F, init, io + 17 * L);
        FloatVector a42 = FloatVector.fromArray(Kernels.F, init, io + 18 * L), a43 = FloatVector.fromArray(Kernels.F, init, io + 19 * L);
        final int end = 5 * (c1 - c0);
        for (int p = TILE_AT, q = xq + 4 * c0; p < TILE_AT + end; p += 5 * B, q += 4 * B) {
            FloatVector xe0 = FloatVector.fromArray(Kernels.F, xp, q);
            FloatVector xd0 = FloatVector.fromArray(Kernels.F, xp, q + L);
            FloatVector xe1 = FloatVector.fromArray(Kernels.F, xp, q + B);
            FloatVector xd1 = FloatVector.fromArray(Kernels.F, xp, q + B + L);
            FloatVector xe2 = FloatVector.fromArray(Kernels.F, xp, q + 2 * B);
            FloatVector xd2 = FloatVector.fromArray(Kernels.F, xp, q + 2 * B + L);
            FloatVector xe3 = FloatVector.fromArray(Kernels.F, xp, q + 3 * B);
            FloatVector xd3 = FloatVector.fromArray(Kernels.F, xp, q + 3 * B + L);
            FloatVector we = FloatVector.fromArray(Kernels.F, tile, p);
            FloatVector wo = FloatVector.fromArray(Kernels.F, tile, p + L);
            a00 = wo.fma(xd0, we.fma(xe0, a00));
            a01 = wo.fma(xd1, we.fma(xe1, a01));
            a02 = wo.fma(xd2, we.fma(xe2, a02));
            a03 = wo.fma(xd3, we.fma(xe3, a03));
            we = FloatVector.fromArray(Kernels.F, tile, p + B);
            wo = FloatVector.fromArray(Kernels.F, tile, p + B + L);
            a10 = wo.fma(xd0, we.fma(xe0, a10));
            a11 = wo.fma(xd1, we.fma(xe1, a11));
            a12 = wo.fma(xd2, we.fma(xe2, a12));
            a13 = wo.fma(xd3, we.fma(xe3, a13));
            we = FloatVector.fromArray(Kernels.F, tile, p + 2 * B);
            wo = FloatVector.fromArray(Kernels.F, tile, p + 2 * B + L);
            a20 = wo.fma(xd0, we.fma(xe0, a20));
            a21 = wo.fma(xd1, we.fma(xe1, a21));
            a22 = wo.fma(xd2, we.fma(xe2, a22));
            a23 = wo.fma(xd3, we.fma(xe3, a23));
            we = FloatVector.fromArray(Kernels.F, tile, p + 3 * B);
            wo = FloatVector.fromArray(Kernels.F, tile, p + 3 * B + L);
            a30 = wo.fma(xd0, we.fma(xe0, a30));
            a31 = wo.fma(xd1, we.fma(xe1, a31));
            a32 = wo.fma(xd2, we.fma(xe2, a32));
            a33 = wo.fma(xd3, we.fma(xe3, a33));
            we = FloatVector.fromArray(Kernels.F, tile, p + 4 * B);
            wo = FloatVector.fromArray(Kernels.F, tile, p + 4 * B + L);
            a40 = wo.fma(xd0, we.fma(xe0, a40));
            a41 = wo.fma(xd1, we.fma(xe1, a41));
            a42 = wo.fma(xd2, we.fma(xe2, a42));
            a43 = wo.fma(xd3, we.fma(xe3, a43));
        }
        a00.intoArray(tile, out);
        a10.intoArray(tile, out + L);
        a20.intoArray(tile, out + 2 * L);
        a30.intoArray(tile, out + 3 * L);
        a01.intoArray(tile, out + 4 * L);
        a11.intoArray(tile, out + 5 * L);
        a21.intoArray(tile, out + 6 * L);
        a31.intoArray(tile, out + 7 * L);
        a02.intoArray(tile, out + 8 * L);
        a12.intoArray(tile, out + 9 * L);
        a22.intoArray(tile, out + 10 * L);
        a32.intoArray(tile, out + 11 * L);
        a03.intoArray(tile, out + 12 * L);
        a13.intoArray(tile, out + 13 * L);
        a23.intoArray(tile, out + 14 * L);
        a33.intoArray(tile, out + 15 * L);
        a40.intoArray(tile, out + 16 * L);
        a41.intoArray(tile, out + 17 * L);
        a42.intoArray(tile, out + 18 * L);
        a43.intoArray(tile, out + 19 * L);
    }

    /**
     * {@link #tile5tokens4} fetching ahead: iteration {@code i} (one block of columns) also loads one byte at
     * {@code ahead[ta + i * ts]} and {@code ahead[tb + i * ts]} (each capped at {@code tmax}), so a caller can
     * bring the weights it widens next into cache while this runs on the tile it widened before. A few tokens'
     * pass (a decode step of many users) otherwise stalls on DRAM each time it starts a new tile: the
     * hardware prefetchers follow the five short row streams too late. Java has no prefetch instruction; a
     * plain load whose value is kept (see {@link Kernels#keep}) does the same here, since nothing waits on it.
     * A copy of the plain kernel rather than one method for both: the two loads and their address arithmetic
     * per block, paid by every token group of a long prompt, cost 4-9% on cache-resident tiles.
     */
    static void tile5tokens4Fetching(float[] tile, int c0, int c1, float[] xp, int xq, float[] init, int io, int out,
            MemorySegment ahead, long ta, long tb, long ts, long tmax) {
        ahead = NativeMemory.typed(ahead);
        if (SPLIT) { // callers do not fetch on these hosts (FETCH_AHEAD)
            tile5tokens4(tile, c0, c1, xp, xq, init, io, out);
            return;
        }
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        long touched = 0;
        FloatVector a00 = FloatVector.fromArray(Kernels.F, init, io), a10 = FloatVector.fromArray(Kernels.F, init, io + L);
        FloatVector a20 = FloatVector.fromArray(Kernels.F, init, io + 2 * L), a30 = FloatVector.fromArray(Kernels.F, init, io + 3 * L);
        FloatVector a01 = FloatVector.fromArray(Kernels.F, init, io + 4 * L), a11 = FloatVector.fromArray(Kernels.F, init, io + 5 * L);
        FloatVector a21 = FloatVector.fromArray(Kernels.F, init, io + 6 * L), a31 = FloatVector.fromArray(Kernels.F, init, io + 7 * L);
        FloatVector a02 = FloatVector.fromArray(Kernels.F, init, io + 8 * L), a12 = FloatVector.fromArray(Kernels.F, init, io + 9 * L);
        FloatVector a22 = FloatVector.fromArray(Kernels.F, init, io + 10 * L), a32 = FloatVector.fromArray(Kernels.F, init, io + 11 * L);
        FloatVector a03 = FloatVector.fromArray(Kernels.F, init, io + 12 * L), a13 = FloatVector.fromArray(Kernels.F, init, io + 13 * L);
        FloatVector a23 = FloatVector.fromArray(Kernels.F, init, io + 14 * L), a33 = FloatVector.fromArray(Kernels.F, init, io + 15 * L);
        FloatVector a40 = FloatVector.fromArray(Kernels.F, init, io + 16 * L), a41 = FloatVector.fromArray(Kernels.F, init, io + 17 * L);
        FloatVector a42 = FloatVector.fromArray(Kernels.F, init, io + 18 * L), a43 = FloatVector.fromArray(Kernels.F, init, io + 19 * L);
        final int end = 5 * (c1 - c0);
        for (int p = TILE_AT, q = xq + 4 * c0; p < TILE_AT + end; p += 5 * B, q += 4 * B, ta += ts, tb += ts) {
            touched += ahead.get(ValueLayout.JAVA_BYTE, Math.min(ta, tmax)) + ahead.get(ValueLayout.JAVA_BYTE, Math.min(tb, tmax));
            FloatVector xe0 = FloatVector.fromArray(Kernels.F, xp, q);
            FloatVector xd0 = FloatVector.fromArray(Kernels.F, xp, q + L);
            FloatVector xe1 = FloatVector.fromArray(Kernels.F, xp, q + B);
            FloatVector xd1 = FloatVector.fromArray(Kernels.F, xp, q + B + L);
            FloatVector xe2 = FloatVector.fromArray(Kernels.F, xp, q + 2 * B);
            FloatVector xd2 = FloatVector.fromArray(Kernels.F, xp, q + 2 * B + L);
            FloatVector xe3 = FloatVector.fromArray(Kernels.F, xp, q + 3 * B);
            FloatVector xd3 = FloatVector.fromArray(Kernels.F, xp, q + 3 * B + L);
            FloatVector we = FloatVector.fromArray(Kernels.F, tile, p);
            FloatVector wo = FloatVector.fromArray(Kernels.F, tile, p + L);
            a00 = wo.fma(xd0, we.fma(xe0, a00));
            a01 = wo.fma(xd1, we.fma(xe1, a01));
            a02 = wo.fma(xd2, we.fma(xe2, a02));
            a03 = wo.fma(xd3, we.fma(xe3, a03));
            we = FloatVector.fromArray(Kernels.F, tile, p + B);
            wo = FloatVector.fromArray(Kernels.F, tile, p + B + L);
            a10 = wo.fma(xd0, we.fma(xe0, a10));
            a11 = wo.fma(xd1, we.fma(xe1, a11));
            a12 = wo.fma(xd2, we.fma(xe2, a12));
            a13 = wo.fma(xd3, we.fma(xe3, a13));
            we = FloatVector.fromArray(Kernels.F, tile, p + 2 * B);
            wo = FloatVector.fromArray(Kernels.F, tile, p + 2 * B + L);
            a20 = wo.fma(xd0, we.fma(xe0, a20));
            a21 = wo.fma(xd1, we.fma(xe1, a21));
            a22 = wo.fma(xd2, we.fma(xe2, a22));
            a23 = wo.fma(xd3, we.fma(xe3, a23));
            we = FloatVector.fromArray(Kernels.F, tile, p + 3 * B);
            wo = FloatVector.fromArray(Kernels.F, tile, p + 3 * B + L);
            a30 = wo.fma(xd0, we.fma(xe0, a30));
            a31 = wo.fma(xd1, we.fma(xe1, a31));
            a32 = wo.fma(xd2, we.fma(xe2, a32));
            a33 = wo.fma(xd3, we.fma(xe3, a33));
            we = FloatVector.fromArray(Kernels.F, tile, p + 4 * B);
            wo = FloatVector.fromArray(Kernels.F, tile, p + 4 * B + L);
            a40 = wo.fma(xd0, we.fma(xe0, a40));
            a41 = wo.fma(xd1, we.fma(xe1, a41));
            a42 = wo.fma(xd2, we.fma(xe2, a42));
            a43 = wo.fma(xd3, we.fma(xe3, a43));
        }
        a00.intoArray(tile, out);
        a10.intoArray(tile, out + L);
        a20.intoArray(tile, out + 2 * L);
        a30.intoArray(tile, out + 3 * L);
        a01.intoArray(tile, out + 4 * L);
        a11.intoArray(tile, out + 5 * L);
        a21.intoArray(tile, out + 6 * L);
        a31.intoArray(tile, out + 7 * L);
        a02.intoArray(tile, out + 8 * L);
        a12.intoArray(tile, out + 9 * L);
        a22.intoArray(tile, out + 10 * L);
        a32.intoArray(tile, out + 11 * L);
        a03.intoArray(tile, out + 12 * L);
        a13.intoArray(tile, out + 13 * L);
        a23.intoArray(tile, out + 14 * L);
        a33.intoArray(tile, out + 15 * L);
        a40.intoArray(tile, out + 16 * L);
        a41.intoArray(tile, out + 17 * L);
        a42.intoArray(tile, out + 18 * L);
        a43.intoArray(tile, out + 19 * L);
        Kernels.keep(touched);
    }
}
