package org.redhare.core.matrix;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import org.redhare.core.MachineCode;

/**
 * Kernels in machine code ({@code core/src/main/c}, carried as bytes by {@link NativeCode}), each with the same FMAs and
 * lane additions in the same order as the Java kernel it stands for, so the same bits:
 * <ul>
 * <li>the one-token products of 8-bit codes ({@code rows4.h}): FP8-E4M3 ({@link Fp8BlockMatrix}) and int8 with a scale
 * per row ({@link Int8RowMatrix}, the LM head's screen). Each call takes a run of whole four-row tiles and leaves each
 * row's sum over whole 64-column groups;
 * <li>FP8 tiles, and int8 codes with a scale per block ({@link Q8_0Matrix}), times 2 to 64 tokens ({@code fp8_tokens.c},
 * {@code q8_tokens.c}: a decode step of several users, a short prompt), each code widened once per group of up to five
 * tokens; row-major F16 and F32 rows times 1 to 16 tokens the same way ({@code f16_tokens.c});
 * <li>4- and 5-bit weights ({@link NibbleBlocks}: Q4_0, Q4_1, Q4_K, Q5_0) times tokens quantized to int8, any number,
 * a token at a time per quad of tiles ({@code nibble_tokens.c}), two columns a 16-bit product-sum ({@code VPMADDUBSW})
 * where the Java kernel multiplies one;
 * <li>Q6_K's 6-bit values ({@link Q6_KMatrix}), Q8_0's bytes ({@link Q8_0IntMatrix}), Q5_K's 5-bit values ({@link Q5_KMatrix})
 * and Q4_K's 4-bit ones ({@link Q4_KIntMatrix}), those of Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL ({@link BlockIntMatrix}) and IQ4_XS's
 * ({@link IQ4_XSIntMatrix}), and Q3_K's and Q2_K's 3- and 2-bit ones ({@link Q3_KIntMatrix}, {@link Q2_KIntMatrix}) times tokens quantized to int8, any number, a token at a time per quad of tiles ({@code vnni_tokens.h}, AVX512-VNNI:
 * 64 byte products an instruction), where the CPU has VNNI;
 * <li>BF16 rows times 2 to 8 tokens ({@code bf16_tokens.c}: a decode step of a few users), each row's block widened
 * once per group of up to five tokens, as {@code f16_tokens.c} does;
 * <li>BF16 rows times more tokens ({@code bf16_tiles.c}, {@link Bf16Matrix}'s passes for the decode step of more users and
 * for prompts), prefetching the rows it takes next inside its loops;
 * <li>rows widened to floats times several tokens ({@code f32_tile_groups.c}: the prompt passes of {@link Fp8BlockMatrix},
 * {@link Q8_0Matrix} and {@link RowWidenedMatrix} (F16, F32) widen a tile in Java and run every token group over it in
 * one call).
 * </ul>
 *
 * <p>Why: on the AMD EPYC Zen 5 host the Java FP8 kernel ran its instructions at 33-34 G weights/s from cache where the
 * same loop compiled from C ran 42-47 (C2's per-loop set-up of its bounds checks, and per-tile calls, on rows of 896
 * columns), and from DRAM it read 21-24 GB/s where the C loop with {@code PREFETCHT0} a few KB ahead of its reads kept
 * up with the bandwidth (docs/PERFORMANCE.md, forty-eighth session).
 *
 * <p>Used where the CPU has AVX-512F, the JVM's float vectors have 16 lanes (so the layout's groups are 64 columns),
 * and machine code can run ({@link MachineCode}); {@code -Dredhare.nativeKernels=false} turns it off, for measuring.
 * {@link #status()} says which.
 */
final class NativeKernels {
    private NativeKernels() {}

    /** Bytes the batched screen ({@link #i8Dots}) prefetches ahead of its reads (into L1). */
    static final long AHEAD = Long.getLong("redhare.nativeAhead", 4096);

    /**
     * The prefetch the one-token kernels of int8 rows ({@link #int8}: the LM head's screen, {@link Int8RowMatrix}; and
     * {@link Q8_0Matrix}'s) take on a pool of {@code threads} threads: 8192 bytes ahead into L2 (PREFETCHT1) on one
     * thread, 4096 into L1 (PREFETCHT0) on more. These kernels widen about as fast as memory delivers one thread's
     * share, so what stays in flight sets their rate. On one thread (measured when FP8 took this distance too), [151936
     * x 896] FP8 from DRAM (`QuickMatrixRates fp8 151936x896 1 1`) read at 25.6-26.6 GB/s with 4096 into L1 and
     * 28.2-28.8 with 8192 into L2 (membw 28.3-28.9; 4096 into L2 21.9-22.7, 12288-32768 into L2 26.4-29.1), and FP8
     * decode went from 41.6-44.4 to 52.3-54.4 tok/s (docs/PERFORMANCE.md, fifty-third session). On two threads the BF16
     * model (its screened head) measured no gain from 16384 into L2 (Llama-3.2-1B, `bench --paired-setting
     * rowsAhead=-16384 -r 6 -t 2`: medians 0.935 and 0.994 in two runs), nor its Q8_0 copy (median 1.010 over eight;
     * sixty-third session). {@code -Dredhare.rowsAhead=N} sets it for every pool, and with it {@link #halvesAhead} and,
     * where {@code fp8RowsAhead} is not set, {@link #fp8RowsAhead} (positive: into L1, negative: into L2; {@link
     * KernelSettings} at run time).
     */
    static long rowsAhead(int threads) {
        long set = rowsAheadSet;
        return set != 0 ? set : threads == 1 ? -8192 : 4096;
    }

    /** {@code -Dredhare.rowsAhead} (0 when not given): where {@link KernelSettings#apply} puts it back. */
    static final long ROWS_AHEAD_AT_START = Long.getLong("redhare.rowsAhead", 0);

    private static volatile long rowsAheadSet = ROWS_AHEAD_AT_START;

    /**
     * The FP8 kernels' prefetch (one token: {@link #fp8}, {@link #fp8Decode}, rows4.h; several: {@link #fp8Tokens}) on a
     * pool of {@code threads} threads: into L2 on any number, 8192 bytes ahead on one thread, 16384 on more. On two
     * threads, against 4096 into L1 (FP8 against FP8 in alternated rounds, `bench --quantize fp8 --paired-setting
     * fp8RowsAhead=4096`): Llama-3.2-1B over 38 repetitions in five runs, geometric mean 1.07 and median 1.10 (faster in
     * 26; 10-22% in the host's high-bandwidth minutes, 2-7% slower in some low ones), Qwen2.5-0.5B over eight 1.06 /
     * 1.10, eight sequences at once 1.05, 16-token prompts 1-6% faster, 512-token ones the same; an [8192 x 8192] matrix
     * from DRAM read 37-56 GB/s against 28-33 (`QuickMatrixRates fp8 8192x8192 1 2`). Adding 1024 or 2048 bytes into L1
     * as well measured no clear gain (docs/PERFORMANCE.md, sixty-third session). Earlier sessions had compared the
     * distances through the FP8 / BF16 ratio of two models, whose noise hid the difference. {@code
     * -Dredhare.fp8RowsAhead=N} sets it alone (same signs); {@code -Dredhare.rowsAhead=N} where that is not set.
     */
    static long fp8RowsAhead(int threads) {
        long set = fp8RowsAheadSet;
        if (set != 0) {
            return set;
        }
        return rowsAheadSet != 0 ? rowsAheadSet : threads == 1 ? -8192 : -16384;
    }

    /** {@code -Dredhare.fp8RowsAhead} (0 when not given): where {@link KernelSettings#apply} puts it back. */
    static final long FP8_ROWS_AHEAD_AT_START = Long.getLong("redhare.fp8RowsAhead", 0);

    private static volatile long fp8RowsAheadSet = FP8_ROWS_AHEAD_AT_START;

    /** Sets {@link #rowsAhead}'s distance ({@code 0}: the default), as {@code -Dredhare.rowsAhead} does at start. */
    static void rowsAhead(long bytes) {
        rowsAheadSet = bytes;
    }

    /** Sets {@link #fp8RowsAhead}'s distance ({@code 0}: the default), as {@code -Dredhare.fp8RowsAhead} does at start.
     */
    static void fp8RowsAhead(long bytes) {
        fp8RowsAheadSet = bytes;
    }

    /**
     * From how many tokens {@link #vnniTokens} puts each block's values together once for all of them (in an L1 scratch)
     * rather than once a token: {@code -Dredhare.vnniScratchFrom=N} for every form (a number past any batch keeps the
     * token-at-a-time loop); by default 3 tokens where values take several operations to put together or come from
     * bytes (Q6_K, Q8_0, Q5_K, Q5_0, Q5_1, Q3_K), 8 where an AND and a shift do (the 4-bit forms, Q2_K). Measured
     * break-even points, docs/PERFORMANCE.md (fifty-ninth session).
     */
    private static final long VNNI_SCRATCH_FROM = Long.getLong("redhare.vnniScratchFrom", 0);

    private static long vnniScratchFrom(int form) {
        if (VNNI_SCRATCH_FROM > 0) {
            return VNNI_SCRATCH_FROM;
        }
        return switch (form) {
            case 0, 1, 2, 6, 7, 10 -> 3;
            default -> 8;
        };
    }

    /**
     * The prefetch of the several-token kernels of 16-bit rows ({@link #bf16Tokens}, {@link #f16Tokens}, F32 included):
     * 16384 bytes ahead into L2 on any number of threads, twice {@link #rowsAhead}'s one-thread distance for twice the
     * bytes per weight. Into L1 the two-thread pool starved: `QuickMatrixRates bf16 151936x896 2 2` (AMD EPYC Zen 4,
     * fifty-fifth session) read 19.5-22.7 GB/s with 2048-8192 bytes into L1, 31.9 with 8192 into L2, 40.6-41.3 with
     * 16384 and 34.5-38.0 with 24576-49152; on one thread 10.3-11.6 into L1, 20.3-22.4 into L2 (16384). {@code
     * -Dredhare.rowsAhead=N} sets it too.
     */
    static long halvesAhead() {
        long set = rowsAheadSet;
        return set != 0 ? set : -16384;
    }

    /** Tiles per call: a 128-row scale band of FP8 weights; calls stay short (a few microseconds, no safepoint inside). */
    static final int TILES = 32;

    private static final MethodHandle FP8;
    private static final MethodHandle FP8_DECODE;
    private static final MethodHandle FP8_TOKENS;
    private static final MethodHandle Q8_DECODE;
    private static final MethodHandle Q8_TOKENS;
    private static final MethodHandle NIBBLE_TOKENS;
    private static final MethodHandle F16_TOKENS;
    private static final MethodHandle BF16_TOKENS;
    private static final MethodHandle INT8;
    private static final MethodHandle BF16_TILES;
    private static final MethodHandle F32_TILE_GROUPS;
    private static final MethodHandle FP8_TILE_GROUPS;
    private static final MethodHandle Q8_TILE_GROUPS;
    private static final MethodHandle F16_TILE_GROUPS;
    private static final MethodHandle I8_DOTS;
    private static final MethodHandle Q6K_TOKENS;
    private static final MethodHandle Q8I_TOKENS;
    private static final MethodHandle Q5K_TOKENS;
    private static final MethodHandle Q4K_TOKENS;
    private static final MethodHandle Q40_TOKENS;
    private static final MethodHandle Q41_TOKENS;
    private static final MethodHandle Q50_TOKENS;
    private static final MethodHandle Q51_TOKENS;
    private static final MethodHandle IQ4NL_TOKENS;
    private static final MethodHandle IQ4XS_TOKENS;
    private static final MethodHandle Q3K_TOKENS;
    private static final MethodHandle Q2K_TOKENS;
    private static final String STATUS;

    static {
        MethodHandle fp8 = null, fp8Decode = null, fp8Tokens = null, q8Decode = null, q8Tokens = null, nibbleTokens = null, f16Tokens = null, bf16Tokens = null, int8 = null, bf16 = null, groups = null, fp8Groups = null, q8Groups = null, f16Groups = null, dots = null;
        MethodHandle[] vnniTokens = null;
        String status;
        if (!Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"))) {
            status = "off (redhare.nativeKernels=false)";
        } else if (MachineCode.unavailable() != null) {
            status = "off (" + MachineCode.unavailable() + ")";
        } else if (!MachineCode.cpuHas("avx512f")) {
            status = "off (the CPU has no AVX-512F)";
        } else if (!MachineCode.cpuHas("avx512bw")) { // fp8_rows4 shifts 16-bit halves; every AVX-512 CPU but Xeon Phi has BW
            status = "off (the CPU has no AVX-512BW)";
        } else if (Kernels.L != 16) {
            status = "off (the JVM's float vectors have " + Kernels.L + " lanes, not 16)";
        } else {
            try {
                FunctionDescriptor rows4 = FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG);
                fp8 = MachineCode.load(NativeCode.FP8_ROWS4, rows4, Linker.Option.critical(true));
                int8 = MachineCode.load(NativeCode.I8_ROWS4, rows4, Linker.Option.critical(true));
                fp8Decode = MachineCode.load(NativeCode.FP8_DECODE, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                fp8Tokens = MachineCode.load(NativeCode.FP8_TOKENS, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                q8Decode = MachineCode.load(NativeCode.Q8_DECODE, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                q8Tokens = MachineCode.load(NativeCode.Q8_TOKENS, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                nibbleTokens = MachineCode.load(NativeCode.NIBBLE_TOKENS, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
                        Linker.Option.critical(true));
                f16Tokens = MachineCode.load(NativeCode.F16_TOKENS, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                bf16Tokens = MachineCode.load(NativeCode.BF16_TOKENS, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                // The numbers in one long[] (the address of the rows too): three arguments, all passed in registers.
                FunctionDescriptor tiles = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS);
                bf16 = MachineCode.load(NativeCode.BF16_TILES,
                        FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                groups = MachineCode.load(NativeCode.F32_TILE_GROUPS, tiles, Linker.Option.critical(true));
                fp8Groups = MachineCode.load(NativeCode.FP8_TILE_GROUPS, tiles, Linker.Option.critical(true));
                f16Groups = MachineCode.load(NativeCode.F16_TILE_GROUPS, tiles, Linker.Option.critical(true));
                q8Groups = MachineCode.load(NativeCode.Q8_TILE_GROUPS,
                        FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                if (MachineCode.cpuHas("avx512_vnni")) {
                    dots = MachineCode.load(NativeCode.I8_DOTS, tiles, Linker.Option.critical(true));
                    FunctionDescriptor vnni = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                            ValueLayout.ADDRESS, ValueLayout.ADDRESS);
                    vnniTokens = new MethodHandle[] {MachineCode.load(NativeCode.Q6K_TOKENS, vnni, Linker.Option.critical(true)),
                            MachineCode.load(NativeCode.Q8I_TOKENS, vnni, Linker.Option.critical(true)),
                            MachineCode.load(NativeCode.Q5K_TOKENS, vnni, Linker.Option.critical(true)),
                            MachineCode.load(NativeCode.Q4K_TOKENS, vnni, Linker.Option.critical(true)),
                            MachineCode.load(NativeCode.Q40_TOKENS, vnni, Linker.Option.critical(true)),
                            MachineCode.load(NativeCode.Q41_TOKENS, vnni, Linker.Option.critical(true)),
                            MachineCode.load(NativeCode.Q50_TOKENS, vnni, Linker.Option.critical(true)),
                            MachineCode.load(NativeCode.Q51_TOKENS, vnni, Linker.Option.critical(true)),
                            MachineCode.load(NativeCode.IQ4NL_TOKENS, vnni, Linker.Option.critical(true)),
                            MachineCode.load(NativeCode.IQ4XS_TOKENS, vnni, Linker.Option.critical(true)),
                            MachineCode.load(NativeCode.Q3K_TOKENS, vnni, Linker.Option.critical(true)),
                            MachineCode.load(NativeCode.Q2K_TOKENS, vnni, Linker.Option.critical(true))};
                }
                status = dots != null ? "on (x86-64 AVX-512F, VNNI)" : "on (x86-64 AVX-512F; no VNNI: LM head screens one token at a time, Q8_0, Q6_K and Q5_K in floats)";
            } catch (UnsupportedOperationException e) {
                fp8 = fp8Decode = fp8Tokens = q8Decode = q8Tokens = nibbleTokens = f16Tokens = bf16Tokens = int8 = bf16 = groups = fp8Groups = q8Groups = f16Groups = dots = null;
                vnniTokens = null;
                status = "off (" + e.getMessage() + ")";
            }
        }
        FP8 = fp8;
        FP8_DECODE = fp8Decode;
        FP8_TOKENS = fp8Tokens;
        Q8_DECODE = q8Decode;
        Q8_TOKENS = q8Tokens;
        NIBBLE_TOKENS = nibbleTokens;
        F16_TOKENS = f16Tokens;
        BF16_TOKENS = bf16Tokens;
        INT8 = int8;
        BF16_TILES = bf16;
        F32_TILE_GROUPS = groups;
        FP8_TILE_GROUPS = fp8Groups;
        Q8_TILE_GROUPS = q8Groups;
        F16_TILE_GROUPS = f16Groups;
        I8_DOTS = dots;
        Q6K_TOKENS = vnniTokens == null ? null : vnniTokens[0];
        Q8I_TOKENS = vnniTokens == null ? null : vnniTokens[1];
        Q5K_TOKENS = vnniTokens == null ? null : vnniTokens[2];
        Q4K_TOKENS = vnniTokens == null ? null : vnniTokens[3];
        Q40_TOKENS = vnniTokens == null ? null : vnniTokens[4];
        Q41_TOKENS = vnniTokens == null ? null : vnniTokens[5];
        Q50_TOKENS = vnniTokens == null ? null : vnniTokens[6];
        Q51_TOKENS = vnniTokens == null ? null : vnniTokens[7];
        IQ4NL_TOKENS = vnniTokens == null ? null : vnniTokens[8];
        IQ4XS_TOKENS = vnniTokens == null ? null : vnniTokens[9];
        Q3K_TOKENS = vnniTokens == null ? null : vnniTokens[10];
        Q2K_TOKENS = vnniTokens == null ? null : vnniTokens[11];
        STATUS = status;
    }

    static boolean available() {
        return FP8 != null;
    }

    /** Whether {@link #i8Dots} runs here (the CPU has AVX512-VNNI). */
    static boolean dotsAvailable() {
        return I8_DOTS != null;
    }

    /** Whether {@link #vnniTokens} runs here (the CPU has AVX512-VNNI). */
    static boolean vnniAvailable() {
        return Q6K_TOKENS != null;
    }

    /** One line for logs: whether the native kernels run here, and why not. */
    static String status() {
        return STATUS;
    }

    /**
     * FP8 row sums of {@code tiles} whole tiles whose codes start at byte {@code offset} of native segment {@code codes}
     * (four rows of {@code cols} codes each), over columns {@code 0 .. full} (a multiple of 64), activations {@code buf[xo .. xo+full]}:
     * row {@code j} of tile {@code k} at {@code buf[oo + 4k + j]}. (One array and offsets rather than two slices: making
     * the slices cost a fifth of the time on 896-column rows.)
     */
    static void fp8(MemorySegment codes, long offset, int tiles, int cols, int full, float[] buf, int xo, int oo, long ahead) {
        call(FP8, codes, offset, tiles, cols, full, buf, xo, oo, ahead);
    }

    /**
     * Tiles per {@link #fp8Decode} call: 1024 rows, a few hundred microseconds at most (no safepoint inside a call), and
     * few enough calls that their cost stays well under one percent of a decode.
     */
    static final int DECODE_TILES = 256;

    /**
     * The operand checks of the one-token FP8 kernels ({@link #fp8Decode}, {@link Avx2Kernels#fp8Decode}), whose groups
     * are {@code group} columns and whose scaled activations take {@code streams} times {@code cols} floats.
     */
    static void checkFp8Decode(int group, int streams, MemorySegment codes, long offset, int tiles, int cols, int r0, int bandRows, int nb, int bw,
            float[] x, float[] xScales, float[] factors, float[] y, float[] scaled) {
        long end = r0 + 4L * tiles;
        long bands = nb == 1 ? 1 : (end - 1) / Math.max(1, bandRows) + 1; // the last band read, plus one
        if (!codes.isNative() || offset < 0 || tiles < 1 || r0 < 0 || cols < group || cols % group != 0 || offset + 4L * cols * tiles > codes.byteSize()
                || x.length < cols || scaled.length < (long) streams * cols || bw < 1 || x == scaled || y == x || y == scaled || y == xScales || y == factors
                || end > factors.length || end > y.length || bandRows < 1 || nb < 1
                || (nb > 1 ? bw % 16 != 0 || (long) bw * (nb - 1) >= cols || (long) bw * nb < cols || bands * nb > xScales.length
                        || bandRows % 4 != 0 : xScales.length < 1)) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
    }

    /**
     * One token through {@code tiles} whole FP8 tiles from the activations as given to the outputs ({@code fp8_decode.c}):
     * the tiles' codes start at byte {@code offset} of {@code codes}, their first row is {@code r0}, rows of {@code cols}
     * codes (a multiple of 64); band {@code b} (rows {@code b bandRows ..}) scales block {@code j} of the activations
     * {@code x} by {@code xScales[b nb + j]} ({@code xScales[0]} when {@code nb} is 1), and row {@code r}'s sum times
     * {@code factors[r]} goes to {@code y[r]}; {@code scaled} holds the scaled activations ({@code cols} floats). Rows
     * of 2048 columns or more go two tiles of a band at a time, sharing its activations (fp8_decode.c says why).
     */
    static void fp8Decode(MemorySegment codes, long offset, int tiles, int cols, int r0, int bandRows, int nb, int bw, float[] x,
            float[] xScales, float[] factors, float[] y, float[] scaled, long ahead) {
        checkFp8Decode(64, 1, codes, offset, tiles, cols, r0, bandRows, nb, bw, x, xScales, factors, y, scaled);
        long[] args = {codes.address() + offset, tiles, cols, ahead, r0, bandRows, nb, bw};
        try {
            FP8_DECODE.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(x), MemorySegment.ofArray(xScales),
                    MemorySegment.ofArray(factors), MemorySegment.ofArray(y), MemorySegment.ofArray(scaled));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * The operand checks of {@link #fp8Tokens} (and of {@link Avx2Kernels#fp8Tokens}, {@code group} 32): rows of whole
     * groups of {@code group} columns; an {@link IndexOutOfBoundsException} where the machine code would read or write
     * outside the operands.
     */
    static void checkFp8Tokens(int group, MemorySegment codes, long offset, int tiles, int cols, int r0, int bandRows, int nb, int bw, int n,
            int rows, float[] x, int xo, float[] xScales, float[] factors, float[] y, int yo, float[] scaled) {
        long end = r0 + 4L * tiles;
        long bands = nb == 1 ? 1 : (end - 1) / Math.max(1, bandRows) + 1; // the last band read, plus one
        if (!codes.isNative() || offset < 0 || tiles < 1 || r0 < 0 || cols < group || cols % group != 0 || offset + 4L * cols * tiles > codes.byteSize()
                || n < 1 || rows < end || xo < 0 || yo < 0 || x.length < xo + (long) n * cols || scaled.length < (long) n * cols + 15 || bw < 1
                || x == scaled || y == x || y == scaled || y == xScales || y == factors
                || end > factors.length || yo + (long) (n - 1) * rows + end > y.length || bandRows < 1 || nb < 1
                || (nb > 1 ? bw % 16 != 0 || (long) bw * (nb - 1) >= cols || (long) bw * nb < cols || bands * nb > xScales.length
                        || bandRows % 4 != 0 : xScales.length < 1)) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
    }

    /**
     * {@link #fp8Decode} for {@code n} tokens at once ({@code fp8_tokens.c}: each tile's codes widened once per group of up to
     * five tokens): token {@code t}'s
     * activations at {@code x[t cols ..]}, its output for row {@code r} at {@code y[t rows + r]}; {@code scaled} holds
     * {@code n cols} floats from its first 64-byte boundary ({@code n cols + 15} floats of room).
     */
    static void fp8Tokens(MemorySegment codes, long offset, int tiles, int cols, int r0, int bandRows, int nb, int bw, int n, int rows,
            float[] x, float[] xScales, float[] factors, float[] y, float[] scaled, long ahead) {
        fp8Tokens(codes, offset, tiles, cols, r0, bandRows, nb, bw, n, rows, x, 0, xScales, factors, y, 0, scaled, ahead);
    }

    /** {@link #fp8Tokens} for the tokens whose activations start at {@code x[xo]} and outputs at {@code y[yo]}. */
    static void fp8Tokens(MemorySegment codes, long offset, int tiles, int cols, int r0, int bandRows, int nb, int bw, int n, int rows,
            float[] x, int xo, float[] xScales, float[] factors, float[] y, int yo, float[] scaled, long ahead) {
        checkFp8Tokens(64, codes, offset, tiles, cols, r0, bandRows, nb, bw, n, rows, x, xo, xScales, factors, y, yo, scaled);
        long[] args = {codes.address() + offset, tiles, cols, ahead, r0, bandRows, nb, bw, n, rows};
        try {
            FP8_TOKENS.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(x).asSlice(4L * xo), MemorySegment.ofArray(xScales),
                    MemorySegment.ofArray(factors), MemorySegment.ofArray(y).asSlice(4L * yo), MemorySegment.ofArray(scaled));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * One token through {@code tiles} whole tiles of int8 codes with a scale per block ({@link Q8_0Matrix}; {@code
     * q8_decode.c}): codes from byte {@code offset} of {@code codes}, rows of {@code cols} codes (a multiple of 64), blocks
     * of {@code 1 << shift} columns ({@code shift} at least 4), {@code nb} a row; the tiles' scales from {@code
     * scales[so ..]} ({@code 4 nb} a tile); row {@code i} of the run's output to {@code y[yo + i]}.
     */
    static void q8Decode(MemorySegment codes, long offset, int tiles, int cols, int shift, int nb, float[] scales, int so, float[] x,
            float[] y, int yo, long ahead) {
        if (!codes.isNative() || offset < 0 || tiles < 1 || cols < 64 || cols % 64 != 0 || offset + 4L * cols * tiles > codes.byteSize()
                || shift < 4 || shift > 30 || nb < 1 || (long) nb << shift < cols || so < 0 || so + 4L * nb * tiles > scales.length
                || x.length < cols || yo < 0 || yo + 4L * tiles > y.length || y == x || y == scales) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
        long[] args = {codes.address() + offset, tiles, cols, ahead, shift, nb};
        try {
            Q8_DECODE.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(x), MemorySegment.ofArray(scales).asSlice(4L * so),
                    MemorySegment.ofArray(y).asSlice(4L * yo));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * {@link #q8Decode} for {@code n} tokens at once ({@code q8_tokens.c}: each tile's codes widened once per group of up to
     * five tokens): token {@code t}'s activations at {@code x[t cols ..]}, its output for the run's row {@code i} at
     * {@code y[yo + t rows + i]}; {@code scratch} holds a 64-byte aligned copy of the activations ({@code n cols + 15}
     * floats of room).
     */
    static void q8Tokens(MemorySegment codes, long offset, int tiles, int cols, int shift, int nb, float[] scales, int so, int n, int rows,
            float[] x, float[] y, int yo, float[] scratch, long ahead) {
        if (!codes.isNative() || offset < 0 || tiles < 1 || cols < 64 || cols % 64 != 0 || offset + 4L * cols * tiles > codes.byteSize()
                || shift < 4 || shift > 30 || nb < 1 || (long) nb << shift < cols || so < 0 || so + 4L * nb * tiles > scales.length
                || n < 1 || rows < 4L * tiles || x.length < (long) n * cols || scratch.length < (long) n * cols + 15 || yo < 0
                || yo + (long) (n - 1) * rows + 4L * tiles > y.length || y == x || y == scales || scratch == x || scratch == y || scratch == scales) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
        long[] args = {codes.address() + offset, tiles, cols, ahead, shift, nb, n, rows};
        try {
            Q8_TOKENS.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(x), MemorySegment.ofArray(scales).asSlice(4L * so),
                    MemorySegment.ofArray(y).asSlice(4L * yo), MemorySegment.ofArray(scratch));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * The operand checks of the nibble kernels ({@link #nibbleTokens}, {@link Avx2Kernels#nibbleTokens}) over tiles of
     * {@code tr} rows ({@code 16 tr} bytes a tile's block, {@code tr} scales a tile and block, {@code tr / 2} ints of
     * codes); returns the matrix's quads.
     */
    static int checkNibbleTokens(int tr, MemorySegment packed, int nb, int tiles, int rows, int p0, int p1, int t0, int t1, int n,
            short[] xp, float[] xf, int form, float[] d, float[] o, int[] codes, float[] y) {
        int quads = (tiles + 3) / 4;
        long scales = form == 2 ? (long) tr * (nb / 8) * tiles : (long) tr * nb * tiles, units = form == 3 ? 2L * nb : nb;
        if (!packed.isNative() || nb < 1 || tiles < 1 || rows < 1 || rows > (long) tr * tiles || (long) tr * (tiles - 1) >= rows
                || 16L * tr * units * tiles > packed.byteSize() || p0 < 0 || p1 > quads || p0 >= p1 || t0 < 0 || t1 > n || t0 >= t1
                || xp.length < 16L * nb * (t1 - t0) || xf.length < (long) n * (nb + units) || form < 0 || form > 3 || d.length < scales
                || (form != 0 && o.length < scales) || (form == 2 && (nb % 8 != 0 || codes.length < tr / 2L * nb * tiles))
                || y.length < (long) n * rows || y == xf || y == d || y == o) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
        return quads;
    }

    /**
     * 4-bit weights in {@link NibbleBlocks}' tiles of 32 rows times tokens {@code t0 .. t1} of {@code n}, their activations
     * quantized to int8 per 32-column block ({@code nibble_tokens.c}, the arithmetic of {@code NibbleBlocks.tiles4x1} and
     * {@code tiles4x1Bytes}): quads {@code p0 .. p1} of the matrix's {@code (tiles + 3) / 4} (quad {@code p}: tiles
     * {@code p + k quads}), {@code nb} blocks a row ({@code packed}: 512 bytes a tile's block, 1024 for bytes); token
     * {@code t}'s activations as pairs of bytes at {@code xp[(t - t0) 16 nb ..]}, its block scales at {@code xf[t nb +
     * b]} and its center times the sums of its quantized activations at {@code xf[n nb + t u + k]} ({@code u} = {@code
     * nb} sums a row, one a block; bytes {@code 2 nb}, one a 16-column span); token {@code t}'s output for row {@code r}
     * at {@code y[t rows + r]}; {@code ahead}: bytes to prefetch ahead of each tile's reads into L2, 0 for none. {@code
     * form} 0 (Q4_0): scales {@code d[(tile nb + b) 32 + i]}, {@code o} and {@code codes} unused; 1 (float offsets):
     * offsets {@code o} the same way; 2 (Q4_K, factored): {@code d} and {@code o} the super-block factors ({@code
     * [tiles][nb / 8][32]}), {@code codes} the blocks' byte codes ({@code [tiles][nb][16]}); 3 (Q5_0's bytes): scales as
     * form 0.
     */
    static void nibbleTokens(MemorySegment packed, int nb, int tiles, int rows, int p0, int p1, int t0, int t1, int n, short[] xp,
            float[] xf, int form, float[] d, float[] o, int[] codes, float[] y, long ahead) {
        int quads = checkNibbleTokens(32, packed, nb, tiles, rows, p0, p1, t0, t1, n, xp, xf, form, d, o, codes, y);
        long[] args = {packed.address(), nb, quads, tiles, rows, p0, p1, t0, t1, n, ahead, form};
        try {
            NIBBLE_TOKENS.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(xp), MemorySegment.ofArray(xf),
                    MemorySegment.ofArray(d), MemorySegment.ofArray(o), MemorySegment.ofArray(codes), MemorySegment.ofArray(y));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * The operand checks of the integer kernels over {@link VnniMatrix}'s layouts ({@link #vnniTokens}, {@link
     * Avx2Kernels#vnniTokens}), {@code form} as there; returns the matrix's quads.
     */
    static int checkVnniTokens(MemorySegment packed, int form, int nb, int tiles, int rows, int p0, int p1, int t0, int t1, int n,
            short[] xp, float[] xf, float[] d, float[] y) {
        int quads = (tiles + 3) / 4;
        long block = vnniBlock(form);
        long factors = form == 0 || form == 9 || form == 10 ? 4L * nb * tiles : form == 2 || form == 3 || form == 11 ? 8L * nb * tiles : 0;
        boolean superBlocks = form == 0 || form == 2 || form == 3 || form >= 9;
        if (!packed.isNative() || form < 0 || form > 11 || nb < 1 || (superBlocks && nb % 8 != 0) || d.length < factors || tiles < 1
                || rows < 1 || rows > 32L * tiles || 32L * (tiles - 1) >= rows || block * nb * tiles > packed.byteSize() || p0 < 0 || p1 > quads
                || p0 >= p1 || t0 < 0 || t1 > n || t0 >= t1 || xp.length < 18L * nb * (t1 - t0) || xf.length < (long) n * nb
                || y.length < (long) n * rows || y == xf || y == d) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
        return quads;
    }

    /** Bytes of a tile's 32-column block in {@code form}'s layout ({@link #vnniTokens}). */
    static int vnniBlock(int form) {
        return switch (form) {
            case 0 -> 832;
            case 1 -> 1088;
            case 2, 6 -> 704;
            case 3, 4, 8 -> 576;
            case 5 -> 640;
            case 7 -> 768;
            case 9 -> 544;
            case 10 -> 448;
            default -> 320;
        };
    }

    /**
     * Q6_K ({@code form} 0, {@link Q6_KMatrix}), Q8_0 (1, {@link Q8_0IntMatrix}), Q5_K (2, {@link Q5_KMatrix}), Q4_K (3,
     * {@link Q4_KIntMatrix}), Q4_0, Q4_1, Q5_0, Q5_1 or IQ4_NL (4 to 8, {@link BlockIntMatrix}), IQ4_XS (9,
     * {@link IQ4_XSIntMatrix}), Q3_K (10, {@link Q3_KIntMatrix}) or Q2_K (11, {@link Q2_KIntMatrix}) weights
     * in tiles of 32 rows times tokens {@code t0 .. t1} of {@code n}, their activations quantized to int8 per 32-column
     * block ({@code vnni_tokens.h}, the arithmetic of the classes' Java reference): quads {@code p0 .. p1} of the
     * matrix's {@code (tiles + 3) / 4} (quad {@code p}: tiles {@code p + k quads}), {@code nb} blocks a row (a tile's
     * block 832 bytes of {@code packed}, Q8_0 1088, Q5_K 704, Q4_K 576, Q4_0 576, Q4_1 640, Q5_0 704, Q5_1 768, IQ4_NL 576, IQ4_XS 544, Q3_K 448, Q2_K 320); token {@code t}'s activations at {@code xp[(t - t0) 18 nb
     * ..]} (its bytes, two a short, then its 16-column sums), its block scales at {@code xf[t nb + b]}; Q6_K's
     * super-block scales {@code d[(tile nb / 8 + k) 32 + i]} (IQ4_XS's and Q3_K's {@code d} too), Q5_K's, Q4_K's and Q2_K's {@code d} and {@code -dmin} at {@code d[(tile nb / 8
     * + k) 64 + i]} and 32 further (Q8_0 and forms 4 to 8: in {@code packed}, {@code d} unread); token {@code t}'s output for row {@code r}
     * at {@code y[t rows + r]}.
     */
    static void vnniTokens(MemorySegment packed, int form, int nb, int tiles, int rows, int p0, int p1, int t0, int t1, int n, short[] xp,
            float[] xf, float[] d, float[] y) {
        int quads = checkVnniTokens(packed, form, nb, tiles, rows, p0, p1, t0, t1, n, xp, xf, d, y);
        long[] args = {packed.address(), nb, quads, tiles, rows, p0, p1, t0, t1, n, form, vnniScratchFrom(form)};
        try {
            MemorySegment a = MemorySegment.ofArray(args), x = MemorySegment.ofArray(xp), f = MemorySegment.ofArray(xf);
            MemorySegment s = MemorySegment.ofArray(d), out = MemorySegment.ofArray(y);
            switch (form) { // one call site each: constant handles
                case 0 -> Q6K_TOKENS.invokeExact(a, x, f, s, out);
                case 1 -> Q8I_TOKENS.invokeExact(a, x, f, s, out);
                case 2 -> Q5K_TOKENS.invokeExact(a, x, f, s, out);
                case 3 -> Q4K_TOKENS.invokeExact(a, x, f, s, out);
                case 4 -> Q40_TOKENS.invokeExact(a, x, f, s, out);
                case 5 -> Q41_TOKENS.invokeExact(a, x, f, s, out);
                case 6 -> Q50_TOKENS.invokeExact(a, x, f, s, out);
                case 7 -> Q51_TOKENS.invokeExact(a, x, f, s, out);
                case 8 -> IQ4NL_TOKENS.invokeExact(a, x, f, s, out);
                case 9 -> IQ4XS_TOKENS.invokeExact(a, x, f, s, out);
                case 10 -> Q3K_TOKENS.invokeExact(a, x, f, s, out);
                default -> Q2K_TOKENS.invokeExact(a, x, f, s, out);
            }
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * Row-major F16 ({@code half}) or F32 weights times {@code n} tokens ({@code f16_tokens.c}): rows {@code first ..
     * first + 4 quads} of {@code data} ({@code cols} weights each, a multiple of 32; four neighbours at a time, or with
     * {@code spread} four rows {@code quads} apart, as {@link #bf16Tokens}), token {@code t}'s activations at
     * {@code x[t cols ..]}, its output for row {@code first + i} at {@code y[yo + t stride + i]}; {@code scratch} holds a
     * 64-byte aligned copy of the activations ({@code n cols + 15} floats of room).
     */
    static void f16Tokens(MemorySegment data, boolean half, long first, int quads, boolean spread, int cols, int n, int stride, float[] x,
            float[] y, int yo, float[] scratch, long ahead) {
        long size = half ? 2 : 4;
        checkF16Tokens(32, data, half, first, quads, cols, n, stride, x, y, yo, scratch);
        long[] args = {data.address() + first * cols * size, quads, cols, ahead, half ? 1 : 0, n, stride, spread ? quads : 1};
        try {
            F16_TOKENS.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(x), MemorySegment.ofArray(y).asSlice(4L * yo),
                    MemorySegment.ofArray(scratch));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * BF16 weights ({@link Bf16Matrix}'s layout: row-major up to {@code panel} columns, column panels beyond) times
     * {@code n} tokens ({@code bf16_tokens.c}): rows {@code first .. first + 4 quads} of the {@code rows}-row matrix
     * {@code data} ({@code cols} weights each, a multiple of 32), taken four neighbours at a time, or with {@code spread}
     * four rows {@code quads} apart (rows {@code first + k + j quads}, {@code j = 0..3}), token {@code t}'s deinterleaved
     * activations at {@code x[t cols ..]}, its output for row {@code first + i} at {@code y[yo + t stride + i]};
     * {@code scratch} holds a 64-byte aligned copy of the activations ({@code n cols + 15} floats of room).
     */
    static void bf16Tokens(MemorySegment data, int rows, int first, int quads, boolean spread, int cols, int panel, int n, int stride,
            float[] x, float[] y, int yo, float[] scratch, long ahead) {
        checkBf16Tokens(32, data, rows, first, quads, cols, panel, n, stride, x, 0, y, yo, scratch);
        long[] args = {data.address(), rows, first, quads, cols, panel, n, stride, ahead, spread ? quads : 1};
        try {
            BF16_TOKENS.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(x), MemorySegment.ofArray(y).asSlice(4L * yo),
                    MemorySegment.ofArray(scratch));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * The operand checks of the row-major F16 / F32 kernels ({@link #f16Tokens}; {@link Avx2Kernels#f16Tokens} with {@code
     * block} 16): the machine code checks nothing, so everything it reads or writes is checked here.
     */
    static void checkF16Tokens(int block, MemorySegment data, boolean half, long first, int quads, int cols, int n, int stride, float[] x,
            float[] y, int yo, float[] scratch) {
        long size = half ? 2 : 4;
        if (!data.isNative() || first < 0 || quads < 1 || cols < block || cols % block != 0 || (first + 4L * quads) * cols * size > data.byteSize()
                || n < 1 || stride < 4L * quads || x.length < (long) n * cols || scratch.length < (long) n * cols + 15 || yo < 0
                || yo + (long) (n - 1) * stride + 4L * quads > y.length || y == x || scratch == x || scratch == y) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
    }

    /**
     * The operand checks of the several-token BF16 kernels ({@link #bf16Tokens}; {@link Avx2Kernels#bf16Tokens} with
     * {@code block} 16): the machine code checks nothing, so everything it reads or writes is checked here (token {@code
     * t}'s activations at {@code x[xo + t cols ..]}).
     */
    static void checkBf16Tokens(int block, MemorySegment data, int rows, int first, int quads, int cols, int panel, int n, int stride,
            float[] x, int xo, float[] y, int yo, float[] scratch) {
        if (!data.isNative() || first < 0 || quads < 1 || first + 4L * quads > rows || cols < block || cols % block != 0 || panel < block
                || panel % block != 0 || (long) rows * cols * 2 > data.byteSize() || n < 1 || stride < 4L * quads || xo < 0
                || x.length < xo + (long) n * cols || scratch.length < (long) n * cols + 15 || yo < 0
                || yo + (long) (n - 1) * stride + 4L * quads > y.length || y == x || scratch == x || scratch == y) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
    }

    /**
     * The operand checks of the one-token row kernels ({@link #fp8}, {@link #int8}; {@link Avx2Kernels#int8} with {@code
     * group} 32): the machine code checks nothing, so everything it reads or writes is checked here (its prefetches may
     * run past the codes: a prefetch never faults).
     */
    static void checkRows4(int group, MemorySegment codes, long offset, int tiles, int cols, int full, float[] buf, int xo, int oo) {
        if (!codes.isNative() || offset < 0 || tiles < 0 || offset + 4L * cols * tiles > codes.byteSize() || xo < 0
                || xo + (long) full > buf.length || oo < 0 || oo + 4L * tiles > buf.length || full < 0 || full % group != 0 || full > cols
                || (oo < xo + full && xo < oo + 4 * tiles)) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
    }

    /** {@link #fp8} for int8 codes ({@link Int8RowMatrix}): the sums before the row scales. */
    static void int8(MemorySegment codes, long offset, int tiles, int cols, int full, float[] buf, int xo, int oo, long ahead) {
        call(INT8, codes, offset, tiles, cols, full, buf, xo, oo, ahead);
    }

    private static void call(MethodHandle kernel, MemorySegment codes, long offset, int tiles, int cols, int full, float[] buf, int xo, int oo,
            long ahead) {
        checkRows4(64, codes, offset, tiles, cols, full, buf, xo, oo);
        try {
            kernel.invokeExact(codes.address() + offset, (long) tiles, (long) cols, (long) full, MemorySegment.ofArray(buf), (long) xo,
                    (long) oo, ahead);
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * BF16 sums of {@code tiles} five-row tiles by {@code groups} groups of four tokens ({@code bf16_tiles.c} says the
     * layouts): tile {@code k}'s row {@code i} is row {@code first + k step + i q}; column chunk {@code j} is
     * {@code chunks[4j .. 4j+3]} = {offset, pitch, blocks, c0} (row {@code R}'s columns {@code c0 .. c0 + 32 blocks} at
     * byte {@code offset + R pitch} of native segment {@code rows}); activations are 4-token panels at {@code xp[xo ...]}
     * ({@code 4 full} floats a group); the widened chunk goes to {@code buf[to ..]}, the accumulators between chunks to
     * {@code buf[ao ..]} ({@code 320 groups} floats) and the sums to {@code buf[so ..]}, 20 per tile and group.
     */
    static void bf16Tiles(MemorySegment rows, long[] chunks, int nchunks, int first, int tiles, int step, int q, int groups, float[] xp, int xo,
            int full, float[] buf, int to, int ao, int so) {
        bf16Tiles(rows, chunks, nchunks, first, tiles, step, q, groups, xp, xo, full, buf, to, ao, so, buf, 0, 0, 0);
    }

    /**
     * {@link #bf16Tiles(MemorySegment, long[], int, int, int, int, int, int, float[], int, int, float[], int, int, int)}
     * that also stores the first {@code ytokens} tokens' sums as outputs: row {@code R} of token {@code t} at
     * {@code y[yo + t yrows + R]} (none when {@code ytokens} is 0; {@code y} is then not read). For rows with no tail columns.
     */
    static void bf16Tiles(MemorySegment rows, long[] chunks, int nchunks, int first, int tiles, int step, int q, int groups, float[] xp, int xo,
            int full, float[] buf, int to, int ao, int so, float[] y, int yo, int yrows, int ytokens) {
        boolean ok = rows.isNative() && nchunks > 0 && 4L * nchunks <= chunks.length && first >= 0 && tiles > 0 && step >= 0 && q >= 0
                && groups > 0
                && xo >= 0 && full >= 0 && xo + 4L * full * groups <= xp.length;
        long widest = 0;
        for (int j = 0; ok && j < nchunks; j++) {
            long offset = chunks[4 * j], pitch = chunks[4 * j + 1], blocks = chunks[4 * j + 2], c0 = chunks[4 * j + 3];
            widest = Math.max(widest, blocks);
            ok = offset >= 0 && blocks >= 0 && c0 >= 0 && c0 + 32 * blocks <= full && pitch >= 64 * blocks
                    && offset + (first + (tiles - 1L) * step + 4L * q) * pitch + 64 * blocks <= rows.byteSize(); // one past the last byte read
        }
        long tileEnd = to + 160L * widest, accEnd = ao + 320L * groups, sumsEnd = so + 20L * tiles * groups;
        if (!ok || to < 0 || ao < 0 || so < 0 || tileEnd > buf.length || accEnd > buf.length || sumsEnd > buf.length
                || (to < accEnd && ao < tileEnd) || (to < sumsEnd && so < tileEnd) || (ao < sumsEnd && so < accEnd)) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
        if (ytokens != 0 && (ytokens < 0 || ytokens > 4 * groups || y == xp || y == buf || yo < 0 || yrows < 0
                || yo + (ytokens - 1L) * yrows + first + (tiles - 1L) * step + 4L * q >= y.length)) {
            throw new IndexOutOfBoundsException("native kernel: outputs outside their memory");
        }
        long[] args = new long[16 + 4 * nchunks];
        args[0] = rows.address();
        args[1] = first;
        args[2] = tiles;
        args[3] = q;
        args[4] = nchunks;
        args[5] = groups;
        args[6] = xo;
        args[7] = full;
        args[8] = to;
        args[9] = ao;
        args[10] = so;
        args[11] = step;
        args[12] = yo;
        args[13] = yrows;
        args[14] = ytokens;
        System.arraycopy(chunks, 0, args, 16, 4 * nchunks);
        MemorySegment b = MemorySegment.ofArray(buf);
        MemorySegment ys = ytokens == 0 ? b : MemorySegment.ofArray(y); // a variable: in the call a conditional's type is Object
        try {
            BF16_TILES.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(xp), b, ys);
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * Calls a token-group kernel on its numbers, activations and buffer ({@code xp} may be {@code buf}). Small enough for
     * C2 to inline into each caller, where {@code kernel} is a constant again.
     */
    private static void runGroups(MethodHandle kernel, long[] args, float[] xp, float[] buf) {
        MemorySegment x = MemorySegment.ofArray(xp);
        MemorySegment b = xp == buf ? x : MemorySegment.ofArray(buf); // a variable: in the call a conditional's type is Object
        try {
            kernel.invokeExact(MemorySegment.ofArray(args), x, b);
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /** {@link #runGroups(MethodHandle, long[], float[], float[])} for a kernel that also reads {@code scales}. */
    private static void runGroups(MethodHandle kernel, long[] args, float[] xp, float[] buf, float[] scales) {
        MemorySegment x = MemorySegment.ofArray(xp);
        MemorySegment b = xp == buf ? x : MemorySegment.ofArray(buf);
        try {
            kernel.invokeExact(MemorySegment.ofArray(args), x, b, MemorySegment.ofArray(scales));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /** Whether the tile, activations, accumulators and sums of a token-group kernel lie in their arrays without overlapping. */
    private static boolean groupsFit(int blocks, int groups, float[] xp, int xo, int full, float[] buf, int to, int ao, int so, boolean last, int c0) {
        long tileEnd = to + 160L * blocks, accEnd = ao + 320L * groups, sumsEnd = so + 20L * groups;
        return blocks >= 0 && groups > 0 && xo >= 0 && full >= 0 && c0 >= 0 && c0 + 32L * blocks <= full
                && xo + 4L * full * groups <= xp.length && to >= 0 && ao >= 0 && tileEnd <= buf.length && accEnd <= buf.length
                && (to >= accEnd || ao >= tileEnd) && (!last || so >= 0 && sumsEnd <= buf.length && (to >= sumsEnd || so >= tileEnd)
                        && (ao >= sumsEnd || so >= accEnd))
                && (xp != buf || (xo >= accEnd || ao >= xo + 4L * full * groups) && (!last || xo >= sumsEnd || so >= xo + 4L * full * groups));
    }

    /**
     * {@code groups} groups of four tokens times a five-row tile already widened to floats ({@code f32_tile_groups.c} says
     * the layouts): the tile's {@code blocks} 32-column blocks from column {@code c0} at {@code buf[to ..]} (160 floats a
     * block), activations as 4-token panels at {@code xp[xo ..]} ({@code 4 full} floats a group, column {@code c} at
     * {@code 4c}); the accumulators between column chunks at {@code buf[ao ..]} (320 floats a group: zeros instead when
     * {@code first}, kept unless {@code last}); when {@code last}, the sums at {@code buf[so ..]}, 20 a group. {@code xp}
     * may be {@code buf} itself.
     */
    static void f32TileGroups(int blocks, int groups, float[] xp, int xo, int full, float[] buf, int to, int ao, int so, boolean first,
            boolean last, int c0) {
        if (!groupsFit(blocks, groups, xp, xo, full, buf, to, ao, so, last, c0)) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
        long[] args = {blocks, groups, xo, full, to, ao, so, first ? 1 : 0, last ? 1 : 0, c0};
        runGroups(F32_TILE_GROUPS, args, xp, buf);
    }

    /**
     * {@link #f32TileGroups} with the first group widening the tile from FP8 codes on the way ({@code fp8_tile_groups.c}):
     * {@code blocks} (even) 32-column blocks of five rows, row {@code i < h} at byte {@code rowOffsets[i]} of native
     * {@code codes} and each next 64 columns {@code rowStrides[i]} bytes further (QuantKernels' byte tile layout), widened
     * as {@code Fp8BlockMatrix.widen} does (times {@code scale}) into {@code buf[to ..]}; rows {@code h ..} are zeros.
     */
    static void fp8TileGroups(MemorySegment codes, long[] rowOffsets, long[] rowStrides, int h, float scale, int blocks, int groups,
            float[] xp, int xo, int full, float[] buf, int to, int ao, int so, boolean first, boolean last, int c0) {
        boolean ok = codes.isNative() && blocks % 2 == 0 && h >= 1 && h <= 5;
        for (int i = 0; ok && i < h; i++) {
            ok = rowOffsets[i] >= 0 && rowStrides[i] >= 64 && (blocks == 0 || rowOffsets[i] + rowStrides[i] * (blocks / 2 - 1) + 64 <= codes.byteSize());
        }
        if (!ok || !groupsFit(blocks, groups, xp, xo, full, buf, to, ao, so, last, c0)) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
        long a = codes.address();
        long[] args = {blocks, groups, xo, full, to, ao, so, first ? 1 : 0, last ? 1 : 0, c0, h, Float.floatToRawIntBits(scale) & 0xFFFFFFFFL,
                a + rowOffsets[0], h > 1 ? a + rowOffsets[1] : 0, h > 2 ? a + rowOffsets[2] : 0, h > 3 ? a + rowOffsets[3] : 0, h > 4 ? a + rowOffsets[4] : 0,
                rowStrides[0], h > 1 ? rowStrides[1] : 0, h > 2 ? rowStrides[2] : 0, h > 3 ? rowStrides[3] : 0, h > 4 ? rowStrides[4] : 0};
        runGroups(FP8_TILE_GROUPS, args, xp, buf);
    }

    /**
     * {@link #fp8TileGroups} for int8 codes with a float scale per {@code 2^bwShift} columns ({@code q8_tile_groups.c}):
     * five rows at byte {@code rowOffsets[i]} of native {@code codes}, each next 64 columns {@code rowStrides[i]} bytes
     * further, widened as {@code Q8_0Matrix.widen5} does into {@code buf[to ..]}, row {@code i}'s column {@code c} times
     * {@code scales[sbases[i] + 4 (c >> bwShift)]}.
     */
    static void q8TileGroups(MemorySegment codes, long[] rowOffsets, long[] rowStrides, float[] scales, int[] sbases, int bwShift, int blocks,
            int groups, float[] xp, int xo, int full, float[] buf, int to, int ao, int so, boolean first, boolean last, int c0) {
        boolean ok = codes.isNative() && blocks % 2 == 0 && bwShift >= 4 && bwShift <= 30;
        for (int i = 0; ok && i < 5; i++) {
            ok = rowOffsets[i] >= 0 && rowStrides[i] >= 64 && sbases[i] >= 0
                    && (blocks == 0 || rowOffsets[i] + rowStrides[i] * (blocks / 2 - 1) + 64 <= codes.byteSize()
                            && sbases[i] + 4L * ((c0 + 32L * blocks - 1) >> bwShift) < scales.length);
        }
        if (!ok || !groupsFit(blocks, groups, xp, xo, full, buf, to, ao, so, last, c0)) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
        long a = codes.address();
        long[] args = {blocks, groups, xo, full, to, ao, so, first ? 1 : 0, last ? 1 : 0, c0, bwShift,
                a + rowOffsets[0], a + rowOffsets[1], a + rowOffsets[2], a + rowOffsets[3], a + rowOffsets[4],
                rowStrides[0], rowStrides[1], rowStrides[2], rowStrides[3], rowStrides[4], sbases[0], sbases[1], sbases[2], sbases[3], sbases[4]};
        runGroups(Q8_TILE_GROUPS, args, xp, buf, scales);
    }

    /**
     * {@link #fp8TileGroups} for row-major F16 ({@code half}) or F32 weights ({@code f16_tile_groups.c}): the five rows
     * {@code first .. first + 4} of native {@code data} ({@code cols} weights a row), columns {@code c0 ..}, widened into
     * {@code buf[to ..]} as {@code RowWidenedMatrix} widens them.
     */
    static void f16TileGroups(MemorySegment data, boolean half, long first, long cols, int blocks, int groups, float[] xp, int xo, int full,
            float[] buf, int to, int ao, int so, boolean startsRows, boolean last, int c0) {
        long size = half ? 2 : 4;
        boolean ok = data.isNative() && blocks % 2 == 0 && first >= 0 && cols >= full
                && (first + 4) * cols * size + (c0 + 32L * blocks) * size <= data.byteSize();
        if (!ok || !groupsFit(blocks, groups, xp, xo, full, buf, to, ao, so, last, c0)) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
        long a = data.address() + (first * cols + c0) * size, pitch = cols * size;
        long[] args = {blocks, groups, xo, full, to, ao, so, startsRows ? 1 : 0, last ? 1 : 0, c0, half ? 1 : 0,
                a, a + pitch, a + 2 * pitch, a + 3 * pitch, a + 4 * pitch};
        runGroups(F16_TILE_GROUPS, args, xp, buf);
    }

    /**
     * Integer sums of {@code tiles} four-row tiles of int8 codes ({@link Int8RowMatrix}'s layout, {@code cols} codes a row)
     * starting at byte {@code offset} of native segment {@code codes}, over columns {@code 0 .. full} (a multiple of 64),
     * times {@code 4 groups} tokens' byte activations ({@code i8_dots.c}: code plus 128, token {@code t} at
     * {@code xq[t full ..]}, in the codes' column order): row {@code i} of tile {@code k}, token {@code t} at
     * {@code out[oo + (4k + i) 4 groups + t]}. {@code groups} 0: one token, row {@code i} of tile {@code k} at {@code
     * out[oo + 4k + i]}, without software prefetches (i8_dots.c says why).
     */
    static void i8Dots(MemorySegment codes, long offset, int tiles, int cols, int full, int groups, byte[] xq, int[] out, int oo) {
        checkDots(64, codes, offset, tiles, cols, full, groups, xq, out, oo);
        long[] args = {codes.address() + offset, tiles, cols, full, groups, groups == 0 ? 0 : AHEAD, oo};
        try {
            I8_DOTS.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(xq), MemorySegment.ofArray(out));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * Throws unless {@link #i8Dots}' operands (or {@link Avx2Kernels#i8Dots}', {@code group} 32) lie within their memory:
     * whole tiles of codes, {@code full} a multiple of {@code group}, each token's activations, each sum.
     */
    static void checkDots(int group, MemorySegment codes, long offset, int tiles, int cols, int full, int groups, byte[] xq, int[] out, int oo) {
        final long ntok = groups == 0 ? 1 : 4L * groups;
        if (!codes.isNative() || offset < 0 || tiles < 0 || groups < 0 || full < 0 || full % group != 0 || full > cols
                || offset + 4L * cols * tiles > codes.byteSize() || ntok * full > xq.length || oo < 0
                || oo + 4L * tiles * ntok > out.length) {
            throw new IndexOutOfBoundsException("native kernel: operands outside their memory");
        }
    }
}
