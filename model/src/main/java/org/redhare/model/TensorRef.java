package org.redhare.model;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import org.redhare.core.DType;

/**
 * One stored tensor: its name, element type, shape (outermost first, as PyTorch) and the bytes,
 * a slice of the memory-mapped file.
 */
public record TensorRef(String name, DType dtype, long[] shape, MemorySegment data, Path file) {

    public long elements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public int dim(int i) {
        return Math.toIntExact(shape[i]);
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    /** A tensor's type, shape and size without its data ({@link Checkpoint#info}). */
    public record Info(DType dtype, long[] shape, long bytes) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    public Info info() {
        return new Info(dtype, shape, data.byteSize());
    }

    @Override
    public String toString() {
        return name + " " + dtype + shapeString() + " in " + file.getFileName();
    }
}
