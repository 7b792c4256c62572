package org.redhare.model;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.redhare.core.Numbers;
import org.redhare.core.matrix.Bf16Matrix;
import org.redhare.core.matrix.F16Matrix;
import org.redhare.core.matrix.F32Matrix;
import org.redhare.core.matrix.WeightMatrix;

/** Turns stored tensors into kernels' operands, checking shapes against what the architecture expects. */
public final class Weights {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Checkpoint checkpoint;

    public Weights(Checkpoint checkpoint) {
        this.checkpoint = checkpoint;
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
            default -> throw new ModelLoadException("tensor '" + name + "' in " + t.file() + " has dtype " + t.dtype()
                    + ", which this model's linear layers cannot use yet (supported: BF16, F16, F32)");
        };
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
