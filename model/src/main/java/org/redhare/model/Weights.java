package org.redhare.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.redhare.core.DType;
import org.redhare.core.NativeMemory;
import org.redhare.core.Numbers;
import org.redhare.core.matrix.AffineBlockMatrix;
import org.redhare.core.matrix.Bf16Matrix;
import org.redhare.core.matrix.BlockIntMatrix;
import org.redhare.core.matrix.F16Matrix;
import org.redhare.core.matrix.F32Matrix;
import org.redhare.core.matrix.Fp8BlockMatrix;
import org.redhare.core.matrix.IQ4_XSIntMatrix;
import org.redhare.core.matrix.Q2_KIntMatrix;
import org.redhare.core.matrix.Q3_KIntMatrix;
import org.redhare.core.matrix.Q4_0Matrix;
import org.redhare.core.matrix.Q4_KIntMatrix;
import org.redhare.core.matrix.Q4_KMatrix;
import org.redhare.core.matrix.Q5_0Matrix;
import org.redhare.core.matrix.Q5_KMatrix;
import org.redhare.core.matrix.Q6_KMatrix;
import org.redhare.core.matrix.Q8_0IntMatrix;
import org.redhare.core.matrix.Q8_0Matrix;
import org.redhare.core.matrix.Repacking;
import org.redhare.core.matrix.WeightMatrix;

/** Turns stored tensors into kernels' operands, checking shapes against what the architecture expects. */
public final class Weights {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Checkpoint checkpoint;
    private final Fp8Scheme fp8; // how FP8 weights are scaled, from quantization_config
    private final org.redhare.core.Parallel pool; // threads that repacking a matrix may use (Repacking), or null

    public Weights(Checkpoint checkpoint) {
        this(checkpoint, Fp8Scheme.DEFAULT_BLOCK);
    }

    public Weights(Checkpoint checkpoint, Fp8Scheme fp8) {
        this(checkpoint, fp8, null);
    }

    /**
     * With {@code pool} (may be null) for the unpacking and repacking of the matrices it makes from FP8 and GGUF
     * tensors ({@link Repacking}): nine tenths of loading a quantized model, which otherwise runs on the caller alone.
     */
    public Weights(Checkpoint checkpoint, Fp8Scheme fp8, org.redhare.core.Parallel pool) {
        this.checkpoint = checkpoint;
        this.fp8 = fp8;
        this.pool = pool;
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    public boolean has(String name) {
        return checkpoint.contains(name);
    }

    /** A {@code [rows, cols]} matrix kept in its stored precision (no copy). */
    public WeightMatrix matrix(String name, int rows, int cols) {
        TensorRef t = checkpoint.tensor(name);
        expectShape(t, rows, cols);
        return matrix(t, rows, cols);
    }

    /**
     * The matrices {@code names} (matrix {@code i} of shape {@code [rows[i], cols]}) as one {@code [sum of rows, cols]}
     * matrix, their rows one after another, or null when they cannot be one: stored types that differ, FP8 with one scale
     * per tensor, or FP8 scale blocks that would straddle two of them (a matrix other than the last whose rows are not a
     * multiple of the block height). Every stored type's rows are independent (a row's blocks and, for FP8, its row of
     * scale blocks), so the stacked bytes are a valid tensor of the same type, and each kernel computes a row the same
     * way whatever rows surround it: the outputs are the separate products' bits.
     *
     * <p>Why: projections of the same input (q, k and v; gate and up) then take one parallel job and one reordering of
     * the activations instead of three or two, and k and v (a few hundred rows under grouped-query attention) stop being
     * jobs too small to share evenly between threads. Costs a copy of their bytes at load (the checkpoint's mapped pages
     * of them are left to the page cache), over {@code pool}'s threads. Not from inside a job of {@code pool}.
     */
    public WeightMatrix stacked(org.redhare.core.Parallel pool, java.util.List<String> names, int[] rows, int cols) {
        TensorRef[] parts = new TensorRef[names.size()];
        int total = 0;
        long bytes = 0;
        for (int i = 0; i < parts.length; i++) {
            parts[i] = checkpoint.tensor(names.get(i));
            expectShape(parts[i], rows[i], cols);
            if (parts[i].dtype() != parts[0].dtype()) {
                return null;
            }
            total = Math.addExact(total, rows[i]);
            bytes += parts[i].data().byteSize();
        }
        org.redhare.core.DType type = parts[0].dtype();
        boolean fp8Type = type == org.redhare.core.DType.F8_E4M3;
        switch (type) {
            case BF16, F16, F32, F8_E4M3, Q8_0, Q4_0, Q4_K, Q6_K, Q5_0, Q4_1, Q5_1, Q5_K, Q2_K, Q3_K, IQ4_NL, IQ4_XS -> { }
            default -> {
                return null; // matrix() reports the unsupported type when the caller takes the tensors one by one
            }
        }
        int blockRows = fp8.blockRows(total);
        if (fp8Type) {
            if (fp8.kind() == Fp8Scheme.Kind.TENSOR) {
                return null;
            }
            for (int i = 0; i < parts.length - 1; i++) {
                if (rows[i] % blockRows != 0) {
                    return null;
                }
            }
        }
        String name = String.join(" + ", names);
        if (type == org.redhare.core.DType.BF16) {
            WeightMatrix m = Bf16Matrix.stacked(pool, Arrays.stream(parts).map(TensorRef::data).toList(), rows, cols); // its own layout, copied once
            for (TensorRef t : parts) {
                NativeMemory.releaseFileView(t.data());
            }
            return m;
        }
        // F16 and F32 matrices compute on the bytes they are given: theirs live as long as the matrix. The other types
        // repack them at construction, so theirs are freed as soon as it returns (not left for a collection to find).
        boolean views = type == org.redhare.core.DType.F16 || type == org.redhare.core.DType.F32;
        java.lang.foreign.Arena arena = views ? java.lang.foreign.Arena.ofAuto() : java.lang.foreign.Arena.ofShared();
        try {
            java.lang.foreign.MemorySegment data = NativeMemory.allocate(bytes, arena);
            long at = 0;
            for (TensorRef t : parts) {
                // in 4 MiB pieces over the threads: the copy is mostly page faults (the mapped file's and the new memory's)
                java.lang.foreign.MemorySegment src = t.data();
                long to = at;
                long size = src.byteSize();
                int pieces = (int) ((size + COPY_PIECE - 1) / COPY_PIECE);
                org.redhare.core.Parallel.forRangeIfIdle(pool, pieces, 1, (a, b, w) -> {
                    long from = a * COPY_PIECE, end = Math.min(size, b * COPY_PIECE);
                    java.lang.foreign.MemorySegment.copy(src, from, data, to + from, end - from);
                });
                at += size;
            }
            WeightMatrix m = fp8Type ? stackedFp8(parts, rows, cols, total, blockRows, data, name)
                    : matrix(new TensorRef(name, type, new long[] {total, cols}, data, parts[0].file()), total, cols);
            for (TensorRef t : parts) {
                NativeMemory.releaseFileView(t.data()); // copied above
            }
            return m;
        } finally {
            if (!views) {
                arena.close();
            }
        }
    }

    private static final long COPY_PIECE = 4L << 20;

    private WeightMatrix stackedFp8(TensorRef[] parts, int[] rows, int cols, int total, int blockRows, java.lang.foreign.MemorySegment data,
                                    String name) {
        float[][] scales = new float[parts.length][];
        long scaleCount = 0;
        for (int i = 0; i < parts.length; i++) {
            scales[i] = fp8ScaleFloats(parts[i], rows[i], cols);
            scaleCount += scales[i].length;
        }
        java.lang.foreign.MemorySegment s = NativeMemory.allocate(4 * scaleCount);
        long o = 0;
        for (float[] f : scales) {
            java.lang.foreign.MemorySegment.copy(f, 0, s, F32, o, f.length);
            o += 4L * f.length;
        }
        try {
            return Repacking.with(pool, () -> new Fp8BlockMatrix(data, s, total, cols, blockRows, fp8.blockCols(cols)));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException("FP8 tensors " + name + ": " + e.getMessage(), e);
        }
    }

    /**
     * The {@code [rows, cols]} matrix {@code t} (of any stored type, FP8 with its scales from this checkpoint) widened to
     * floats, row-major: for converters that rearrange weights (GGUF's split DeepSeek {@code kv_b}).
     */
    public float[] floats(TensorRef t, int rows, int cols) {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        if (t.dtype() == org.redhare.core.DType.F32 || t.dtype() == org.redhare.core.DType.BF16 || t.dtype() == org.redhare.core.DType.F16) {
            if (t.elements() != out.length) {
                throw new ModelLoadException("tensor '" + t.name() + "' in " + t.file() + " has " + t.elements() + " values, not " + rows + " x " + cols);
            }
            return toFloats(t);
        }
        WeightMatrix m = matrix(t, rows, cols);
        for (int r = 0; r < rows; r++) {
            m.row(r, out, r * cols);
        }
        return out;
    }

    /**
     * The matrix for {@code t}; where it computes on a copy or repacking of the stored bytes (every type but F16, F32
     * and BF16 rows short enough to use in place), the checkpoint's mapped pages of them are released
     * ({@link NativeMemory#releaseFileView}), so that the process does not hold the weights twice.
     */
    private WeightMatrix matrix(TensorRef t, int rows, int cols) {
        WeightMatrix m = Repacking.with(pool, () -> made(t, rows, cols));
        boolean inPlace = switch (t.dtype()) {
            case F16, F32 -> true;
            case BF16 -> Bf16Matrix.usesInPlace(cols);
            default -> false;
        };
        if (!inPlace) {
            NativeMemory.releaseFileView(t.data());
        }
        return m;
    }

    private WeightMatrix made(TensorRef t, int rows, int cols) {
        String name = t.name();
        return switch (t.dtype()) {
            case BF16 -> new Bf16Matrix(t.data(), rows, cols);
            case F16 -> new F16Matrix(t.data(), rows, cols);
            case F32 -> new F32Matrix(t.data(), rows, cols);
            case F8_E4M3 -> fp8(t, rows, cols);
            case Q8_0 -> ggml(t, () -> Q8_0IntMatrix.runsHere() ? Q8_0IntMatrix.ofGgml(t.data(), rows, cols) : Q8_0Matrix.ofGgml(t.data(), rows, cols));
            case Q4_0 -> ggml(t, () -> BlockIntMatrix.runsHere(DType.Q4_0) ? BlockIntMatrix.ofGgml(DType.Q4_0, t.data(), rows, cols) : Q4_0Matrix.ofGgml(t.data(), rows, cols));
            case Q4_K -> ggml(t, () -> Q4_KIntMatrix.runsHere() ? Q4_KIntMatrix.ofGgml(t.data(), rows, cols) : Q4_KMatrix.ofGgml(t.data(), rows, cols));
            case Q6_K -> ggml(t, () -> Q6_KMatrix.runsHere() ? Q6_KMatrix.ofGgml(t.data(), rows, cols) : Q8_0Matrix.ofGgmlQ6_K(t.data(), rows, cols));
            case Q5_0 -> ggml(t, () -> BlockIntMatrix.runsHere(DType.Q5_0) ? BlockIntMatrix.ofGgml(DType.Q5_0, t.data(), rows, cols) : Q5_0Matrix.ofGgml(t.data(), rows, cols));
            case Q4_1 -> ggml(t, () -> BlockIntMatrix.runsHere(DType.Q4_1) ? BlockIntMatrix.ofGgml(DType.Q4_1, t.data(), rows, cols) : Q4_KMatrix.ofGgmlQ4_1(t.data(), rows, cols));
            case Q5_1 -> ggml(t, () -> BlockIntMatrix.runsHere(DType.Q5_1) ? BlockIntMatrix.ofGgml(DType.Q5_1, t.data(), rows, cols) : AffineBlockMatrix.ofGgmlQ5_1(t.data(), rows, cols));
            case Q5_K -> ggml(t, () -> Q5_KMatrix.runsHere() ? Q5_KMatrix.ofGgml(t.data(), rows, cols) : AffineBlockMatrix.ofGgmlQ5_K(t.data(), rows, cols));
            case Q2_K -> ggml(t, () -> Q2_KIntMatrix.runsHere() ? Q2_KIntMatrix.ofGgml(t.data(), rows, cols) : AffineBlockMatrix.ofGgmlQ2_K(t.data(), rows, cols));
            case Q3_K -> ggml(t, () -> Q3_KIntMatrix.runsHere() ? Q3_KIntMatrix.ofGgml(t.data(), rows, cols) : Q8_0Matrix.ofGgmlQ3_K(t.data(), rows, cols));
            case IQ4_NL -> ggml(t, () -> BlockIntMatrix.runsHere(DType.IQ4_NL) ? BlockIntMatrix.ofGgml(DType.IQ4_NL, t.data(), rows, cols) : Q8_0Matrix.ofGgmlIQ4_NL(t.data(), rows, cols));
            case IQ4_XS -> ggml(t, () -> IQ4_XSIntMatrix.runsHere() ? IQ4_XSIntMatrix.ofGgml(t.data(), rows, cols) : Q8_0Matrix.ofGgmlIQ4_XS(t.data(), rows, cols));
            default -> throw new ModelLoadException("tensor '" + name + "' in " + t.file() + " has dtype " + t.dtype()
                    + ", which linear layers cannot use (supported: BF16, F16, F32, F8_E4M3 with block scales, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)");
        };
    }

    private static WeightMatrix ggml(TensorRef t, java.util.function.Supplier<WeightMatrix> make) {
        try {
            return make.get();
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException("tensor '" + t.name() + "' in " + t.file() + ": " + e.getMessage(), e);
        }
    }

    /**
     * FP8 E4M3 weights with their scale tensor ({@link Fp8Scheme}): {@code w = decode(code) * scale[r / bh][c / bw]}
     * with blocks, one scale per row, or one per tensor. Scales stored as BF16/F16 are widened to F32.
     */
    private WeightMatrix fp8(TensorRef t, int rows, int cols) {
        java.lang.foreign.MemorySegment scales = fp8Scales(t, rows, cols);
        try {
            return new Fp8BlockMatrix(t.data(), scales, rows, cols, fp8.blockRows(rows), fp8.blockCols(cols));
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException("FP8 tensor '" + t.name() + "' in " + t.file() + ": " + e.getMessage(), e);
        }
    }

    /** FP8 tensor {@code t}'s scales, checked against this checkpoint's scheme, as F32 (widened when stored narrower). */
    private java.lang.foreign.MemorySegment fp8Scales(TensorRef t, int rows, int cols) {
        String scaleName = t.name() + fp8.scaleSuffix();
        TensorRef s = checkpoint.find(scaleName).orElseThrow(() -> new ModelLoadException("FP8 tensor '" + t.name() + "' in " + t.file()
                + " has no scale tensor '" + scaleName + "' (the checkpoint's quantization_config says " + fp8.kind().name().toLowerCase()
                + " scales): the checkpoint is incomplete or uses an unsupported FP8 scheme"));
        if (!fp8.acceptsScaleShape(s.shape(), rows, cols)) {
            throw new ModelLoadException("scale tensor '" + scaleName + "' in " + s.file() + " has shape " + s.shapeString()
                    + " but " + t.name() + " " + t.shapeString() + " needs " + fp8.expectedShape(rows, cols));
        }
        return switch (s.dtype()) {
            case F32 -> s.data();
            case BF16, F16 -> {
                float[] f = toFloats(s);
                java.lang.foreign.MemorySegment m = java.lang.foreign.Arena.ofAuto().allocate(4L * f.length, 4);
                for (int i = 0; i < f.length; i++) {
                    m.setAtIndex(F32, i, f[i]);
                }
                yield m;
            }
            default -> throw new ModelLoadException("scale tensor '" + scaleName + "' has dtype " + s.dtype() + "; expected F32, BF16 or F16");
        };
    }

    /** {@link #fp8Scales} as floats, row-major. */
    private float[] fp8ScaleFloats(TensorRef t, int rows, int cols) {
        java.lang.foreign.MemorySegment m = fp8Scales(t, rows, cols);
        float[] f = new float[Math.toIntExact(m.byteSize() / 4)];
        for (int i = 0; i < f.length; i++) {
            f[i] = m.getAtIndex(F32, i);
        }
        return f;
    }

    /** A 1-D tensor of {@code len} elements widened to float (norm weights, biases). */
    public float[] vector(String name, int len) {
        TensorRef t = checkpoint.tensor(name);
        expectShape(t, len);
        return toFloats(t);
    }

    public static float[] toFloats(TensorRef t) {
        return toFloats(t, null);
    }

    /** {@link #toFloats(TensorRef)} over {@code pool}'s threads (null: the calling thread), in ranges of 64Ki values. */
    public static float[] toFloats(TensorRef t, org.redhare.core.Parallel pool) {
        int n = Math.toIntExact(t.elements());
        if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F16) {
            throw new ModelLoadException("tensor '" + t.name() + "' in " + t.file() + " has dtype " + t.dtype()
                    + "; expected F32, BF16 or F16");
        }
        float[] out = new float[n];
        org.redhare.core.Parallel.RangeBody body = (a, b, w) -> toFloats(t, out, a, b);
        org.redhare.core.Parallel.forRangeIfIdle(pool, n, 1 << 16, body);
        return out;
    }

    private static void toFloats(TensorRef t, float[] out, int from, int to) {
        MemorySegment d = t.data();
        switch (t.dtype()) {
            case F32 -> {
                for (int i = from; i < to; i++) out[i] = d.getAtIndex(F32, i);
            }
            case BF16 -> {
                for (int i = from; i < to; i++) out[i] = Numbers.bf16ToFloat(d.getAtIndex(I16, i));
            }
            default -> {
                for (int i = from; i < to; i++) out[i] = Float.float16ToFloat(d.getAtIndex(I16, i));
            }
        }
    }

    public static void expectShape(TensorRef t, long... shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new ModelLoadException("tensor '" + t.name() + "' in " + t.file() + " has shape " + t.shapeString()
                    + " but config.json implies " + Arrays.toString(shape)
                    + ". The config and the weights do not belong together.");
        }
    }
}
