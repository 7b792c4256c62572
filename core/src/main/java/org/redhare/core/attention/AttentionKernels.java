package org.redhare.core.attention;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import jdk.incubator.vector.FloatVector;
import org.redhare.core.MachineCode;

/**
 * Attention's scores, softmax and weighted values in machine code ({@code core/src/main/c/attention}, carried as bytes by
 * {@link AttentionCode}), with the same operations in the same order as {@link Attention}'s Java kernels and
 * {@link org.redhare.core.ops.Ops#softmax}, so the same bits.
 *
 * <p>Why: a decode step's attention over a long context waits on memory: Java read a 4096-position BF16 context at
 * about 10 GB/s on one thread (a third of the bandwidth) and has no prefetch instruction. These kernels ask for the
 * keys and value rows of the blocks ahead of their reads into L2 ({@code PREFETCHT1}, 8 blocks ahead; into L1 the
 * rate fell below Java's), take tiles of up to eight heads (each key or value vector widened once for every head of its
 * tile; a BF16 value row's 32 dims in one load), widen an F16 cache with {@code VCVTPH2PS} where Java takes eight vector
 * operations, and run the softmax's three passes without the JIT's per-call overhead. From cache the score and value
 * kernels run about as fast as the Java ones (docs/PERFORMANCE.md, sixtieth session).
 *
 * <p>Used where the CPU has AVX-512F, the JVM's float vectors have 16 lanes and machine code can run ({@link
 * MachineCode}); {@code -Dredhare.nativeKernels=false} or {@code -Dredhare.nativeAttention=false} turn it off, for
 * measuring. Scores need a block size that is a multiple of 16, values a head dimension that is a multiple of 32;
 * otherwise the Java kernels run.
 */
final class AttentionKernels {
    private AttentionKernels() {}

    /** Blocks of keys the score kernel asks for ahead of its reads ({@code -Dredhare.attnKeysAhead}, 0 for none). */
    private static final long KEYS_AHEAD = Long.getLong("redhare.attnKeysAhead", -8);
    /** Blocks of value rows the value kernel asks for ahead of its reads ({@code -Dredhare.attnValuesAhead}). */
    private static final long VALUES_AHEAD = Long.getLong("redhare.attnValuesAhead", -8);
    /** Bytes of value rows a run of the value kernel takes: every head tile reads them from L1. */
    private static final long RUN_BYTES = Long.getLong("redhare.attnRunBytes", 16 << 10);

    private static final MethodHandle SCORES;
    private static final MethodHandle VALUES;
    private static final MethodHandle SOFTMAX;
    private static final float[] EXP = org.redhare.core.ops.VectorMath.expConstants();
    private static final String STATUS;

    static {
        MethodHandle scores = null, values = null, softmax = null;
        String status;
        if (!Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"))) {
            status = "off (redhare.nativeKernels=false)";
        } else if (!Boolean.parseBoolean(System.getProperty("redhare.nativeAttention", "true"))) {
            status = "off (redhare.nativeAttention=false)";
        } else if (MachineCode.unavailable() != null) {
            status = "off (" + MachineCode.unavailable() + ")";
        } else if (!MachineCode.cpuHas("avx512f")) {
            status = "off (the CPU has no AVX-512F)";
        } else if (FloatVector.SPECIES_PREFERRED.length() != 16) {
            status = "off (the JVM's float vectors have " + FloatVector.SPECIES_PREFERRED.length() + " lanes, not 16)";
        } else {
            try {
                FunctionDescriptor four = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS);
                scores = MachineCode.load(AttentionCode.ATTN_SCORES, four, Linker.Option.critical(true));
                values = MachineCode.load(AttentionCode.ATTN_VALUES, four, Linker.Option.critical(true));
                softmax = MachineCode.load(AttentionCode.ATTN_SOFTMAX, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS), Linker.Option.critical(true));
                status = "on (x86-64 AVX-512F)";
            } catch (UnsupportedOperationException e) {
                scores = values = softmax = null;
                status = "off (" + e.getMessage() + ")";
            }
        }
        SCORES = scores;
        VALUES = values;
        SOFTMAX = softmax;
        STATUS = status;
    }

    /** One line for logs: whether the native attention kernels run here, and why not. */
    static String status() {
        return STATUS;
    }

    /** Whether {@link #scores} runs here for blocks of {@code blockSize} keys. */
    static boolean scoresRun(int blockSize) {
        return SCORES != null && blockSize % 16 == 0;
    }

    /** Whether {@link #values} runs here for heads of {@code vHeadDim} value dims. */
    static boolean valuesRun(int vHeadDim) {
        return VALUES != null && vHeadDim % 32 == 0;
    }

    /** Whether {@link #softmax} runs here. */
    static boolean softmaxRuns() {
        return SOFTMAX != null;
    }

    /**
     * {@link org.redhare.core.ops.Ops#softmax} of {@code buf[h stride + from .. h stride + to]} for heads {@code 0 ..
     * group}, in place, with the same bits for finite scores ({@code attn_softmax.c}).
     */
    static void softmax(float[] buf, int group, int stride, int from, int to) {
        if (group < 1 || from < 0 || to <= from || stride < to || (group - 1L) * stride + to > buf.length) {
            throw new IndexOutOfBoundsException("native attention: operands outside their memory");
        }
        long[] args = {group, stride, from, to};
        try {
            SOFTMAX.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(EXP), MemorySegment.ofArray(buf));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /** The first {@code blocks} entries of a block table name blocks of a cache of {@code numBlocks} (the code reads them). */
    private static void checkBlocks(int[] table, long blocks, long numBlocks) {
        for (int b = 0; b < blocks; b++) {
            if (table[b] < 0 || table[b] >= numBlocks) {
                throw new IndexOutOfBoundsException("native attention: block " + table[b] + " outside the cache's " + numBlocks);
            }
        }
    }

    private static long code(KvDtype kv) {
        return switch (kv) {
            case F32 -> 0;
            case BF16 -> 1;
            case F16 -> 2;
            case Q8 -> 3;
        };
    }

    private static final long[] NO_SCALES = new long[3]; // read only

    /**
     * Bytes of a Q8 cache's scales ({@code scales}: {@code [block][kvHead][bs]} floats, {@link PagedKvCache}) the kernels
     * read: {@code {address, bytes a block, bytes from a block's to group g's}}; zeros for other dtypes. Checks that the
     * scales cover every block of the cache.
     */
    private static long[] scaleArgs(KvDtype kv, MemorySegment scales, int kvHeads, int g, int bs, long numBlocks) {
        if (kv != KvDtype.Q8) {
            return NO_SCALES;
        }
        long blockBytes = (long) kvHeads * bs * 4;
        if (scales == null || !scales.isNative() || g < 0 || g >= kvHeads || scales.byteSize() < numBlocks * blockBytes) {
            throw new IndexOutOfBoundsException("native attention: scales outside their memory");
        }
        return new long[] {scales.address(), blockBytes, (long) g * bs * 4};
    }

    /**
     * {@link Attention}'s scores of heads {@code 0 .. group} (queries at {@code q[qo + h headDim]}) against keys
     * {@code 0 .. ctx} of {@code table}, into {@code buf[h stride + j]}; keys of group dims from entry {@code add} of
     * each block of {@code blockEntries} entries (a block's keys transposed, {@link PagedKvCache}); a Q8 cache's scores
     * times the key scales of KV head {@code g} ({@code keyScales}, of {@code kvHeads} heads), as {@code
     * Attention.scaleByKeys} applies them.
     */
    static void scores(MemorySegment keys, KvDtype kv, int[] table, long blockEntries, long add, int bs, int ctx, int headDim,
                       int group, float[] q, int qo, float[] buf, int stride, float scale, MemorySegment keyScales, int kvHeads, int g) {
        int es = kv.bytes();
        long blockBytes = blockEntries * es;
        long blocks = (ctx + bs - 1) / bs;
        long rounded = (ctx + 15) / 16 * 16L; // a last vector's lanes past the context are computed and stored
        // The machine code checks nothing, so everything it reads or writes is checked here (its prefetches may run
        // anywhere: a prefetch never faults).
        if (!keys.isNative() || ctx < 1 || bs % 16 != 0 || headDim < 1 || group < 1 || table.length < blocks || add < 0
                || (add + (long) headDim * bs) * es > blockBytes || qo < 0 || qo + (long) group * headDim > q.length
                || stride < rounded || (group - 1L) * stride + rounded > buf.length) {
            throw new IndexOutOfBoundsException("native attention: operands outside their memory");
        }
        long numBlocks = keys.byteSize() / blockBytes;
        checkBlocks(table, blocks, numBlocks);
        long[] sc = scaleArgs(kv, keyScales, kvHeads, g, bs, numBlocks);
        long[] args = {keys.address(), code(kv), blockBytes, add * es, bs, ctx, headDim, group, qo, stride,
                Float.floatToRawIntBits(scale), KEYS_AHEAD, sc[0], sc[1], sc[2]};
        try {
            SCORES.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(table), MemorySegment.ofArray(q), MemorySegment.ofArray(buf));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }

    /**
     * {@link Attention}'s {@code out_h = sum_j p_h[j] v_j} for heads {@code 0 .. group} (outputs at {@code out[oo + h
     * vhd]}, overwritten; probabilities at {@code buf[h stride + j]}) over keys {@code 0 .. ctx} of {@code table}; value
     * rows of {@code rowEntries} entries, the group's dims from entry {@code col}; a Q8 cache's probabilities first times
     * the value scales of KV head {@code g} ({@code valueScales}), as {@code Attention.scaleByKeys} applies them (here
     * {@code buf} is left as it was).
     */
    static void values(MemorySegment values, KvDtype kv, int[] table, long rowEntries, int col, int bs, int ctx, int vhd, int group,
                       float[] buf, int stride, float[] out, int oo, MemorySegment valueScales, int kvHeads, int g) {
        int es = kv.bytes();
        long rowBytes = rowEntries * es;
        long blocks = (ctx + bs - 1) / bs;
        if (!values.isNative() || ctx < 1 || bs < 1 || vhd % 32 != 0 || vhd < 32 || group < 1 || table.length < blocks || col < 0
                || col + vhd > rowEntries || oo < 0 || oo + (long) group * vhd > out.length || stride < ctx
                || (group - 1L) * stride + ctx > buf.length) {
            throw new IndexOutOfBoundsException("native attention: operands outside their memory");
        }
        long numBlocks = values.byteSize() / (rowBytes * bs);
        checkBlocks(table, blocks, numBlocks);
        long[] sc = scaleArgs(kv, valueScales, kvHeads, g, bs, numBlocks);
        long run = Math.max(16, RUN_BYTES / ((long) vhd * es));
        long[] args = {values.address(), code(kv), rowBytes, (long) col * es, bs, ctx, vhd, group, oo, stride, run, VALUES_AHEAD,
                sc[0], sc[1], sc[2]};
        try {
            VALUES.invokeExact(MemorySegment.ofArray(args), MemorySegment.ofArray(table), MemorySegment.ofArray(buf), MemorySegment.ofArray(out));
        } catch (Throwable e) {
            throw new AssertionError(e); // the code cannot throw
        }
    }
}
