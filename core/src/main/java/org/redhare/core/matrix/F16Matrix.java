package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.redhare.core.DType;

/**
 * IEEE half-precision weights straight over the checkpoint's bytes, row-major {@code [rows, cols]}; the kernels
 * are {@link RowWidenedMatrix}'s.
 *
 * <p><b>Widening: the CPU's own conversion, not bit arithmetic.</b> Rows are widened by a plain loop over
 * {@link Float#float16ToFloat}, which C2 compiles to the vector conversion instruction (measured 0.1 ns per
 * weight in a standalone loop, against 0.4 for the same loop writing tile order directly, which C2 does not
 * vectorize). The Vector API has no half-to-float lane conversion, and the bit trick it allows
 * ({@code (h & 0x7FFF) << 13} read as a float, times 2^112) turns the halves below 2^-14 into <em>subnormal</em>
 * floats; trained weights have a fraction of a percent of those, and every FMA with a subnormal input takes a
 * microcode assist on x86 (about 110 cycles here). With weights drawn as N(0, 0.02) the bit-trick decode ran at
 * 4.3 G weights/s against 7.9 for the same weights times 64 (no subnormals). The conversion instruction gives
 * each half's exact value as a normal float.
 */
public final class F16Matrix extends RowWidenedMatrix {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment data; // [rows, cols] f16

    public F16Matrix(MemorySegment data, int rows, int cols) {
        super(rows, cols);
        MatrixChecks.size(data, rows, cols, 2, "F16");
        this.data = data;
    }

    @Override public DType dtype() { return DType.F16; }
    @Override public long bytes() { return (long) rows * cols * 2; }

    @Override
    MemorySegment nativeRows() {
        return data.isNative() ? data : null;
    }

    @Override
    void widen(long element, float[] dst, int off, int count) {
        MemorySegment src = data;
        long base = element * 2;
        for (int i = 0; i < count; i++) {
            dst[off + i] = Float.float16ToFloat(src.get(LE_SHORT, base + 2L * i));
        }
    }

    @Override
    float weight(long element) {
        return Float.float16ToFloat(data.get(LE_SHORT, element * 2));
    }
}
