package org.redhare.core.matrix;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import org.redhare.core.MachineCode;

/**
 * Kernels in machine code for CPUs with AVX2 and FMA but no AVX-512 ({@code core/src/main/c/avx2}, carried as bytes by
 * {@link Avx2Code}, compiled without any AVX-512 instruction): AMD Zen 2 and Zen 3 servers and desktops, Intel cores
 * before Ice Lake, Intel client cores since Alder Lake. There the JVM's float vectors have 8 lanes, the layouts repacked
 * at load follow (tiles of 16 rows for {@link NibbleBlocks}), and {@link NativeKernels} (AVX-512, 16 lanes) does not run.
 * Each kernel does the arithmetic of the Java kernel it stands for, in the same order, so the same bits:
 * <ul>
 * <li>FP8 ({@link Fp8BlockMatrix}) times one token ({@code fp8_decode.c}), each scale band's activations scaled and
 * the rows' sums finished in the call, prefetching ahead as the AVX-512 kernel does, the call's first half of tiles
 * beside its second (eight chains of FMAs, two streams far apart in memory), and times several tokens ({@code
 * fp8_tokens.c}: groups of up to ten tokens, each code widened once a pass of one, two or four rows, where the Java
 * kernels widen it once per two tokens; a prompt in blocks of 64 tokens);
 * <li>BF16 ({@link Bf16Matrix}) times two to 16 tokens ({@code bf16_tokens.c}: a decode step of several users, a drafted
 * run; each 16-column block widened once per pass of one, two or four rows for a group of up to ten tokens, as {@code
 * fp8_tokens.c} in {@code token_passes.h}), where the Java kernels widen it once per four tokens;
 * <li>F16 ({@link F16Matrix}) times one to 16 tokens ({@code f16_tokens.c}: the same passes, each block of 8 halves
 * widened by {@code VCVTPH2PS} in registers, where the Java kernels widen each row into memory first);
 * <li>the LM head's int8 screen ({@link Int8RowMatrix}, {@link ScreenedHead}) times one token in floats ({@code
 * i8_rows4.c}), and times one or several tokens' activations quantized to bytes in integers ({@code i8_dots.c});
 * <li>4- and 5-bit weights ({@link NibbleBlocks}: Q4_0, Q4_1, Q4_K, Q5_0, the bulk of the usual Q4_K_M download) times
 * tokens quantized to int8 ({@code nibble_tokens.c}): two columns a 16-bit product-sum ({@code VPMADDUBSW}), as
 * llama.cpp's AVX2 kernels multiply them, where the Java kernel multiplies one column a 16-bit lane;
 * <li>Q6_K ({@link Q6_KMatrix}, the other part of Q4_K_M: a third of its weights, Llama-3.2-1B's tied LM head among them)
 * in {@link Q6_KMatrix}'s layout, times tokens quantized to int8 ({@code q6k_tokens.c}: {@code VPMADDUBSW} and
 * {@code VPMADDWD} where AVX512-VNNI has {@code VPDPBUSD}), where Q6_K otherwise widens to floats ({@link Q8_0Matrix});
 * <li>Q8_0 ({@link Q8_0IntMatrix}'s layout) the same way ({@code q8i_tokens.c}), each value's magnitude times the
 * activation with its sign, where Q8_0 otherwise widens to floats;
 * <li>Q5_K ({@link Q5_KMatrix}, the bulk of the Q5_K_M download) and Q5_1 ({@link BlockIntMatrix}, what Q5_K_M files
 * hold where rows are not whole super-blocks) in their layouts ({@code five_tokens.h}: each value put together from
 * its nibble and fifth bit, a group's four steps of 16-bit sums added before {@code VPMADDWD}), where they otherwise
 * widen to floats ({@link AffineBlockMatrix});
 * <li>IQ4_NL, IQ4_XS, Q3_K and Q2_K in their layouts ({@code small_tokens.h}: IQ4's signed levels looked up with
 * {@code VPSHUFB}, magnitude times the activation with the level's sign as Q8_0's; the K-quants' 2- and 3-bit values a
 * unit's four steps in 16 bits), where they otherwise widen to floats.
 * </ul>
 * Where the CPU also has AVX-VNNI ({@link #vnniHere}), the integer kernels but the nibble one come built with its
 * {@code VPDPBUSD}.
 *
 * <p>Why: with the JVM limited to AVX2 ({@code -XX:UseAVX=2}, which is what such a CPU gives it) on the AMD EPYC Zen 4
 * host, Llama-3.2-1B's Q4_K_M decoded at 11.9-13.2 tok/s on one thread against 20.5-22.2 for llama.cpp's AVX2 build
 * (its {@code haswell} CPU backend) on the same file; with these kernels 25.8-26.8 (prompts 30-32 -> 52-54, llama.cpp
 * 47-48; docs/PERFORMANCE.md, sixty-fifth session).
 *
 * <p>Used where the CPU has AVX2, FMA and F16C, the JVM's float vectors have 8 lanes, and machine code can run ({@link
 * MachineCode}); {@code -Dredhare.nativeKernels=false} turns it off with the AVX-512 kernels. {@link #status()} says
 * which.
 */
final class Avx2Kernels {
    private Avx2Kernels() {}

    private static final MethodHandle NIBBLE_TOKENS;
    private static final MethodHandle Q6K_TOKENS;
    private static final MethodHandle Q8I_TOKENS;
    private static final MethodHandle Q5K_TOKENS;
    private static final MethodHandle Q51_TOKENS;
    private static final MethodHandle IQ4NL_TOKENS;
    private static final MethodHandle IQ4XS_TOKENS;
    private static final MethodHandle Q3K_TOKENS;
    private static final MethodHandle Q2K_TOKENS;
    private static final MethodHandle FP8_DECODE;
    private static final MethodHandle FP8_TOKENS;
    private static final MethodHandle INT8;
    private static final MethodHandle I8_DOTS;
    private static final MethodHandle BF16_TOKENS;
    private static final MethodHandle F16_TOKENS;
    private static final String STATUS;

    static {
        MethodHandle nibbleTokens = null, q6kTokens = null, q8iTokens = null, q5kTokens = null, q51Tokens = null, fp8Decode = null, fp8Tokens = null, int8 = null, bf16Tokens = null, f16Tokens = null;
        MethodHandle iq4nlTokens = null, iq4xsTokens = null, q3kTokens = null, q2kTokens = null, i8Dots = null;
        int dotsOffset = 0;
        String status;
        if (!Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"))) {
            status = "off (redhare.nativeKernels=false)";
        } else if (Kernels.L != 8) {
            status = "off (the JVM's float vectors have " + Kernels.L + " lanes, not 8)";
        } else if (MachineCode.unavailable() != null) {
            status = "off (" + MachineCode.unavailable() + ")";
        } else if (!MachineCode.cpuHas("avx2") || !MachineCode.cpuHas("fma") || !MachineCode.cpuHas("f16c")) {
            status = "off (the CPU has no AVX2, FMA and F16C)";
        } else {
            try {
                nibbleTokens = MachineCode.load(Avx2Code.NIBBLE_TOKENS, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
                        Linker.Option.critical(true));
                FunctionDescriptor vnni = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS);
                boolean dots = vnniHere();
                q6kTokens = MachineCode.load(dots ? AvxVnniCode.Q6K_TOKENS : Avx2Code.Q6K_TOKENS, vnni, Linker.Option.critical(true));
                q8iTokens = MachineCode.load(dots ? AvxVnniCode.Q8I_TOKENS : Avx2Code.Q8I_TOKENS, vnni, Linker.Option.critical(true));
                q5kTokens = MachineCode.load(dots ? AvxVnniCode.Q5K_TOKENS : Avx2Code.Q5K_TOKENS, vnni, Linker.Option.critical(true));
                q51Tokens = MachineCode.load(dots ? AvxVnniCode.Q51_TOKENS : Avx2Code.Q51_TOKENS, vnni, Linker.Option.critical(true));
                iq4nlTokens = MachineCode.load(dots ? AvxVnniCode.IQ4NL_TOKENS : Avx2Code.IQ4NL_TOKENS, vnni, Linker.Option.critical(true));
                iq4xsTokens = MachineCode.load(dots ? AvxVnniCode.IQ4XS_TOKENS : Avx2Code.IQ4XS_TOKENS, vnni, Linker.Option.critical(true));
                q3kTokens = MachineCode.load(dots ? AvxVnniCode.Q3K_TOKENS : Avx2Code.Q3K_TOKENS, vnni, Linker.Option.critical(true));
                q2kTokens = MachineCode.load(dots ? AvxVnniCode.Q2K_TOKENS : Avx2Code.Q2K_TOKENS, vnni, Linker.Option.critical(true));
                fp8Decode = MachineCode.load(Avx2Code.FP8_DECODE, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                fp8Tokens = MachineCode.load(Avx2Code.FP8_TOKENS, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                int8 = MachineCode.load(Avx2Code.I8_ROWS4, FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG), Linker.Option.critical(true));
                i8Dots = MachineCode.load(dots ? AvxVnniCode.I8_DOTS : Avx2Code.I8_DOTS, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                dotsOffset = dots ? 128 : 0; // the build loaded: VPDPBUSD takes the activations plus 128
                bf16Tokens = MachineCode.load(Avx2Code.BF16_TOKENS, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                f16Tokens = MachineCode.load(Avx2Code.F16_TOKENS, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(true));
                status = "on (x86-64 AVX2" + (dots ? " with AVX-VNNI" : "") + ": FP8; BF16 several tokens; F16; the LM head's int8 screen, in integers too; Q2_K to Q6_K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,"
                        + " IQ4_NL, IQ4_XS)";
            } catch (UnsupportedOperationException e) {
                nibbleTokens = q6kTokens = q8iTokens = q5kTokens = q51Tokens = fp8Decode = fp8Tokens = int8 = bf16Tokens = f16Tokens = null;
                iq4nlTokens = iq4xsTokens = q3kTokens = q2kTokens = i8Dots = null;
                status = "off (" + e.getMessage() + ")";
            }
        }
        NIBBLE_TOKENS = nibbleTokens;
        Q6K_TOKENS = q6kTokens;
        Q8I_TOKENS = q8iTokens;
        Q5K_TOKENS = q5kTokens;
        Q51_TOKENS = q51Tokens;
        IQ4NL_TOKENS = iq4nlTokens;
        IQ4XS_TOKENS = iq4xsTokens;
        Q3K_TOKENS = q3kTokens;
        Q2K_TOKENS = q2kTokens;
        FP8_DECODE = fp8Decode;
        FP8_TOKENS = fp8Tokens;
        INT8 = int8;
        I8_DOTS = i8Dots;
        DOTS_OFFSET = dotsOffset;
        BF16_TOKENS = bf16Tokens;
        F16_TOKENS = f16Tokens;
        STATUS = status;
    }

    /**
     * Whether the integer kernels ({@link #vnniTokens}) are the AVX-VNNI builds ({@code core/src/main/c/avxvnni}: the same
     * sources with one {@code VPDPBUSD} a step where AVX2 takes {@code VPMADDUBSW} and {@code VPMADDWD}; Intel client
     * cores since Alder Lake and E-core Xeons, which have no AVX-512): where the CPU has AVX-VNNI, unless {@code
     * -Dredhare.avxVnni=false}.
     * The nibble kernel's layout pairs columns in 16-bit lanes, which {@code VPDPBUSD} does not take: it stays AVX2.
     */
    static boolean vnniHere() {
        return MachineCode.cpuHas("avx_vnni") && Boolean.parseBoolean(System.getProperty("redhare.avxVnni", "true"));
    }

    /** Whether {@link #nibbleTokens} runs here. */
    static boolean nibblesAvailable() {
        return NIBBLE_TOKENS != null;
    }

    /**
     * Bytes {@link #vnniTokens} (Q6_K, Q8_0) prefetches ahead of its reads in each tile's stream: into L2 where negative (PREFETCHT1),
     * into L1 where positive, none at 0. By default 26624 (32 blocks) into L2: [128256 x 2048] Q6_K from DRAM, one
     * thread, JVM limited to AVX2 on the AMD EPYC Zen 4 host (membw 28.1 GB/s), read 14.4-15.8 GB/s with none, 17.1-21.0
     * with 1664 into L1, 18.7 / 24.8-26.0 / 26.4-26.7 / 28.1 with 3328 / 6656 / 13312 / 26624 into L2; two threads 28.1
     * with none, 36.1-39.0 with 26624 (sixty-fifth session). In cache ([2048 x 2048]) 40.7-41.1 G weights/s against
     * 42.5 with none. {@code -Dredhare.avx2VnniAhead=N} sets it.
     */
    static final long VNNI_AHEAD = Long.getLong("redhare.avx2VnniAhead", -26624);

    /**
     * Whether {@link #vnniTokens} runs here for {@code form} (0: Q6_K, 1: Q8_0, 2: Q5_K, 7: Q5_1, 8: IQ4_NL, 9: IQ4_XS,
     * 10: Q3_K, 11: Q2_K; Q4_0, Q4_1, Q4_K and Q5_0 take {@link NibbleBlocks} on AVX2).
     */
    static boolean vnniAvailable(int form) {
        return switch (form) {
            case 0 -> Q6K_TOKENS != null;
            case 1 -> Q8I_TOKENS != null;
            case 2 -> Q5K_TOKENS != null;
            case 7 -> Q51_TOKENS != null;
            case 8 -> IQ4NL_TOKENS != null;
            case 9 -> IQ4XS_TOKENS != null;
            case 10 -> Q3K_TOKENS != null;
            case 11 -> Q2K_TOKENS != null;
            default -> false;
        };
    }

    /** Whether {@link #fp8Decode} and {@link #fp8Tokens} run here. */
    static boolean fp8Available() {
        return FP8_DECODE != null && FP8_TOKENS != null;
    }

    /** Whether {@link #int8} runs here. */
    static boolean int8Available() {
        return INT8 != null;
    }

    /** Whether {@link #i8Dots} runs here. */
    static boolean dotsAvailable() {
        return I8_DOTS != null;
    }

    /**
     * What {@link #i8Dots} adds to each activation's code: 128 in the AVX-VNNI build ({@code VPDPBUSD} takes them unsigned,
     * as AVX512-VNNI's {@link NativeKernels#i8Dots} does), 0 in the AVX2 one (signed codes times the weights' magnitudes).
     */
    static int dotsOffset() {
        return DOTS_OFFSET;
    }

    private static final int DOTS_OFFSET;

    /** Whether {@link #bf16Tokens} runs here. */
    static boolean bf16Available() {
        return BF16_TOKENS != null;
    }

    /** Whether {@link #f16Tokens} runs here. */
    static boolean f16Available() {
        return F16_TOKENS != null;
    }

    /** One line for logs: whether these kernels run here, and why not. */
    static String status() {
        return STATUS;
    }

    /**
     * {@link NativeKernels#nibbleTokens} for {@link NibbleBlocks}' tiles of 16 rows ({@code avx2/nibble_tokens.c}):
     * {@code packed} 256 bytes a tile's block (a Q5_0 span of 16 columns), scales and offsets {@code [tile][block][16]}
     * (factored: {@code [tile][nb / 8][16]}), codes {@code [tile][nb][8]}; everything else as there.
     */
    static void nibbleTokens(MemorySegment packed, int nb, int tiles, int rows, int p0, int p1, int t0, int t1, int n, short[] xp,
            float[] xf, int form, float[] d, float[] o, int[] codes, float[] y, long ahead) {
        int quads = NativeKernels.checkNibbleTokens(16, packed, nb, tiles, rows, p0, p1, t0, t1, n, xp, xf, form, d, o, codes, y);
        long[] args = {packed.address(), nb, quads, tiles, rows, p0, p1, t0, t1, n, ahead, form};
        try {
            NIBBLE_TOKENS.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(xp), MemorySegment.ofArray(xf),
                    MemorySegment.ofArray(d), MemorySegment.ofArray(o), MemorySegment.ofArray(codes), MemorySegment.ofArray(y));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * Q6_K ({@code form} 0, {@link Q6_KMatrix}'s layout, {@code q6k_tokens.c}), Q8_0 (1, {@link Q8_0IntMatrix}'s,
     * {@code q8i_tokens.c}), Q5_K or Q5_1 (2, 7: {@code five_tokens.h}), IQ4_NL, IQ4_XS, Q3_K or Q2_K (8 to 11: {@code
     * small_tokens.h}) times tokens {@code t0 .. t1} of {@code n}: the forms, layouts and operands of {@link
     * NativeKernels#vnniTokens}; each tile's stream prefetched {@link #VNNI_AHEAD} bytes ahead.
     */
    static void vnniTokens(MemorySegment packed, int form, int nb, int tiles, int rows, int p0, int p1, int t0, int t1, int n, short[] xp,
            float[] xf, float[] d, float[] y) {
        if (!vnniAvailable(form)) {
            throw new IllegalArgumentException("no AVX2 kernel for form " + form);
        }
        int quads = NativeKernels.checkVnniTokens(packed, form, nb, tiles, rows, p0, p1, t0, t1, n, xp, xf, d, y);
        long[] args = {packed.address(), nb, quads, tiles, rows, p0, p1, t0, t1, n, VNNI_AHEAD, 0};
        try {
            MemorySegment a = MemorySegment.ofArray(args), x = MemorySegment.ofArray(xp), f = MemorySegment.ofArray(xf);
            MemorySegment s = MemorySegment.ofArray(d), out = MemorySegment.ofArray(y);
            switch (form) { // one call site each: constant handles
                case 0 -> Q6K_TOKENS.invokeExact(a, x, f, s, out);
                case 1 -> Q8I_TOKENS.invokeExact(a, x, f, s, out);
                case 2 -> Q5K_TOKENS.invokeExact(a, x, f, s, out);
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
     * {@link NativeKernels#fp8Decode} for {@link Fp8BlockMatrix}'s layout with 8-float vectors (groups of 32 columns,
     * {@code avx2/fp8_decode.c}, two streams of tiles: the call's first half beside its second): {@code cols} a multiple
     * of 32, {@code scaled} room for {@code 2 cols} floats (each stream's band); everything else as there.
     */
    static void fp8Decode(MemorySegment codes, long offset, int tiles, int cols, int r0, int bandRows, int nb, int bw, float[] x,
            float[] xScales, float[] factors, float[] y, float[] scaled, long ahead) {
        NativeKernels.checkFp8Decode(32, 2, codes, offset, tiles, cols, r0, bandRows, nb, bw, x, xScales, factors, y, scaled);
        long[] args = {codes.address() + offset, tiles, cols, ahead, r0, bandRows, nb, bw};
        try {
            FP8_DECODE.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(x), MemorySegment.ofArray(xScales),
                    MemorySegment.ofArray(factors), MemorySegment.ofArray(y), MemorySegment.ofArray(scaled));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * {@link NativeKernels#fp8Tokens} for {@link Fp8BlockMatrix}'s layout with 8-float vectors ({@code avx2/fp8_tokens.c}:
     * groups of up to ten tokens, each code widened once per pass of one, two or four rows): {@code cols} a multiple of
     * 32; everything else as there.
     */
    static void fp8Tokens(MemorySegment codes, long offset, int tiles, int cols, int r0, int bandRows, int nb, int bw, int n, int rows,
            float[] x, int xo, float[] xScales, float[] factors, float[] y, int yo, float[] scaled, long ahead) {
        NativeKernels.checkFp8Tokens(32, codes, offset, tiles, cols, r0, bandRows, nb, bw, n, rows, x, xo, xScales, factors, y, yo, scaled);
        long[] args = {codes.address() + offset, tiles, cols, ahead, r0, bandRows, nb, bw, n, rows};
        try {
            FP8_TOKENS.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(x).asSlice(4L * xo), MemorySegment.ofArray(xScales),
                    MemorySegment.ofArray(factors), MemorySegment.ofArray(y).asSlice(4L * yo), MemorySegment.ofArray(scaled));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * {@link NativeKernels#int8} for {@link Int8RowMatrix}'s layout with 8-float vectors ({@code avx2/i8_rows4.c}): {@code
     * full} a multiple of 32; everything else as there.
     */
    static void int8(MemorySegment codes, long offset, int tiles, int cols, int full, float[] buf, int xo, int oo, long ahead) {
        NativeKernels.checkRows4(32, codes, offset, tiles, cols, full, buf, xo, oo);
        try {
            INT8.invokeExact(codes.address() + offset, (long) tiles, (long) cols, (long) full, MemorySegment.ofArray(buf), (long) xo,
                    (long) oo, ahead);
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * {@link NativeKernels#i8Dots} for {@link Int8RowMatrix}'s layout with 8-float vectors ({@code avx2/i8_dots.c}):
     * {@code full} a multiple of 32; each sum that of the codes times the activations' codes plus {@link #dotsOffset}.
     * {@code groups} 0 (one token) prefetches nothing, several tokens {@link NativeKernels#AHEAD} bytes into L1.
     */
    static void i8Dots(MemorySegment codes, long offset, int tiles, int cols, int full, int groups, byte[] xq, int[] out, int oo) {
        NativeKernels.checkDots(32, codes, offset, tiles, cols, full, groups, xq, out, oo);
        long[] args = {codes.address() + offset, tiles, cols, full, groups, groups == 0 ? 0 : NativeKernels.AHEAD, oo};
        try {
            I8_DOTS.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(xq), MemorySegment.ofArray(out));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * {@link NativeKernels#bf16Tokens} for {@link Bf16Matrix}'s layout with 8-float vectors ({@code avx2/bf16_tokens.c}:
     * blocks of 16 columns, groups of up to ten tokens, each block widened once per pass of one, two or four rows): {@code
     * cols} and {@code panel} multiples of 16, token {@code t}'s deinterleaved activations at {@code x[xo + t cols ..]};
     * everything else as there.
     */
    static void bf16Tokens(MemorySegment data, int rows, int first, int quads, boolean spread, int cols, int panel, int n, int stride,
            float[] x, int xo, float[] y, int yo, float[] scratch, long ahead) {
        NativeKernels.checkBf16Tokens(16, data, rows, first, quads, cols, panel, n, stride, x, xo, y, yo, scratch);
        long[] args = {data.address(), rows, first, quads, cols, panel, n, stride, ahead, spread ? quads : 1};
        try {
            BF16_TOKENS.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(x).asSlice(4L * xo),
                    MemorySegment.ofArray(y).asSlice(4L * yo), MemorySegment.ofArray(scratch));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * {@link NativeKernels#f16Tokens} for F16 rows with 8-float vectors ({@code avx2/f16_tokens.c}: blocks of 16 columns,
     * groups of up to ten tokens, each block widened by {@code VCVTPH2PS} once per pass of one, two or four rows): {@code
     * cols} a multiple of 16, F16 only; everything else as there.
     */
    static void f16Tokens(MemorySegment data, long first, int quads, boolean spread, int cols, int n, int stride, float[] x, float[] y,
            int yo, float[] scratch, long ahead) {
        NativeKernels.checkF16Tokens(16, data, true, first, quads, cols, n, stride, x, y, yo, scratch);
        long[] args = {data.address() + first * cols * 2, quads, cols, ahead, 1, n, stride, spread ? quads : 1};
        try {
            F16_TOKENS.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(x), MemorySegment.ofArray(y).asSlice(4L * yo),
                    MemorySegment.ofArray(scratch));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }
}
