package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import org.redhare.core.CachePrefetch;
import org.redhare.core.DType;
import org.redhare.core.NativeMemory;
import org.redhare.core.Parallel;
import org.redhare.core.ops.VectorMath;

/**
 * BF16 weights, row-major {@code [rows, cols]} over the checkpoint's bytes, or, for rows longer than {@link #PANEL}
 * columns, copied at load into column panels (see {@link #PANEL}).
 *
 * <p>Widening costs two integer operations per {@code 2L} weights: an int lane holds two bf16 values,
 * {@code v << 16} is the even one as a float and {@code v & 0xFFFF0000} the odd one. Activations are
 * reordered per block to even-then-odd so both meet contiguous floats (see {@link Kernels#deinterleave}).
 */
public final class Bf16Matrix implements WeightMatrix, ExactRows {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Columns per panel. A matrix with longer rows is stored as column panels, {@code [panel][rows][PANEL]} (the last
     * panel narrower: it holds the rest of each row, tail columns included), and the one-token kernel takes it panel by
     * panel ({@link #decodePanels}), so a pass reads at most this many activations (8 KiB). On the AMD EPYC Zen 4 host
     * (32 KiB of L1) a whole row's activations of 4096 or more floats did not stay in L1 beside the weight stream, and
     * one-token products read their weights at about half the rate. Measured there (docs/PERFORMANCE.md, thirty-fifth
     * session): a plain BF16 dot-product loop over 256 MiB of rows read 17-21 GB/s with rows of 1024-2048 columns,
     * 9-13 GB/s with 4096-16384 (activations as long as the row), 18-20 GB/s at every row length with a fixed 1024
     * activations; `QuickMatrixRates bf16 16384x4096 1 1` 9.4-10.5 -> 20.4-21.8 GB/s, 16384x8192 9.7-10.9 -> 18.2-19.6;
     * an 8B model's layer shapes (hidden 4096, FFN 14336), one thread, 11.7-13.0 -> 17.7-21.8 GB/s on every matrix.
     * Row-major matrices read panel by panel (rows jumping by the whole row) measured 6.6-8.9 GB/s: the panels must be
     * contiguous. A row's accumulator carries from one panel to the next (kept in registers, or stored and reloaded
     * exactly), so every row is still summed in column order: the same bits as before, on every path. Narrower
     * matrices (one panel) keep the checkpoint's row-major bytes.
     */
    static final int PANEL = Kernels.PANEL_COLUMNS;

    private final MemorySegment data; // [rows, cols] bf16, or panels of them (PANEL)
    private final int rows;
    private final int cols;

    public Bf16Matrix(MemorySegment data, int rows, int cols) {
        MatrixChecks.size(data, rows, cols, 2, "BF16");
        this.data = cols > PANEL ? panelled(data, rows, cols) : NativeMemory.nativeOrCopy(data);
        this.rows = rows;
        this.cols = cols;
    }

    /** Whether a {@code cols}-column matrix computes on the segment it is given (true) or on a copy in column panels. */
    public static boolean usesInPlace(int cols) {
        return cols <= PANEL;
    }

    private Bf16Matrix(int rows, int cols, MemorySegment laidOut) {
        this.data = laidOut;
        this.rows = rows;
        this.cols = cols;
    }

    /**
     * Row-major BF16 matrices {@code parts[i]} ({@code [rows[i], cols]}) as one {@code [sum of rows, cols]} matrix, their
     * rows one after another, copied once into its own layout (one segment, or column panels). Each row is computed as
     * it would be in its own matrix, so the products are the parts' bits (see {@code Weights#stacked}).
     */
    public static Bf16Matrix stacked(Parallel pool, java.util.List<MemorySegment> parts, int[] rows, int cols) {
        int total = 0;
        for (int i = 0; i < parts.size(); i++) {
            MatrixChecks.size(parts.get(i), rows[i], cols, 2, "BF16");
            total = Math.addExact(total, rows[i]);
        }
        MemorySegment dst = NativeMemory.allocate((long) total * cols * 2);
        int r0 = 0;
        for (int i = 0; i < parts.size(); i++) {
            // Row ranges over the threads: the copy is mostly page faults (the mapped source's and the new memory's),
            // which the threads take in parallel. Half a second of a 0.5B model's load on one thread.
            MemorySegment src = parts.get(i);
            int at = r0;
            pool.forRange(rows[i], Math.max(64, (int) ((4L << 20) / (2L * cols))), (a, b, w) -> {
                if (cols > PANEL) {
                    panelRows(src.asSlice((long) a * cols * 2, (long) (b - a) * cols * 2), b - a, cols, dst, dst.byteSize() / (2L * cols), at + a);
                } else {
                    MemorySegment.copy(src, (long) a * cols * 2, dst, (long) (at + a) * cols * 2, (long) (b - a) * cols * 2);
                }
            });
            r0 += rows[i];
        }
        return new Bf16Matrix(total, cols, dst);
    }

    /** Row-major {@code src} copied into column panels ({@link #PANEL}), in ranges of rows over the threads of {@link Repacking}. */
    private static MemorySegment panelled(MemorySegment src, int rows, int cols) {
        MemorySegment dst = NativeMemory.allocate((long) rows * cols * 2);
        Repacking.forRange(rows, Repacking.grain(2 * cols, 1),
                (a, b, w) -> panelRows(src.asSlice((long) a * cols * 2, (long) (b - a) * cols * 2), b - a, cols, dst, rows, a));
        return dst;
    }

    /** Row-major {@code src} ({@code rows} rows) into rows {@code r0 ..} of the column panels of a {@code total}-row matrix. */
    private static void panelRows(MemorySegment src, int rows, int cols, MemorySegment dst, long total, int r0) {
        for (int r = 0; r < rows; r++) { // the source in order: it is usually a mapped file
            for (int p0 = 0; p0 < cols; p0 += PANEL) {
                int pw = Math.min(PANEL, cols - p0);
                MemorySegment.copy(src, ((long) r * cols + p0) * 2, dst, (long) total * p0 * 2 + (long) (r0 + r) * pw * 2, (long) pw * 2);
            }
        }
    }

    /**
     * The byte offset {@code b} such that column {@code c'} of row {@code r} is at {@code b + 2c'} for every column
     * {@code c'} in the panel holding column {@code c} ({@code r * cols * 2} for a one-panel matrix).
     */
    private long base(int r, int c) {
        int p0 = c / PANEL * PANEL;
        return (long) rows * p0 * 2 + (long) r * Math.min(PANEL, cols - p0) * 2 - p0 * 2L;
    }

    /** Bytes from one row to the next in the panel holding column {@code c}. */
    private long pitch(int c) {
        return 2L * Math.min(PANEL, cols - c / PANEL * PANEL);
    }

    /** The base ({@link #base}) of the panel holding row {@code r}'s tail columns. */
    private long tailBase(int r) {
        return base(r, cols - 1);
    }

    /** The end of the panel holding column {@code c}, at most {@code full}. */
    private static int panelEnd(int c, int full) {
        return Math.min(full, (c / PANEL + 1) * PANEL);
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public DType dtype() { return DType.BF16; }
    @Override public long bytes() { return (long) rows * cols * 2; }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        if (n == 1) {
            float[] xp = pool.scratch(cols);
            Kernels.deinterleave(x, 1, cols, xp);
            if (cols <= PANEL) {
                pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()), 2, (r0, r1, w) -> decode(xp, y, r0, r1, pool.workerScratch(w, 4 * Kernels.L)));
            } else {
                pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()), 2,
                        (r0, r1, w) -> decodePanels(xp, y, r0, r1, pool.workerScratch(w, PANEL_ROWS * Kernels.L)));
            }
        } else if ((NATIVE && n <= NATIVE_TOKENS || AVX2 && n <= AVX2_TOKENS) && cols % Kernels.PAIR_BLOCK == 0 && data.isNative()) {
            tokensNative(pool, x, n, y);
        } else if (n <= STREAM_MAX_TOKENS) {
            float[] xp = pool.scratch(n * cols);
            Kernels.deinterleave(x, n, cols, xp);
            pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()), 4,
                    (r0, r1, w) -> computeStreaming(xp, n, y, r0, r1, pool.workerScratch(w, Kernels.SUM16_FLOATS)));
        } else {
            int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
            int grouped = FloatTiles.groupedTokens(n);
            int packed = grouped * full;
            float[] xp = pool.scratch(FloatTiles.aligned(n * cols) + packed);
            int panels = FloatTiles.aligned(n * cols);
            if (n < PACK_PARALLEL_FROM) {
                Kernels.deinterleave(x, n, cols, xp);
                Kernels.packTokens4(xp, n, grouped, cols, full, FloatTiles.PANEL_CHUNK, xp, panels);
            } else { // each chunk of 4-token groups reorders its own tokens and packs them: no chunk reads another's
                int groups = (Math.max(n, grouped) + 3) / 4;
                boolean onePass = panelsOnly(n, grouped);
                pool.forRange(groups, Math.max(1, groups / (4 * pool.threads())), (a, b, w) -> {
                    if (onePass) {
                        Kernels.packPairs4(x, n, 4 * a, Math.min(grouped, 4 * b), cols, xp, panels);
                    } else {
                        Kernels.deinterleave(x, 4 * a, Math.min(n, 4 * b), cols, xp);
                        Kernels.packTokens4(xp, n, 4 * a, Math.min(grouped, 4 * b), cols, full, FloatTiles.PANEL_CHUNK, xp, panels);
                    }
                });
            }
            int chunk = chunkColumns(full);
            int block = tokenBlock(n);
            int grain = (Kernels.rowGrain(rows, pool.threads()) + TILE_ROWS - 1) / TILE_ROWS * TILE_ROWS; // rows left over only at the end
            pool.forRange(rows, grain, TILE_ROWS,
                    (r0, r1, w) -> computeWidened(xp, n, grouped, y, r0, r1,
                            pool.workerScratch(w, FloatTiles.TILE_AT + TILE_ROWS * chunk + 2 * (block / 4) * TILE_ROWS * 4 * Kernels.L + TILE_ROWS * 4 * Kernels.L + 16)));
        }
    }

    /*
     * Batch invariance: every output y[t, r] is summed in exactly one order, whatever n and whichever
     * kernel below computes it: one accumulator over the full blocks in column order, adding for each
     * block the even-lane products and then the odd-lane products (two FMAs), then a fixed-order lane
     * sum (VectorMath.sum), then the tail columns in order. The kernels differ only in how many rows and
     * tokens share each widened weight vector and each activation load, so a request gets the same bits
     * alone or in any batch.
     */

    /**
     * Where the machine code does not run ({@link #NATIVE_TOKENS}): up to this many tokens (a decode step of a
     * few users) the weights are widened in registers straight from memory for every group of four tokens. From
     * seven tokens on, the widened-tile path pays off: its first token group widens in registers too (so the row
     * reads still overlap FMAs) and stores the floats for the groups after it. Measured on 16-token forward
     * passes (0.5B, two threads): 96-102 tok/s with the register path, 101-105 with the tile. Since a last group
     * of two or three tokens is padded ({@link FloatTiles#groupedTokens}), 7 tokens take the tile too
     * (`QuickMatrixRates bf16 SHAPE 7 T`, G products/s, register vs tile): [4864x896] one thread 16.9-17.4 vs
     * 22.5-23.4, [151936x896] two threads 32.6-32.9 vs 33.6-35.6. At 6 the LM head from DRAM on one thread loses
     * (17.7-18.2 vs 15.6-15.9).
     */
    private static final int STREAM_MAX_TOKENS = 6;

    /**
     * From two up to this many tokens, where the machine code runs and the rows are whole 32-column blocks, the
     * product runs in {@link NativeKernels#bf16Tokens}: each row's block widened once in registers for a group
     * of up to five tokens, the rows prefetched into L2 ({@link NativeKernels#halvesAhead}). Same FMAs in the
     * same order as the Java kernels, so the same bits. `QuickMatrixRates bf16 SHAPE N T` (G products a second,
     * AMD EPYC Zen 4, fifty-fifth session; Java register kernel or widened tile -> machine code): [4864x896] one
     * thread 2 tokens 34.7 -> 50.7, 3 41.8 -> 52.1, 4 43.3 -> 51.4, 6 38.5 -> 51.7, 8 50.3 -> 52.4; from DRAM
     * [151936x896] one thread 2 tokens 16.0 -> 20.3-22.4 (GB/s, as products), 4 27.0 -> 39.6, 8 40.9 -> 50.5,
     * two threads 2 tokens 33.9 -> 40.6-41.3, 8 78.5 -> 99.7. From 12 tokens the widened tile is as fast or
     * faster: [896x4864] (three column panels) on two threads 103-104 against 86 with 12 and 16 tokens, the
     * threads of one core sharing its L1 and L2 while each re-reads five tokens' 97 KB of activations for every
     * four rows. One token keeps {@link #decode}: from DRAM it read 23.7-25.3 GB/s on one thread and 47-51 on
     * two against 21.5-23.5 and 33-46 here. Two tokens take four rows a quarter of a call's rows apart (up to
     * 256: four sequential streams, as {@link #computeStreaming}) instead of four neighbours: [151936x896] one
     * thread 22.9-24.2 -> 25.6-27.0 GB/s, two threads 32.5-34.3 -> 33.6-36.0 (and once 50.5); with four or eight
     * tokens, where the FMAs count more, the spread rows measured 3-5% slower and the neighbours stay.
     */
    private static final int NATIVE_TOKENS = 8;

    /**
     * Whether two to {@link #AVX2_TOKENS} tokens run through {@link Avx2Kernels#bf16Tokens} (CPUs with AVX2 and no AVX-512,
     * 8-float vectors) where the rows are whole 16-column blocks.
     */
    private static final boolean AVX2 = Avx2Kernels.bf16Available();

    /**
     * Up to this many tokens (a decode step of up to 16 users, a drafted run being checked) take {@link
     * Avx2Kernels#bf16Tokens}; more (a prompt) keep the widened tile, as fast in cache and never re-copying the
     * activations. JVM limited to AVX2 on the AMD EPYC Zen 5 host, `QuickMatrixRates bf16 SHAPE N 1`, G products a
     * second, Java -> machine code: [4864x896] 2 tokens 21.5 -> 29.2, 3 21.8 -> 36.2, 4 28.0 -> 36.4, 6 23.2 -> 34.8, 8
     * 28.2-35.7 -> 36.9-42.0; [151936x896] from DRAM 2 tokens 19.1 -> 26.3 (GB/s), 8 27.0 -> 43.0, 16 35.5 -> 43.1; in cache
     * 16 and 24 tokens level within the host's noise (34-42 either way). Prompts through it in blocks of up to 64 tokens
     * (sized so a block's activations stay in L2) measured mixed: `bench -p 512 -n 0 -t 1` qwen2.5-0.5b 93.9-101.4 ->
     * 100.6-107.7 tok/s, llama-3.2-1b `-p 256` 39.7-41.5 -> 37.4-39.7 (its 2048-column rows: 39 G products/s in machine
     * code against 42 in the tile, for reasons not found), so they stay in Java.
     */
    private static final int AVX2_TOKENS = 16;

    /**
     * Several tokens through {@link NativeKernels#bf16Tokens} (AVX-512) or {@link Avx2Kernels#bf16Tokens}: each thread's
     * quads of rows in runs of {@link NativeKernels#DECODE_TILES}, two tokens taking four rows a quarter of the run apart
     * (four streams), the rows past the last quad through {@link #row1token1}. The arithmetic of the Java kernels, so the
     * same bits.
     */
    private void tokensNative(Parallel pool, float[] x, int n, float[] y) {
        float[] xp = pool.scratch(n * cols);
        Kernels.deinterleave(x, n, cols, xp);
        final long ahead = NativeKernels.halvesAhead();
        final int scratch = n * cols + 15;
        pool.forRange((rows + 3) / 4, Math.max(1, Kernels.rowGrain(rows, pool.threads()) / 4), 1, (q0, q1, w) -> {
            float[] buf = pool.workerScratch(w, scratch);
            final int whole = Math.min(q1, rows / 4);
            for (int q = q0; q < whole; q += NativeKernels.DECODE_TILES) {
                final int k = Math.min(NativeKernels.DECODE_TILES, whole - q);
                if (NATIVE) {
                    NativeKernels.bf16Tokens(data, rows, 4 * q, k, n == 2, cols, PANEL, n, rows, xp, y, 4 * q, buf, ahead);
                } else {
                    Avx2Kernels.bf16Tokens(data, rows, 4 * q, k, n == 2, cols, PANEL, n, rows, xp, 0, y, 4 * q, buf, ahead);
                }
            }
            for (int r = 4 * Math.max(q0, whole); r < Math.min(rows, 4 * q1); r++) { // at most three rows
                for (int t = 0; t < n; t++) {
                    row1token1(xp, y, r, t);
                }
            }
        });
    }

    /** Rows {@code r0 + i + k q} ({@code k = 0..3}, {@code q} a quarter of the range) together: four long streams, as {@link #decode} pairs halves. */
    private void computeStreaming(float[] xp, int n, float[] y, int r0, int r1, float[] sums) {
        final int q = (r1 - r0) / 4;
        for (int i = 0; i < q; i++) {
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                rows4tokens4(xp, y, r0 + i, q, t, sums);
            }
            if (n - t == 3) {
                rows4tokens3(xp, y, r0 + i, q, t, sums);
                t += 3;
            }
            for (; t + 2 <= n; t += 2) {
                rows4tokens2(xp, y, r0 + i, q, t, sums);
            }
            for (; t < n; t++) {
                rows4token1(xp, y, r0 + i, q, t, sums, 0);
            }
        }
        for (int r = r0 + 4 * q; r < r1; r++) {
            for (int t = 0; t < n; t++) {
                row1token1(xp, y, r, t);
            }
        }
    }

    /** Rows {@code r, r + q, r + 2q, r + 3q} by tokens {@code t .. t+3}. */
    private void rows4tokens4(float[] xp, float[] y, int r, int q, int t, float[] sums) {
        final MemorySegment data = NativeMemory.typed(this.data);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a00 = FloatVector.zero(Kernels.F), a01 = FloatVector.zero(Kernels.F);
        FloatVector a02 = FloatVector.zero(Kernels.F), a03 = FloatVector.zero(Kernels.F);
        FloatVector a10 = FloatVector.zero(Kernels.F), a11 = FloatVector.zero(Kernels.F);
        FloatVector a12 = FloatVector.zero(Kernels.F), a13 = FloatVector.zero(Kernels.F);
        FloatVector a20 = FloatVector.zero(Kernels.F), a21 = FloatVector.zero(Kernels.F);
        FloatVector a22 = FloatVector.zero(Kernels.F), a23 = FloatVector.zero(Kernels.F);
        FloatVector a30 = FloatVector.zero(Kernels.F), a31 = FloatVector.zero(Kernels.F);
        FloatVector a32 = FloatVector.zero(Kernels.F), a33 = FloatVector.zero(Kernels.F);
        for (int pc = 0; pc < full; pc += PANEL) {
            final int pe = panelEnd(pc, full);
            final long stride = q * pitch(pc);
            final long b0 = base(r, pc), b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
            for (int c = pc; c < pe; c += B) {
                FloatVector xe0 = FloatVector.fromArray(Kernels.F, xp, x0 + c);
                FloatVector xd0 = FloatVector.fromArray(Kernels.F, xp, x0 + c + L);
                FloatVector xe1 = FloatVector.fromArray(Kernels.F, xp, x1 + c);
                FloatVector xd1 = FloatVector.fromArray(Kernels.F, xp, x1 + c + L);
                FloatVector xe2 = FloatVector.fromArray(Kernels.F, xp, x2 + c);
                FloatVector xd2 = FloatVector.fromArray(Kernels.F, xp, x2 + c + L);
                FloatVector xe3 = FloatVector.fromArray(Kernels.F, xp, x3 + c);
                FloatVector xd3 = FloatVector.fromArray(Kernels.F, xp, x3 + c + L);
                IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                FloatVector we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                FloatVector wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a00 = wo.fma(xd0, we.fma(xe0, a00));
                a01 = wo.fma(xd1, we.fma(xe1, a01));
                a02 = wo.fma(xd2, we.fma(xe2, a02));
                a03 = wo.fma(xd3, we.fma(xe3, a03));
                v = IntVector.fromMemorySegment(Kernels.I, data, b1 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a10 = wo.fma(xd0, we.fma(xe0, a10));
                a11 = wo.fma(xd1, we.fma(xe1, a11));
                a12 = wo.fma(xd2, we.fma(xe2, a12));
                a13 = wo.fma(xd3, we.fma(xe3, a13));
                v = IntVector.fromMemorySegment(Kernels.I, data, b2 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a20 = wo.fma(xd0, we.fma(xe0, a20));
                a21 = wo.fma(xd1, we.fma(xe1, a21));
                a22 = wo.fma(xd2, we.fma(xe2, a22));
                a23 = wo.fma(xd3, we.fma(xe3, a23));
                v = IntVector.fromMemorySegment(Kernels.I, data, b3 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a30 = wo.fma(xd0, we.fma(xe0, a30));
                a31 = wo.fma(xd1, we.fma(xe1, a31));
                a32 = wo.fma(xd2, we.fma(xe2, a32));
                a33 = wo.fma(xd3, we.fma(xe3, a33));
            }
        }
        final int L16 = Kernels.L;
        a00.intoArray(sums, 0);
        a10.intoArray(sums, 0 + L16);
        a20.intoArray(sums, 0 + 2 * L16);
        a30.intoArray(sums, 0 + 3 * L16);
        a01.intoArray(sums, 0 + 4 * L16);
        a11.intoArray(sums, 0 + 5 * L16);
        a21.intoArray(sums, 0 + 6 * L16);
        a31.intoArray(sums, 0 + 7 * L16);
        a02.intoArray(sums, 0 + 8 * L16);
        a12.intoArray(sums, 0 + 9 * L16);
        a22.intoArray(sums, 0 + 10 * L16);
        a32.intoArray(sums, 0 + 11 * L16);
        a03.intoArray(sums, 0 + 12 * L16);
        a13.intoArray(sums, 0 + 13 * L16);
        a23.intoArray(sums, 0 + 14 * L16);
        a33.intoArray(sums, 0 + 15 * L16);
        VectorMath.sum16(sums, 0, sums, 16 * L16);
        store4x4(sums, 16 * L16, xp, y, r, q, t, 4, full);
    }

    /**
     * Rows {@code r, r + q, r + 2q, r + 3q} by tokens {@code t .. t+2}: {@link #rows4tokens4} without its fourth token
     * (twelve accumulators, each fed as there, the same lane sums and tails, so the same bits). Three users' decode step
     * took {@link #rows4tokens2} and {@link #rows4token1}, widening every weight twice. Measured (`QuickMatrixRates bf16
     * SHAPE 3 1`, Intel Xeon host, G products/s, alternated): [4864x896] 22.2-22.3 -> 34.7-35.5, [16384x4096] 18.2-18.9 ->
     * 23.5. Not measured on an AVX2 host, where its twelve accumulators cannot all stay in the 16 registers (nor can
     * {@link #rows4tokens4}'s sixteen, which every host takes).
     */
    private void rows4tokens3(float[] xp, float[] y, int r, int q, int t, float[] sums) {
        final MemorySegment data = NativeMemory.typed(this.data);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols;
        FloatVector a00 = FloatVector.zero(Kernels.F), a01 = FloatVector.zero(Kernels.F);
        FloatVector a10 = FloatVector.zero(Kernels.F), a11 = FloatVector.zero(Kernels.F);
        FloatVector a20 = FloatVector.zero(Kernels.F), a21 = FloatVector.zero(Kernels.F);
        FloatVector a30 = FloatVector.zero(Kernels.F), a31 = FloatVector.zero(Kernels.F);
        FloatVector a02 = FloatVector.zero(Kernels.F), a12 = FloatVector.zero(Kernels.F);
        FloatVector a22 = FloatVector.zero(Kernels.F), a32 = FloatVector.zero(Kernels.F);
        for (int pc = 0; pc < full; pc += PANEL) {
            final int pe = panelEnd(pc, full);
            final long stride = q * pitch(pc);
            final long b0 = base(r, pc), b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
            for (int c = pc; c < pe; c += B) {
                FloatVector xe0 = FloatVector.fromArray(Kernels.F, xp, x0 + c);
                FloatVector xd0 = FloatVector.fromArray(Kernels.F, xp, x0 + c + L);
                FloatVector xe1 = FloatVector.fromArray(Kernels.F, xp, x1 + c);
                FloatVector xd1 = FloatVector.fromArray(Kernels.F, xp, x1 + c + L);
                FloatVector xe2 = FloatVector.fromArray(Kernels.F, xp, x2 + c);
                FloatVector xd2 = FloatVector.fromArray(Kernels.F, xp, x2 + c + L);
                IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                FloatVector we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                FloatVector wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a00 = wo.fma(xd0, we.fma(xe0, a00));
                a01 = wo.fma(xd1, we.fma(xe1, a01));
                a02 = wo.fma(xd2, we.fma(xe2, a02));
                v = IntVector.fromMemorySegment(Kernels.I, data, b1 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a10 = wo.fma(xd0, we.fma(xe0, a10));
                a11 = wo.fma(xd1, we.fma(xe1, a11));
                a12 = wo.fma(xd2, we.fma(xe2, a12));
                v = IntVector.fromMemorySegment(Kernels.I, data, b2 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a20 = wo.fma(xd0, we.fma(xe0, a20));
                a21 = wo.fma(xd1, we.fma(xe1, a21));
                a22 = wo.fma(xd2, we.fma(xe2, a22));
                v = IntVector.fromMemorySegment(Kernels.I, data, b3 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a30 = wo.fma(xd0, we.fma(xe0, a30));
                a31 = wo.fma(xd1, we.fma(xe1, a31));
                a32 = wo.fma(xd2, we.fma(xe2, a32));
            }
        }
        final int L16 = Kernels.L;
        a00.intoArray(sums, 0);
        a10.intoArray(sums, 0 + L16);
        a20.intoArray(sums, 0 + 2 * L16);
        a30.intoArray(sums, 0 + 3 * L16);
        a01.intoArray(sums, 0 + 4 * L16);
        a11.intoArray(sums, 0 + 5 * L16);
        a21.intoArray(sums, 0 + 6 * L16);
        a31.intoArray(sums, 0 + 7 * L16);
        a02.intoArray(sums, 0 + 8 * L16);
        a12.intoArray(sums, 0 + 9 * L16);
        a22.intoArray(sums, 0 + 10 * L16);
        a32.intoArray(sums, 0 + 11 * L16);
        FloatVector.zero(Kernels.F).intoArray(sums, 12 * L16); // no fourth token: zeros for its lane sums
        FloatVector.zero(Kernels.F).intoArray(sums, 13 * L16); // no fourth token: zeros for its lane sums
        FloatVector.zero(Kernels.F).intoArray(sums, 14 * L16); // no fourth token: zeros for its lane sums
        FloatVector.zero(Kernels.F).intoArray(sums, 15 * L16); // no fourth token: zeros for its lane sums
        VectorMath.sum16(sums, 0, sums, 16 * L16);
        store4x4(sums, 16 * L16, xp, y, r, q, t, 3, full);
    }

    /**
     * Decode history. First two neighbouring rows per pass, two FMA chains. Four neighbouring rows per pass
     * (the kernel the batched paths use for leftover tokens) read DRAM more slowly on the Intel host when rows
     * are short: on a [557056 x 896] matrix, 8.4-8.5 GB/s against 8.7-9.1 with two rows, and Qwen2.5-0.5B-shape
     * decode went from 6.3-8.0 to 8.1-8.6 tok/s on one thread and 12.7-13.8 to 13.1-14.6 on two (Llama-1B
     * shape: unchanged). One row per pass is slower again on long rows (one FMA chain: latency-bound).
     */
    /**
     * One token: rows {@code r0 + i} and {@code r0 + h + i} ({@code h} half the range) go through the two-row kernel
     * together, so the pass reads two long sequential streams, each continuing where the previous pair left off,
     * rather than two rows next to each other, whose second stream starts cold at every pair: with 896-column rows
     * that restart came every 1.8 KB. Same arithmetic per row (each row is one accumulator in column order), so
     * the bits do not change. Measured (`QuickMatrixRates bf16 SHAPE 1`, one JVM alternating the two orders, GB/s):
     * [151936 x 896] 9.6-9.7 -> 10.7-10.9 on one thread, 18.5-18.8 -> 20.7-21.2 on two; [4864 x 896] 19.9-20.3 ->
     * 21.1-22.0; [896 x 4864] 24.3-24.9 -> 25.1-25.4. End to end, qwen2.5-0.5b tg128: 8.0-8.6 -> 9.1-9.5 tok/s on one
     * thread, 16.8-17.9 -> 17.9-19.4 on two.
     *
     * <p>Since then the pass takes four rows, {@code r0 + i + k q} ({@code q} a quarter of the range): four long
     * streams and four FMA chains. Two chains left the kernel bound by FMA latency where a thread gets more
     * bandwidth than it can compute on (AMD EPYC host: 10.6 G weights/s in L2 with two chains, 14.7 with four).
     * Same arithmetic per row, same bits. Measured there (one build, a temporary switch alternating, GB/s):
     * [151936 x 896] 14.4-15.2 -> 19.0-19.7 on one thread, 20.7-22.3 -> 26.9-32.1 on two; [4864 x 896] 20.7-20.8 ->
     * 23.3-25.7 and 37.1-42.2 -> 48.0-52.6; [896 x 4864] 23.1-23.3 -> 31.4 and 41.2-42.8 -> 48.8-52.2. End to end,
     * qwen2.5-0.5b tg64 on one thread 12.1-13.3 -> 14.3-14.5 tok/s, on two (bound by memory) 21.9-23.3 -> 23.0-23.8.
     */
    private void decode(float[] xp, float[] y, int r0, int r1, float[] acc) {
        int q = (r1 - r0) / 4;
        for (int i = 0; i < q; i++) {
            rows4token1(xp, y, r0 + i, q, 0, acc, 0);
        }
        int r = r0 + 4 * q;
        for (; r + 1 < r1; r += 2) {
            rows2token1(xp, y, r, r + 1, 0);
        }
        if (r < r1) {
            row1token1(xp, y, r, 0);
        }
    }

    /*
     * Many tokens (a prompt): widening costs two integer operations per weight vector on the same ports as
     * the FMAs, so five rows are widened once into a per-thread float tile (exactly the values the
     * in-register path produces, in the same even/odd block order) and a 5-row x 4-token micro-kernel
     * (20 accumulators) runs on plain float loads: 18 loads per 40 FMAs. Both operands are interleaved per
     * block ({@code [block][row or token][even|odd][L]}) so each is one sequential stream the prefetchers
     * follow, and the 16 lane sums run as one transposed reduction. Same arithmetic, same bits.
     */
    /**
     * Up to this many tokens (the decode step of up to 32 users, where every weight comes from memory for few
     * FMAs) each thread's five-row tiles take rows {@code r + k q} ({@code k = 0..4}, {@code q} a fifth of its range)
     * instead of five neighbours: five long sequential streams, as {@link #decode} does with two, which the hardware
     * prefetchers follow without the explicit fetching the neighbour layout needs. Same arithmetic per row, so the
     * same bits. Measured (`QuickMatrixRates bf16 SHAPE 16`, one JVM alternating, wall G weights/s): [151936 x 896]
     * 31.2 -> 33.2-35.0 on one thread, 56.6-62.3 -> 70.5-72.5 on two; [4864 x 896] 34.7-37.0 -> 38.5-39.7 and
     * 54.6-61.9 -> 65.9-70.8; [896 x 4864] 39.3-39.6 -> 42.1-43.6 and 74.1-77.5 -> 84.3-89.1. Prompts keep the
     * neighbours: with 512 tokens the scattered output rows cost more (4864 x 896 on one thread: 41-42 -> 37-39).
     */
    private static final int SPLIT_MAX_TOKENS = 32;

    private void computeWidened(float[] xp, int n, int grouped, float[] y, int r0, int r1, float[] buf) {
        final int L = Kernels.L;
        final int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
        final int packed = FloatTiles.aligned(n * cols); // where the 4-token panels start in xp (aligned: FloatTiles#TILE_AT)
        final boolean panels = panelsOnly(n, grouped);
        final int chunk = chunkColumns(full);   // columns of the widened tile at a time
        final int block = tokenBlock(n);
        final int accs = FloatTiles.TILE_AT + TILE_ROWS * chunk; // accumulators carried from one column chunk to the next, after the tile
        final int group = TILE_ROWS * 4 * L;    // floats of one token group's accumulators
        final int sums = accs + block / 4 * group; // the last chunk's accumulators and their lane sums
        final long tmax = data.byteSize() - 1;
        if (NATIVE && n <= SPLIT_MAX_TOKENS && full > 0 && block >= n && grouped >= 4) {
            computeNative(xp, n, grouped, y, r0, r1, buf);
            return;
        }
        if (NATIVE && n > SPLIT_MAX_TOKENS && full > 0) {
            computeNativePrompt(xp, n, grouped, y, r0, r1, buf);
            return;
        }
        for (int t0 = 0; t0 < n; t0 += block) {
            int t1 = Math.min(n, t0 + block);
            int g1 = Math.min(grouped, t0 + block); // end of the 4-token groups; tokens g1 .. t1-1 (none if padded) take a one-row path
            final boolean split = n <= SPLIT_MAX_TOKENS;
            final int tiles = (r1 - r0) / TILE_ROWS;
            final int q = split ? tiles : 1; // rows r, r + q, .., r + 4q form a tile
            for (int i = 0; i < tiles; i++) {
                final int r = split ? r0 + i : r0 + i * TILE_ROWS;
                int c0 = 0;
                do { // at least once: rows shorter than one block still get their tails and stores
                    int c1 = Math.min(panelEnd(c0, full), c0 + chunk); // a chunk stays in one panel
                    for (int t = t0; t + 4 <= g1; t += 4) {
                        int acc = accs + (t - t0) / 4 * group;
                        if (t == t0) { // the first group widens the rows as it goes, so reading them overlaps its FMAs
                            if (FloatTiles.SPLIT) {
                                float[] init = c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf;
                                int io = c0 == 0 ? 0 : acc, out = c1 == full ? sums : acc;
                                widenRows2tokens4(r, q, 0, buf, c0, c1, xp, packed + t * full, init, io, out);
                                widenRows2tokens4(r, q, 2, buf, c0, c1, xp, packed + t * full, init, io, out);
                                widenRow4tokens4(r, q, buf, c0, c1, xp, packed + t * full, init, io, out);
                            } else {
                                widenTile5tokens4(r, q, buf, c0, c1, xp, packed + t * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf,
                                        c0 == 0 ? 0 : acc, c1 == full ? sums : acc);
                            }
                            if (split && g1 - t0 > 4 && chunk == full && PREFETCH && i + 1 < tiles) {
                                // the groups after this one run from the tile: meanwhile, fetch the rows the next tile widens
                                CachePrefetch.rows(data.address() + base(r + 1, 0), full * 2L, TILE_ROWS, q * pitch(0));
                            }
                        } else {
                            // Groups 1..3 fetch the rows the next first group widens (FloatTiles#tile5tokens4Fetching).
                            int g = (t - t0) / 4;
                            long next = c1 < full ? base(r, c1) + c1 * 2L : base(r + TILE_ROWS, 0);
                            long stride = pitch(c1 < full ? c1 : 0);
                            long ta = 0, tb = 0, ts = 0;
                            if (g <= 3 && chunk == full) { // whole rows: the next five rows are one range
                                ta = next + (long) (g - 1) * ((c1 - c0) / Kernels.PAIR_BLOCK) * 128;
                                tb = ta + 64;
                                ts = 128;
                            } else if (g <= 3) { // the next chunk's five row segments, two per group
                                ta = next + Math.min(2 * g - 2, TILE_ROWS - 1) * stride;
                                tb = next + Math.min(2 * g - 1, TILE_ROWS - 1) * stride;
                                ts = 2L * Kernels.PAIR_BLOCK;
                            }
                            if (g <= 3 && !split && FloatTiles.FETCH_AHEAD) {
                                FloatTiles.tile5tokens4Fetching(buf, c0, c1, xp, packed + t * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf,
                                        c0 == 0 ? 0 : acc, c1 == full ? sums : acc, data, ta, tb, ts, tmax);
                            } else {
                                FloatTiles.tile5tokens4(buf, c0, c1, xp, packed + t * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf, c0 == 0 ? 0 : acc,
                                        c1 == full ? sums : acc);
                            }
                        }
                        if (c1 == full) {
                            finish5x4(buf, sums, xp, y, r, q, t, Math.min(4, n - t), full);
                        }
                    }
                    c0 = c1;
                } while (c0 < full);
                for (int t = g1; t < t1; t++) {
                    rows4token1(xp, y, r, q, t, buf, sums); // same arithmetic, weights read again (the lane sums' room is free here)
                    row1token1(xp, y, r + 4 * q, t);
                }
            }
            for (int r = r0 + TILE_ROWS * tiles; r < r1; r++) {
                for (int t = t0; t < t1; t++) {
                    row1token1(xp, y, r, t, tokenAt(t, panels, packed), panels ? 4 : 1);
                }
            }
        }
    }

    /**
     * The few-token pass in machine code ({@link NativeKernels#bf16Tiles}), all tokens in one block. The same tiles (rows
     * {@code r, r + q, .., r + 4q}), column chunks and FMAs per (row, token) in the same order as the Java pass below,
     * with the rows it takes next prefetched inside the loops; the lane sums come back and the tails and stores are done
     * here, as {@link #finish5x4} does them. A token past the last group of four and the last {@code rows % 5} rows take
     * the Java one-row kernels, as in the Java pass.
     */
    private void computeNative(float[] xp, int n, int grouped, float[] y, int r0, int r1, float[] buf) {
        final int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
        final int chunk = chunkColumns(full);
        final int packed = FloatTiles.aligned(n * cols);
        final int groups = grouped / 4;
        final int tiles = (r1 - r0) / TILE_ROWS;
        final long[] chunks = nativeChunks();
        final int nchunks = chunks.length / 4;
        // buf: the widened chunk, the accumulators between chunks, the sums of a run, the one-token kernels' room
        final int ao = 5 * chunk, so = ao + groups * TILE_ROWS * 4 * Kernels.L, room = so + 20 * NATIVE_RUN * groups;
        final boolean direct = full == cols; // no tail columns: the machine code stores the outputs itself
        final int ytokens = direct ? Math.min(n, grouped) : 0;
        for (int i = 0; i < tiles; i += NATIVE_RUN) {
            int run = Math.min(NATIVE_RUN, tiles - i);
            NativeKernels.bf16Tiles(data, chunks, nchunks, r0 + i, run, 1, tiles, groups, xp, packed, full, buf, 0, ao, so, y, 0, rows, ytokens);
            for (int k = 0; k < run; k++) {
                int r = r0 + i + k;
                for (int g = 0; g < groups && !direct; g++) {
                    store5x4(buf, so + 20 * (k * groups + g), xp, y, r, tiles, 4 * g, Math.min(4, n - 4 * g), full);
                }
                for (int t = grouped; t < n; t++) {
                    rows4token1(xp, y, r, tiles, t, buf, room);
                    row1token1(xp, y, r + 4 * tiles, t);
                }
            }
        }
        final boolean panels = panelsOnly(n, grouped);
        for (int r = r0 + TILE_ROWS * tiles; r < r1; r++) {
            for (int t = 0; t < n; t++) {
                row1token1(xp, y, r, t, tokenAt(t, panels, packed), panels ? 4 : 1);
            }
        }
    }

    /**
     * The prompt pass ({@link #SPLIT_MAX_TOKENS} tokens and more) in machine code: the Java pass's tiles of five
     * neighbouring rows, token blocks ({@link FloatTiles#tokenBlock}: a block's activations stay in L2) and column chunks,
     * each (row, token) summed in the same order, so the same bits; a token past a block's last group of four and the
     * last {@code rows % 5} rows take the Java one-row kernels, as there. The Java pass runs each token group through its
     * own call into a micro-kernel; here a call takes a run of tiles for all the groups of a block, with the rows taken
     * next prefetched inside the loops.
     */
    private void computeNativePrompt(float[] xp, int n, int grouped, float[] y, int r0, int r1, float[] buf) {
        final int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
        final int chunk = chunkColumns(full);
        final int packed = FloatTiles.aligned(n * cols);
        final int block = tokenBlock(n);
        final int tiles = (r1 - r0) / TILE_ROWS;
        final long[] chunks = nativeChunks();
        final int nchunks = chunks.length / 4;
        for (int t0 = 0; t0 < n; t0 += block) {
            final int t1 = Math.min(n, t0 + block);
            final int groups = (Math.min(grouped, t0 + block) - t0) / 4; // tokens after them (none if padded) take the one-row path
            final int g1 = t0 + 4 * groups;
            // buf: the widened chunk, the accumulators between chunks, the sums of a run, the one-token kernels' room
            final int ao = 5 * chunk, so = ao + groups * TILE_ROWS * 4 * Kernels.L, room = so + 20 * NATIVE_RUN * groups;
            final boolean direct = full == cols; // no tail columns: the machine code stores the outputs itself
            for (int i = 0; i < tiles; i += NATIVE_RUN) {
                int run = Math.min(NATIVE_RUN, tiles - i);
                if (groups > 0) {
                    NativeKernels.bf16Tiles(data, chunks, nchunks, r0 + TILE_ROWS * i, run, TILE_ROWS, 1, groups, xp, packed + t0 * full, full,
                            buf, 0, ao, so, y, t0 * rows, rows, direct ? Math.min(4 * groups, n - t0) : 0);
                }
                for (int k = 0; k < run; k++) {
                    int r = r0 + TILE_ROWS * (i + k);
                    for (int g = 0; g < groups && !direct; g++) {
                        store5x4(buf, so + 20 * (k * groups + g), xp, y, r, 1, t0 + 4 * g, Math.min(4, n - t0 - 4 * g), full);
                    }
                    for (int t = g1; t < t1; t++) {
                        rows4token1(xp, y, r, 1, t, buf, room);
                        row1token1(xp, y, r + 4, t);
                    }
                }
            }
        }
        final boolean panels = panelsOnly(n, grouped);
        for (int r = r0 + TILE_ROWS * tiles; r < r1; r++) {
            for (int t = 0; t < n; t++) {
                row1token1(xp, y, r, t, tokenAt(t, panels, packed), panels ? 4 : 1);
            }
        }
    }

    private long[] nativeChunks; // the machine code's column chunks of this matrix, made on first use

    /** The column chunks as {@link NativeKernels#bf16Tiles} takes them: {offset, pitch, blocks, first column} each. */
    private long[] nativeChunks() {
        long[] chunks = nativeChunks;
        if (chunks == null) {
            final int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
            final int chunk = chunkColumns(full);
            chunks = new long[4 * ((full + chunk - 1) / chunk + full / PANEL + 1)]; // a chunk never crosses a panel's end
            int nchunks = 0;
            for (int c0 = 0; c0 < full; nchunks++) {
                int c1 = Math.min(panelEnd(c0, full), c0 + chunk);
                chunks[4 * nchunks] = base(0, c0) + 2L * c0;
                chunks[4 * nchunks + 1] = pitch(c0);
                chunks[4 * nchunks + 2] = (c1 - c0) / Kernels.PAIR_BLOCK;
                chunks[4 * nchunks + 3] = c0;
                c0 = c1;
            }
            chunks = java.util.Arrays.copyOf(chunks, 4 * nchunks);
            nativeChunks = chunks; // a race makes the same array twice
        }
        return chunks;
    }

    /**
     * From this many tokens the activations are reordered and packed over the threads, the few-token pass included: on
     * one thread the copy was 2% of a 16-user step's samples (JFR) while the other thread waited. `bench -p 16 -n 64 -s 16
     * -t 2` (the AMD EPYC Zen 4 host, forty-ninth session), from 64 against from 8 tokens, three alternated rounds: 141.6 /
     * 145.6 / 173.1 against 155.4 / 155.9 / 171.6 tok/s. (Other weight types keep {@link Kernels#PARALLEL_PACK_TOKENS}.)
     */
    private static final int PACK_PARALLEL_FROM = 8;

    /**
     * Tiles per call of the machine code: the sums of a run (20 floats a tile and group) fit where the Java pass keeps
     * its accumulators, and a call stays short (tens of microseconds).
     */
    private static final int NATIVE_RUN = 16;

    /**
     * Whether the few-token pass runs in machine code ({@link NativeKernels}; {@code -Dredhare.nativeKernels=false}
     * turns it off with the others).
     */
    private static final boolean NATIVE = NativeKernels.available() && !FloatTiles.SPLIT;

    /**
     * Whether the few-token pass ({@link #SPLIT_MAX_TOKENS}) prefetches ({@link CachePrefetch}) the five rows the next
     * tile widens, right after this tile's first group, so that they arrive while the groups after it run from the
     * widened tile. Same arithmetic, same bits: only when bytes arrive changes. Measured on the AMD EPYC Zen 5 host
     * (docs/PERFORMANCE.md, forty-seventh session), one build with {@code -Dredhare.prefetchTiles=false|true}
     * alternated: a probe of the first group over 512 MB of rows, one thread, 22-27 -> 42-50 G multiply-adds/s;
     * {@code bench -p 16 -n 64 -s 16 -t 2} ahead in eight of nine pairs, +5.7% in the median pair; two-thread
     * {@code ManyMatrixRates} within the host's noise. Rows widened in column chunks ({@link FloatTiles#chunkColumns}: the
     * [896 x 4864] down projection) do not prefetch: fetching the next chunk there was level or slower in four rounds, since it
     * continues streams the hardware already follows. All five rows at once rather than a row before each later group:
     * spread that way it was no better (mixed, within the noise). System property {@code redhare.prefetchTiles=false}
     * turns it off, for measuring.
     */
    private static final boolean PREFETCH = CachePrefetch.available() && Boolean.parseBoolean(System.getProperty("redhare.prefetchTiles", "true"));

    /** Rows per widened tile of the prompt kernel: the row grain is a multiple of this, so only a matrix's last rows ({@code rows % 5}) take the one-row kernel. */
    private static final int TILE_ROWS = FloatTiles.ROWS;

    private static int chunkColumns(int full) {
        return FloatTiles.chunkColumns(full);
    }

    private int tokenBlock(int n) {
        return FloatTiles.tokenBlock(n, cols);
    }

    /**
     * {@link FloatTiles#tile5tokens4} for the first token group of a row group, with the weights widened from
     * memory in registers on the way and stored into {@code tile} ({@code [block][row 0..4][L even | L odd]})
     * for the groups after it: the same FMAs in the same order, but the row reads overlap this group's
     * arithmetic instead of running as a burst of their own (a separate widening pass measured 8% of a pp512
     * profile, mostly waiting on memory). Tokens past the last group of four read the weights themselves.
     */
    private void widenTile5tokens4(int r, int rq, float[] tile, int c0, int c1, float[] xp, int xq, float[] init, int io, int out) {
        final MemorySegment data = NativeMemory.typed(this.data);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final long stride = rq * pitch(c0);
        final long b0 = base(r, c0) + c0 * 2L, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride, b4 = b3 + stride;
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
        for (int p = FloatTiles.TILE_AT, q = xq + 4 * c0, m = 0; p < FloatTiles.TILE_AT + end; p += 5 * B, q += 4 * B, m += 2 * B) {
            FloatVector xe0 = FloatVector.fromArray(Kernels.F, xp, q);
            FloatVector xd0 = FloatVector.fromArray(Kernels.F, xp, q + L);
            FloatVector xe1 = FloatVector.fromArray(Kernels.F, xp, q + B);
            FloatVector xd1 = FloatVector.fromArray(Kernels.F, xp, q + B + L);
            FloatVector xe2 = FloatVector.fromArray(Kernels.F, xp, q + 2 * B);
            FloatVector xd2 = FloatVector.fromArray(Kernels.F, xp, q + 2 * B + L);
            FloatVector xe3 = FloatVector.fromArray(Kernels.F, xp, q + 3 * B);
            FloatVector xd3 = FloatVector.fromArray(Kernels.F, xp, q + 3 * B + L);
            IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b0 + m, ByteOrder.LITTLE_ENDIAN);
            FloatVector we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo = v.and(0xFFFF0000).reinterpretAsFloats();
            we.intoArray(tile, p);
            wo.intoArray(tile, p + L);
            a00 = wo.fma(xd0, we.fma(xe0, a00));
            a01 = wo.fma(xd1, we.fma(xe1, a01));
            a02 = wo.fma(xd2, we.fma(xe2, a02));
            a03 = wo.fma(xd3, we.fma(xe3, a03));
            v = IntVector.fromMemorySegment(Kernels.I, data, b1 + m, ByteOrder.LITTLE_ENDIAN);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(0xFFFF0000).reinterpretAsFloats();
            we.intoArray(tile, p + B);
            wo.intoArray(tile, p + B + L);
            a10 = wo.fma(xd0, we.fma(xe0, a10));
            a11 = wo.fma(xd1, we.fma(xe1, a11));
            a12 = wo.fma(xd2, we.fma(xe2, a12));
            a13 = wo.fma(xd3, we.fma(xe3, a13));
            v = IntVector.fromMemorySegment(Kernels.I, data, b2 + m, ByteOrder.LITTLE_ENDIAN);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(0xFFFF0000).reinterpretAsFloats();
            we.intoArray(tile, p + 2 * B);
            wo.intoArray(tile, p + 2 * B + L);
            a20 = wo.fma(xd0, we.fma(xe0, a20));
            a21 = wo.fma(xd1, we.fma(xe1, a21));
            a22 = wo.fma(xd2, we.fma(xe2, a22));
            a23 = wo.fma(xd3, we.fma(xe3, a23));
            v = IntVector.fromMemorySegment(Kernels.I, data, b3 + m, ByteOrder.LITTLE_ENDIAN);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(0xFFFF0000).reinterpretAsFloats();
            we.intoArray(tile, p + 3 * B);
            wo.intoArray(tile, p + 3 * B + L);
            a30 = wo.fma(xd0, we.fma(xe0, a30));
            a31 = wo.fma(xd1, we.fma(xe1, a31));
            a32 = wo.fma(xd2, we.fma(xe2, a32));
            a33 = wo.fma(xd3, we.fma(xe3, a33));
            v = IntVector.fromMemorySegment(Kernels.I, data, b4 + m, ByteOrder.LITTLE_ENDIAN);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(0xFFFF0000).reinterpretAsFloats();
            we.intoArray(tile, p + 4 * B);
            wo.intoArray(tile, p + 4 * B + L);
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
     * Rows {@code i} and {@code i + 1} ({@code i} 0 or 2) of {@link #widenTile5tokens4}, for 16 vector registers
     * ({@link FloatTiles#SPLIT}): 8 accumulators, 4 weight and 2 activation registers. The five-row body keeps 30
     * vectors live, and on AVX2 C2 spilled most of its accumulators: in a 16-token pass over [4864 x 896] that first
     * token group took as long as the three after it together (JFR). Three passes (rows 0-1, 2-3, then
     * {@link #widenRow4tokens4}) read each activation vector three times instead of once, and the same FMAs in the same
     * order per accumulator, so the bits are unchanged. The first two passes used to touch the rows the later ones widen
     * (without the touches the LM head's [151936 x 896] from DRAM lost 4% then); since the loops are indexed by the block
     * count alone (with p, q and m stepped beside the counter C2 left range checks and stack reloads in the loop) the
     * touches are gone and nothing was lost (16 tokens, two threads: LM head 50.6-51.6 -> 51.2-53.0, [896 x 4864]
     * 54.5-59.4 -> 57.9-60.1; [4864 x 896] on one thread and 32 tokens on two level).
     * Measured (`QuickMatrixRates bf16 SHAPE N THREADS`, G products/s, one build with a temporary switch): [4864 x 896]
     * 8 tokens 16.8 -> 22.5, 16 tokens 21.3-21.7 -> 25.0-25.6 (two threads 48.6 -> 50.7-51.1), 32 tokens 24.6 -> 25.8-26.9,
     * 512 unchanged (28.0-28.5); [896 x 4864] 16 tokens 20.7 -> 24.6-24.9; [151936 x 896] 16 tokens 22.9-23.1 -> 22.7.
     */
    private void widenRows2tokens4(int r, int rq, int i, float[] tile, int c0, int c1, float[] xp, int xq, float[] init, int io, int out) {
        final MemorySegment data = NativeMemory.typed(this.data);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final long stride = rq * pitch(c0);
        final long ba = base(r, c0) + c0 * 2L + i * stride, bb = ba + stride;
        final int ta = i * FloatTiles.ROW_STEP, tb = ta + FloatTiles.ROW_STEP; // the rows' places in a block of the tile
        final int hs = FloatTiles.HALF_STEP, xs = FloatTiles.XHALF_STEP, ts = FloatTiles.TOKEN_STEP;
        FloatVector a0 = FloatVector.fromArray(Kernels.F, init, io + i * L), b0 = FloatVector.fromArray(Kernels.F, init, io + (i + 1) * L);
        FloatVector a1 = FloatVector.fromArray(Kernels.F, init, io + (4 + i) * L), b1 = FloatVector.fromArray(Kernels.F, init, io + (5 + i) * L);
        FloatVector a2 = FloatVector.fromArray(Kernels.F, init, io + (8 + i) * L), b2 = FloatVector.fromArray(Kernels.F, init, io + (9 + i) * L);
        FloatVector a3 = FloatVector.fromArray(Kernels.F, init, io + (12 + i) * L), b3 = FloatVector.fromArray(Kernels.F, init, io + (13 + i) * L);
        final int nb = (c1 - c0) / B;
        final int q0 = xq + 4 * c0;
        for (int k = 0; k < nb; k++) { // indexes from k alone: with p, q and m stepped beside it C2 left range checks in the loop
            final int p = FloatTiles.TILE_AT + 5 * B * k, q = q0 + 4 * B * k;
            final long m = 2L * B * k;
            IntVector v = IntVector.fromMemorySegment(Kernels.I, data, ba + m, ByteOrder.LITTLE_ENDIAN);
            FloatVector wea = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector woa = v.and(0xFFFF0000).reinterpretAsFloats();
            wea.intoArray(tile, p + ta);
            woa.intoArray(tile, p + ta + hs);
            v = IntVector.fromMemorySegment(Kernels.I, data, bb + m, ByteOrder.LITTLE_ENDIAN);
            FloatVector web = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wob = v.and(0xFFFF0000).reinterpretAsFloats();
            web.intoArray(tile, p + tb);
            wob.intoArray(tile, p + tb + hs);
            FloatVector xe = FloatVector.fromArray(Kernels.F, xp, q), xo = FloatVector.fromArray(Kernels.F, xp, q + xs);
            a0 = woa.fma(xo, wea.fma(xe, a0));
            b0 = wob.fma(xo, web.fma(xe, b0));
            xe = FloatVector.fromArray(Kernels.F, xp, q + ts);
            xo = FloatVector.fromArray(Kernels.F, xp, q + ts + xs);
            a1 = woa.fma(xo, wea.fma(xe, a1));
            b1 = wob.fma(xo, web.fma(xe, b1));
            xe = FloatVector.fromArray(Kernels.F, xp, q + 2 * ts);
            xo = FloatVector.fromArray(Kernels.F, xp, q + 2 * ts + xs);
            a2 = woa.fma(xo, wea.fma(xe, a2));
            b2 = wob.fma(xo, web.fma(xe, b2));
            xe = FloatVector.fromArray(Kernels.F, xp, q + 3 * ts);
            xo = FloatVector.fromArray(Kernels.F, xp, q + 3 * ts + xs);
            a3 = woa.fma(xo, wea.fma(xe, a3));
            b3 = wob.fma(xo, web.fma(xe, b3));
        }
        a0.intoArray(tile, out + i * L);
        b0.intoArray(tile, out + (i + 1) * L);
        a1.intoArray(tile, out + (4 + i) * L);
        b1.intoArray(tile, out + (5 + i) * L);
        a2.intoArray(tile, out + (8 + i) * L);
        b2.intoArray(tile, out + (9 + i) * L);
        a3.intoArray(tile, out + (12 + i) * L);
        b3.intoArray(tile, out + (13 + i) * L);
    }

    /** Row 4 of {@link #widenTile5tokens4}, after {@link #widenRows2tokens4} for rows 0-1 and 2-3. */
    private void widenRow4tokens4(int r, int rq, float[] tile, int c0, int c1, float[] xp, int xq, float[] init, int io, int out) {
        final MemorySegment data = NativeMemory.typed(this.data);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final long b4 = base(r, c0) + c0 * 2L + 4 * rq * pitch(c0);
        final int rs = FloatTiles.ROW_STEP, hs = FloatTiles.HALF_STEP, xs = FloatTiles.XHALF_STEP, ts = FloatTiles.TOKEN_STEP;
        FloatVector a0 = FloatVector.fromArray(Kernels.F, init, io + 16 * L), a1 = FloatVector.fromArray(Kernels.F, init, io + 17 * L);
        FloatVector a2 = FloatVector.fromArray(Kernels.F, init, io + 18 * L), a3 = FloatVector.fromArray(Kernels.F, init, io + 19 * L);
        final int nb = (c1 - c0) / B;
        final int q0 = xq + 4 * c0;
        for (int k = 0; k < nb; k++) {
            final int p = FloatTiles.TILE_AT + 5 * B * k, q = q0 + 4 * B * k;
            IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b4 + 2L * B * k, ByteOrder.LITTLE_ENDIAN);
            FloatVector we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo = v.and(0xFFFF0000).reinterpretAsFloats();
            we.intoArray(tile, p + 4 * rs);
            wo.intoArray(tile, p + 4 * rs + hs);
            a0 = wo.fma(FloatVector.fromArray(Kernels.F, xp, q + xs), we.fma(FloatVector.fromArray(Kernels.F, xp, q), a0));
            a1 = wo.fma(FloatVector.fromArray(Kernels.F, xp, q + ts + xs), we.fma(FloatVector.fromArray(Kernels.F, xp, q + ts), a1));
            a2 = wo.fma(FloatVector.fromArray(Kernels.F, xp, q + 2 * ts + xs), we.fma(FloatVector.fromArray(Kernels.F, xp, q + 2 * ts), a2));
            a3 = wo.fma(FloatVector.fromArray(Kernels.F, xp, q + 3 * ts + xs), we.fma(FloatVector.fromArray(Kernels.F, xp, q + 3 * ts), a3));
        }
        a0.intoArray(tile, out + 16 * L);
        a1.intoArray(tile, out + 17 * L);
        a2.intoArray(tile, out + 18 * L);
        a3.intoArray(tile, out + 19 * L);
    }

    /** Lane sums and tails of a five-row tile's 20 accumulators stored at {@code buf[sums ...]}, into {@code y}. */
    private void finish5x4(float[] buf, int sums, float[] xp, float[] y, int r, int q, int t, int tokens, int full) {
        final int L = Kernels.L;
        VectorMath.sum16(buf, sums, buf, sums + 20 * L);
        store4x4(buf, sums + 20 * L, xp, y, r, q, t, tokens, full);
        final long b4 = tailBase(r + 4 * q);
        for (int j = 0; j < tokens; j++) {
            y[(t + j) * rows + r + 4 * q] = tail(b4, xp, (t + j) * cols, full, VectorMath.sum(buf, sums + (16 + j) * L));
        }
    }

    /** {@link #finish5x4} from the 20 lane sums at {@code buf[so ...]} (rows 0-3 token-major, then row 4's tokens). */
    private void store5x4(float[] buf, int so, float[] xp, float[] y, int r, int q, int t, int tokens, int full) {
        store4x4(buf, so, xp, y, r, q, t, tokens, full);
        final long b4 = tailBase(r + 4 * q);
        for (int j = 0; j < tokens; j++) {
            y[(t + j) * rows + r + 4 * q] = tail(b4, xp, (t + j) * cols, full, buf[so + 16 + j]);
        }
    }

    /**
     * Each row's tail columns added to the 16 lane sums at {@code buf[so ...]} (token by token: row i of
     * token j at {@code so + 4 * j + i}), into {@code y}.
     */
    /** The 16 lane sums at {@code buf[so ...]} (token-major) plus tails into rows {@code r, r + q, r + 2q, r + 3q}. */
    private void store4x4(float[] buf, int so, float[] xp, float[] y, int r, int q, int t, int tokens, int full) {
        final long stride = q * pitch(cols - 1);
        final long b0 = tailBase(r);
        if (full == cols) { // no tail columns (the usual case): skip the sixteen empty tail loops
            for (int j = 0; j < tokens; j++, so += 4) {
                int yo = (t + j) * rows + r;
                y[yo] = buf[so];
                y[yo + q] = buf[so + 1];
                y[yo + 2 * q] = buf[so + 2];
                y[yo + 3 * q] = buf[so + 3];
            }
            return;
        }
        for (int j = 0; j < tokens; j++, so += 4) {
            int yo = (t + j) * rows + r;
            int xo = (t + j) * cols;
            y[yo] = tail(b0, xp, xo, full, buf[so]);
            y[yo + q] = tail(b0 + stride, xp, xo, full, buf[so + 1]);
            y[yo + 2 * q] = tail(b0 + 2 * stride, xp, xo, full, buf[so + 2]);
            y[yo + 3 * q] = tail(b0 + 3 * stride, xp, xo, full, buf[so + 3]);
        }
    }

    /** Rows per pass of {@link #decodePanels}: their accumulators (64 bytes a row) stay in L1/L2 between panels. */
    private static final int PANEL_ROWS = 256;

    /**
     * One token on a matrix of several panels ({@link #PANEL}), panel by panel: for up to {@link #PANEL_ROWS} rows at
     * a time, each panel's part of those rows (one contiguous range of the panel) goes through {@link #panelRows4} as
     * {@link #decode} takes whole rows (rows {@code i + kq} together, four streams), each row's accumulator stored in
     * {@code acc} and reloaded for the next panel: exactly, so every row still takes its FMAs in column order and ends
     * with the same lane sum and tail, the bits of every other path. So a pass reads at most {@link #PANEL} activations
     * (8 KiB), which stay in L1 (the reason for the panels).
     */
    private void decodePanels(float[] xp, float[] y, int r0, int r1, float[] acc) {
        final int L = Kernels.L;
        final int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
        for (int a = r0; a < r1; a += PANEL_ROWS) {
            final int b = Math.min(r1, a + PANEL_ROWS);
            final int q = (b - a) / 4;
            for (int pc = 0; pc < full; pc += PANEL) {
                final int pe = panelEnd(pc, full);
                for (int i = 0; i < q; i++) {
                    panelRows4(xp, a + i, q, pc, pe, acc, i * L);
                }
            }
            for (int r = a; r < a + 4 * q; r++) {
                y[r] = tail(tailBase(r), xp, 0, full, VectorMath.sum(acc, (r - a) * L));
            }
            for (int r = a + 4 * q; r < b; r++) {
                row1token1(xp, y, r, 0);
            }
        }
    }

    /**
     * Columns {@code pc .. pe} (one panel's full blocks) of rows {@code r + kq} ({@code k = 0..3}), one token; row
     * {@code r + kq}'s accumulator at {@code acc[ao + kqL ..]}, zero when {@code pc} is 0, stored back after.
     */
    private void panelRows4(float[] xp, int r, int q, int pc, int pe, float[] acc, int ao) {
        final MemorySegment data = NativeMemory.typed(this.data);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final long stride = q * pitch(pc);
        final long b0 = base(r, pc), b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
        final int as = q * L;
        FloatVector a0, a1, a2, a3;
        if (pc == 0) {
            a0 = a1 = a2 = a3 = FloatVector.zero(Kernels.F);
        } else {
            a0 = FloatVector.fromArray(Kernels.F, acc, ao);
            a1 = FloatVector.fromArray(Kernels.F, acc, ao + as);
            a2 = FloatVector.fromArray(Kernels.F, acc, ao + 2 * as);
            a3 = FloatVector.fromArray(Kernels.F, acc, ao + 3 * as);
        }
        for (int c = pc; c < pe; c += B) {
            FloatVector xe = FloatVector.fromArray(Kernels.F, xp, c);
            FloatVector xd = FloatVector.fromArray(Kernels.F, xp, c + L);
            IntVector v0 = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(Kernels.I, data, b1 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(Kernels.I, data, b2 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(Kernels.I, data, b3 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            a0 = v0.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a0));
            a1 = v1.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a1));
            a2 = v2.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a2));
            a3 = v3.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a3));
        }
        a0.intoArray(acc, ao);
        a1.intoArray(acc, ao + as);
        a2.intoArray(acc, ao + 2 * as);
        a3.intoArray(acc, ao + 3 * as);
    }

    /**
     * Rows {@code r, r + q, r + 2q, r + 3q} by tokens {@code t, t + 1}: eight accumulators, each fed exactly as in
     * {@link #rows4token1}, so the same bits. Two users' decode step (and the pair after a group of four) used to take
     * {@link #rows4token1} once per token, the second pass re-reading the rows from cache and widening them again.
     * Its eight lane sums go through {@link VectorMath#sum16} (same bits as one {@code VectorMath.sum} each) with
     * zeros in the unused eight: eight separate sums made two tokens slower than four (`QuickMatrixRates bf16 4864x896
     * N 1`, Intel Xeon host: 437 us for 2 tokens, 428 for 4); now 348-356 us (19.9 -> 24.5-25.1 G products/s; from DRAM,
     * [16384x4096], unchanged at 15.4-16.7, the memory's pace).
     */
    private void rows4tokens2(float[] xp, float[] y, int r, int q, int t, float[] sums) {
        final MemorySegment data = NativeMemory.typed(this.data);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final int x0 = t * cols, x1 = x0 + cols;
        FloatVector a00 = FloatVector.zero(Kernels.F), a01 = FloatVector.zero(Kernels.F);
        FloatVector a10 = FloatVector.zero(Kernels.F), a11 = FloatVector.zero(Kernels.F);
        FloatVector a20 = FloatVector.zero(Kernels.F), a21 = FloatVector.zero(Kernels.F);
        FloatVector a30 = FloatVector.zero(Kernels.F), a31 = FloatVector.zero(Kernels.F);
        for (int pc = 0; pc < full; pc += PANEL) {
            final int pe = panelEnd(pc, full);
            final long stride = q * pitch(pc);
            final long b0 = base(r, pc), b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
            for (int c = pc; c < pe; c += B) {
                FloatVector xe0 = FloatVector.fromArray(Kernels.F, xp, x0 + c);
                FloatVector xd0 = FloatVector.fromArray(Kernels.F, xp, x0 + c + L);
                FloatVector xe1 = FloatVector.fromArray(Kernels.F, xp, x1 + c);
                FloatVector xd1 = FloatVector.fromArray(Kernels.F, xp, x1 + c + L);
                IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                FloatVector we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                FloatVector wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a00 = wo.fma(xd0, we.fma(xe0, a00));
                a01 = wo.fma(xd1, we.fma(xe1, a01));
                v = IntVector.fromMemorySegment(Kernels.I, data, b1 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a10 = wo.fma(xd0, we.fma(xe0, a10));
                a11 = wo.fma(xd1, we.fma(xe1, a11));
                v = IntVector.fromMemorySegment(Kernels.I, data, b2 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a20 = wo.fma(xd0, we.fma(xe0, a20));
                a21 = wo.fma(xd1, we.fma(xe1, a21));
                v = IntVector.fromMemorySegment(Kernels.I, data, b3 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                wo = v.and(0xFFFF0000).reinterpretAsFloats();
                a30 = wo.fma(xd0, we.fma(xe0, a30));
                a31 = wo.fma(xd1, we.fma(xe1, a31));
            }
        }
        a00.intoArray(sums, 0);
        a10.intoArray(sums, L);
        a20.intoArray(sums, 2 * L);
        a30.intoArray(sums, 3 * L);
        a01.intoArray(sums, 4 * L);
        a11.intoArray(sums, 5 * L);
        a21.intoArray(sums, 6 * L);
        a31.intoArray(sums, 7 * L);
        java.util.Arrays.fill(sums, 8 * L, 16 * L, 0f); // no third and fourth token: zeros for their lane sums
        VectorMath.sum16(sums, 0, sums, 16 * L);
        store4x4(sums, 16 * L, xp, y, r, q, t, 2, full);
    }

    /**
     * Rows {@code r, r + q, r + 2q, r + 3q}, one token. The accumulators go through {@code acc[ao .. ao + 4L)} to their
     * lane sums: passed to {@link VectorMath#sum(FloatVector)} directly, the last two calls were not inlined (the method's
     * inlining budget spent) and each boxed its vector, 280 MB a second of garbage in one user's BF16 decode (JFR).
     */
    private void rows4token1(float[] xp, float[] y, int r, int q, int t, float[] acc, int ao) {
        final MemorySegment data = NativeMemory.typed(this.data);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final int xo = t * cols;
        FloatVector a0 = FloatVector.zero(Kernels.F), a1 = FloatVector.zero(Kernels.F);
        FloatVector a2 = FloatVector.zero(Kernels.F), a3 = FloatVector.zero(Kernels.F);
        for (int pc = 0; pc < full; pc += PANEL) {
            final int pe = panelEnd(pc, full);
            final long stride = q * pitch(pc);
            final long b0 = base(r, pc), b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
            for (int c = pc; c < pe; c += B) {
                FloatVector xe = FloatVector.fromArray(Kernels.F, xp, xo + c);
                FloatVector xd = FloatVector.fromArray(Kernels.F, xp, xo + c + L);
                IntVector v0 = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                IntVector v1 = IntVector.fromMemorySegment(Kernels.I, data, b1 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                IntVector v2 = IntVector.fromMemorySegment(Kernels.I, data, b2 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                IntVector v3 = IntVector.fromMemorySegment(Kernels.I, data, b3 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                a0 = v0.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a0));
                a1 = v1.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a1));
                a2 = v2.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a2));
                a3 = v3.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a3));
            }
        }
        a0.intoArray(acc, ao);
        a1.intoArray(acc, ao + L);
        a2.intoArray(acc, ao + 2 * L);
        a3.intoArray(acc, ao + 3 * L);
        int yo = t * rows + r;
        y[yo] = tail(tailBase(r), xp, xo, full, VectorMath.sum(acc, ao));
        y[yo + q] = tail(tailBase(r + q), xp, xo, full, VectorMath.sum(acc, ao + L));
        y[yo + 2 * q] = tail(tailBase(r + 2 * q), xp, xo, full, VectorMath.sum(acc, ao + 2 * L));
        y[yo + 3 * q] = tail(tailBase(r + 3 * q), xp, xo, full, VectorMath.sum(acc, ao + 3 * L));
    }

    /** Two rows, one token: the decode kernel ({@link #decode}). */
    /** Rows {@code ra} and {@code rb} (any two) for token {@code t}: two independent accumulator chains. */
    private void rows2token1(float[] xp, float[] y, int ra, int rb, int t) {
        final MemorySegment data = NativeMemory.typed(this.data);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final int x0 = t * cols;
        FloatVector a0 = FloatVector.zero(Kernels.F), a1 = FloatVector.zero(Kernels.F);
        for (int pc = 0; pc < full; pc += PANEL) {
            final int pe = panelEnd(pc, full);
            final long b0 = base(ra, pc), b1 = base(rb, pc);
            for (int c = pc; c < pe; c += B) {
                FloatVector xe = FloatVector.fromArray(Kernels.F, xp, x0 + c);
                FloatVector xd = FloatVector.fromArray(Kernels.F, xp, x0 + c + L);
                IntVector v0 = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                IntVector v1 = IntVector.fromMemorySegment(Kernels.I, data, b1 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                a0 = v0.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a0));
                a1 = v1.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a1));
            }
        }
        y[t * rows + ra] = tail(tailBase(ra), xp, x0, full, VectorMath.sum(a0));
        y[t * rows + rb] = tail(tailBase(rb), xp, x0, full, VectorMath.sum(a1));
    }

    private void row1token1(float[] xp, float[] y, int r, int t) {
        row1token1(xp, y, r, t, t * cols, 1);
    }

    /**
     * {@link #row1token1(float[], float[], int, int)} with token {@code t}'s block at column {@code c} read at
     * {@code xp[x0 + xs c ..]}: {@code xs} 1 for the token-order copy, 4 for a 4-token panel ({@link #panelsOnly}).
     */
    private void row1token1(float[] xp, float[] y, int r, int t, int x0, int xs) {
        final MemorySegment data = NativeMemory.typed(this.data);
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        FloatVector a0 = FloatVector.zero(Kernels.F);
        for (int pc = 0; pc < full; pc += PANEL) {
            final int pe = panelEnd(pc, full);
            final long b0 = base(r, pc);
            for (int c = pc; c < pe; c += B) {
                IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
                a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, x0 + xs * c), a0);
                a0 = v.and(0xFFFF0000).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, x0 + xs * c + L), a0);
            }
        }
        y[t * rows + r] = tail(tailBase(r), xp, x0, full, VectorMath.sum(a0)); // no tail where xs is 4
    }

    /**
     * Whether a pass of {@code n} tokens ({@code grouped} in groups) reads its activations from the 4-token panels only:
     * every token in a group, no tail columns, panels of whole blocks, and packed over the threads. Then
     * {@link #multiply} writes the panels straight from the activations ({@link Kernels#packPairs4}) and no token-order
     * copy, and the rows past the last tile read their token's blocks from its panel.
     */
    private boolean panelsOnly(int n, int grouped) {
        return n >= PACK_PARALLEL_FROM && cols % Kernels.PAIR_BLOCK == 0 && grouped >= n && FloatTiles.PANEL_CHUNK == Kernels.PAIR_BLOCK;
    }

    /** Where token {@code t}'s first block is in {@code xp}: in its panel when {@code panels}, else in the token-order copy. */
    private int tokenAt(int t, boolean panels, int packed) {
        return panels ? packed + (t & ~3) * cols + (t & 3) * Kernels.PAIR_BLOCK : t * cols;
    }

    /**
     * One token, rows {@code ids[0 .. count)} only: {@code y[r]} for each, the bits {@link #multiply} gives that row
     * (every path sums a row in the same order). {@code xp} is scratch of at least {@code cols} floats. For
     * {@link ScreenedHead}, which needs a few rows of the LM head exactly.
     */
    @Override
    public void multiplyRows(float[] x, int[] ids, int count, float[] y, float[] xp) {
        MatrixChecks.operands(this, x, 1, y);
        Kernels.deinterleave(x, 1, cols, xp);
        for (int i = 0; i < count; i++) {
            row1token1(xp, y, ids[i], 0);
        }
    }

    /** Adds the columns past the last full block, in order, to {@code s}; {@code base} is the row's {@link #tailBase}. */
    private float tail(long base, float[] xp, int xo, int full, float s) {
        final MemorySegment data = NativeMemory.typed(this.data);
        for (int c = full; c < cols; c++) {
            s += Float.intBitsToFloat((data.get(LE_SHORT, base + c * 2L) & 0xFFFF) << 16) * xp[xo + c];
        }
        return s;
    }

    @Override
    public void row(int r, float[] dst, int off) {
        final MemorySegment data = NativeMemory.typed(this.data);
        for (int c = 0; c < cols; c++) {
            dst[off + c] = Float.intBitsToFloat((data.get(LE_SHORT, base(r, c) + c * 2L) & 0xFFFF) << 16);
        }
    }
}
