package org.redhare.model;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.redhare.core.Numbers;
import org.redhare.core.matrix.Bf16Matrix;
import org.redhare.core.matrix.F16Matrix;
import org.redhare.core.matrix.F32Matrix;
import org.redhare.core.matrix.Fp8BlockMatrix;
import org.redhare.core.matrix.Q4_0Matrix;
import org.redhare.core.matrix.Q4_KMatrix;
import org.redhare.core.matrix.Q8_0Matrix;
import org.redhare.core.matrix.WeightMatrix;

/** Turns stored tensors into kernels' operands, checking shapes against what the architecture expects. */
public final class Weights {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Checkpoint checkpoint;
    private final int[] fp8Block; // [rows, cols] of an FP8 scale block, from quantization_config

    public Weights(Checkpoint checkpoint) {
        this(checkpoint, new int[] {128, 128});
    }

    public Weights(Checkpoint checkpoint, int[] fp8Block) {
        this.checkpoint = checkpoint;
        this.fp8Block = fp8Block;
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
        return switch (t.dtype()) {
            case BF16 -> new Bf16Matrix(t.data(), rows, cols);
            case F16 -> new F16Matrix(t.data(), rows, cols);
            case F32 -> new F32Matrix(t.data(), rows, cols);
            case F8_E4M3 -> fp8(t, rows, cols);
            case Q8_0 -> ggml(t, () -> Q8_0Matrix.ofGgml(t.data(), rows, cols));
            case Q4_0 -> ggml(t, () -> Q4_0Matrix.ofGgml(t.data(), rows, cols));
            case Q4_K -> ggml(t, () -> Q4_KMatrix.ofGgml(t.data(), rows, cols));
            case Q6_K -> ggml(t, () -> Q8_0Matrix.ofGgmlQ6_K(t.data(), rows, cols));
            default -> throw new ModelLoadException("tensor '" + name + "' in " + t.file() + " has dtype " + t.dtype()
                    + ", which linear layers cannot use (supported: BF16, F16, F32, F8_E4M3 with block scales, Q8_0, Q4_0, Q4_K, Q6_K)");
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
     * FP8 E4M3 weights with their {@code weight_scale_inv} block scales {@code [ceil(rows/bh), ceil(cols/bw)]}:
     * {@code w = decode(code) * scale_inv[r / bh][c / bw]}.
     */
    private WeightMatrix fp8(TensorRef t, int rows, int cols) {
        String scaleName = t.name() + "_scale_inv";
        TensorRef s = checkpoint.find(scaleName).orElseThrow(() -> new ModelLoadException("FP8 tensor '" + t.name() + "' in " + t.file()
                + " has no scale tensor '" + scaleName + "': the checkpoint is incomplete or uses an unsupported FP8 scheme"));
        int bh = fp8Block[0];
        int bw = fp8Block[1];
        long[] want = {(rows + bh - 1) / bh, (cols + bw - 1) / bw};
        if (!Arrays.equals(s.shape(), want)) {
            throw new ModelLoadException("scale tensor '" + scaleName + "' in " + s.file() + " has shape " + s.shapeString()
                    + " but " + t.name() + " " + t.shapeString() + " with " + bh + "x" + bw + " blocks needs " + Arrays.toString(want));
        }
        if (s.dtype() != org.redhare.core.DType.F32) {
            throw new ModelLoadException("scale tensor '" + scaleName + "' has dtype " + s.dtype() + "; expected F32");
        }
        try {
            return new Fp8BlockMatrix(t.data(), s.data(), rows, cols, bh, bw);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException("FP8 tensor '" + t.name() + "' in " + t.file() + ": " + e.getMessage(), e);
        }
    }

    /** A 1-D tensor of {@code len} elements widened to float (norm weights, biases). */
    public float[] vector(String name, int len) {
        TensorRef t = checkpoint.tensor(name);
        expectShape(t, len);
        return toFloats(t);
    }

    public static float[] toFloats(TensorRef t) {
        int n = Math.toIntExact(t.elements());
        float[] out = new float[n];
        switch (t.dtype()) {
            case F32 -> {
                for (int i = 0; i < n; i++) out[i] = t.data().getAtIndex(F32, i);
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) out[i] = Numbers.bf16ToFloat(t.data().getAtIndex(I16, i));
            }
            case F16 -> {
                for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(t.data().getAtIndex(I16, i));
            }
            default -> throw new ModelLoadException("tensor '" + t.name() + "' in " + t.file() + " has dtype " + t.dtype()
                    + "; expected F32, BF16 or F16");
        }
        return out;
    }

    public static void expectShape(TensorRef t, long... shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new ModelLoadException("tensor '" + t.name() + "' in " + t.file() + " has shape " + t.shapeString()
                    + " but config.json implies " + Arrays.toString(shape)
                    + ". The config and the weights do not belong together.");
        }
    }
}
