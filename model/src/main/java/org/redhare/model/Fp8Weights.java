package org.redhare.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.redhare.core.Numbers;
import org.redhare.core.matrix.F32Matrix;
import org.redhare.core.matrix.WeightMatrix;

/**
 * FP8 block-scaled weights as a kernel operand. Until the FP8 kernel (which widens codes in registers)
 * is wired in, this dequantizes to float32 once at load: correct, but 4x the memory of the codes.
 */
final class Fp8Weights {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Fp8Weights() {}

    static WeightMatrix matrix(MemorySegment codes, MemorySegment scales, int rows, int cols, int bh, int bw) {
        int scaleCols = (cols + bw - 1) / bw;
        MemorySegment out = Arena.ofAuto().allocate((long) rows * cols * 4, 64);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float scale = scales.getAtIndex(F32, (long) (r / bh) * scaleCols + c / bw);
                float w = Numbers.e4m3ToFloat(codes.get(ValueLayout.JAVA_BYTE, (long) r * cols + c)) * scale;
                out.setAtIndex(F32, (long) r * cols + c, w);
            }
        }
        return new F32Matrix(out, rows, cols);
    }
}
