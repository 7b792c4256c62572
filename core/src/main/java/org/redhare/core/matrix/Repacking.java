package org.redhare.core.matrix;

import java.util.function.Supplier;
import org.redhare.core.Parallel;

/**
 * The threads a matrix may spread its unpacking and repacking over while it is built from stored bytes (a GGUF tensor's
 * blocks, an FP8 tensor's codes). Loading a quantized model is mostly that work, row by row and tile by tile, and it
 * ran on the loading thread alone with the pool's workers idle: a Llama-3.2-3B-shape Q4_0 file took 9-17 s to load on
 * two threads, nine tenths of it in {@code Q4_0Matrix.ofGgml} and {@code NibbleBlocks.repack} on one of them.
 *
 * <p>Why a scoped value and not a parameter: the work sits several calls below the factory a loader calls (a GGUF type's
 * {@code ofGgml}, then a constructor, then the shared repacking of {@link QuantKernels} or {@code NibbleBlocks}), and
 * a dozen factories and constructors that tests and converters also call would each need a second signature. A loader
 * binds its pool around the factory call ({@link #with}); the code below asks for it ({@link #forRange}), and runs on its
 * caller alone where none is bound or where the pool is already busy with a job (a mixture's experts are built on every
 * thread, each on one).
 *
 * <p>Each range writes only its own rows or tiles of the result, with scratch arrays of its own, so the bytes built are
 * the same whatever the threads.
 */
public final class Repacking {
    private Repacking() {}

    private static final ScopedValue<Parallel> POOL = ScopedValue.newInstance();

    /** {@code make.get()}, whose matrices may repack over {@code pool}'s threads (none when {@code pool} is null). */
    public static <T> T with(Parallel pool, Supplier<T> make) {
        if (pool == null) {
            return make.get();
        }
        return ScopedValue.where(POOL, pool).call(make::get);
    }

    /**
     * {@code body} over {@code 0 .. n} in ranges of at least {@code grain}, on the bound pool's threads when it is idle,
     * else on the caller as one range.
     */
    static void forRange(int n, int grain, Parallel.RangeBody body) {
        Parallel.forRangeIfIdle(POOL.isBound() ? POOL.get() : null, n, Math.max(1, grain), body);
    }

    /** A grain of rows (or tiles, of {@code rowsPer} rows) {@code cols} long that makes about 256 KiB of bytes a range. */
    static int grain(int cols, int rowsPer) {
        return Math.max(1, (256 << 10) / Math.max(1, cols * rowsPer));
    }
}
