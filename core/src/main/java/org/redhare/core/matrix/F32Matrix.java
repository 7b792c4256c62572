package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.redhare.core.DType;

/** Float32 weights over a (mapped) segment, row-major {@code [rows, cols]}; the kernels are {@link RowWidenedMatrix}'s (widening is a copy). */
public final class F32Matrix extends RowWidenedMatrix {
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment data; // [rows, cols] f32

    public F32Matrix(MemorySegment data, int rows, int cols) {
        super(rows, cols);
        MatrixChecks.size(data, rows, cols, 4, "F32");
        this.data = data;
    }

    @Override public DType dtype() { return DType.F32; }
    @Override public long bytes() { return (long) rows * cols * 4; }

    @Override
    MemorySegment nativeRows() {
        return data.isNative() ? data : null;
    }

    @Override
    void widen(long element, float[] dst, int off, int count) {
        MemorySegment.copy(data, LE_FLOAT, element * 4, dst, off, count);
    }

    @Override
    float weight(long element) {
        return data.get(LE_FLOAT, element * 4);
    }
}
