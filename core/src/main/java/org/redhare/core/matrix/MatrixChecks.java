package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;

final class MatrixChecks {
    private MatrixChecks() {}

    static void size(MemorySegment data, int rows, int cols, int bytesPerElement, String what) {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException(what + " matrix needs positive dimensions, got [" + rows + ", " + cols + "]");
        }
        long need = (long) rows * cols * bytesPerElement;
        if (data.byteSize() != need) {
            throw new IllegalArgumentException(what + " matrix [" + rows + ", " + cols + "] needs " + need
                    + " bytes but its data has " + data.byteSize());
        }
    }

    static void operands(WeightMatrix m, float[] x, int n, float[] y) {
        if (n < 1) {
            throw new IllegalArgumentException("token count must be at least 1, got " + n);
        }
        if (x.length < (long) n * m.cols()) {
            throw new IllegalArgumentException("input holds " + x.length + " floats, need " + n + " x " + m.cols());
        }
        if (y.length < (long) n * m.rows()) {
            throw new IllegalArgumentException("output holds " + y.length + " floats, need " + n + " x " + m.rows());
        }
    }
}
