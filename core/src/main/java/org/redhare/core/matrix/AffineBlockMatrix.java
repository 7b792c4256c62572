package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * Weights with a scale and an offset per block of {@code bw} (32 or 16) columns of a row,
 * {@code W[r, c] = q[r, c] * s[r, b] + o[r, b]} ({@code b = c / bw}) with small integer codes {@code q}: GGML Q5_K
 * and Q5_1, whose 5-bit codes no nibble kernel widens, and Q2_K (2-bit codes, blocks of 16). The sum splits exactly into the two parts the kernels already have:
 * {@code y[t, r] = sum_c q * s * x  +  sum_b o[r, b] * X[t, b]}, with {@code X[t, b]} the sum of token t's activations
 * over block b. The first is a {@link Q8_0Matrix} over the codes (one byte each) and block scales; the second a
 * small dot product per (row, token) over {@code cols / bw} offsets, computed after it. Each part sums in a fixed
 * order whatever the batch, so a token gets the same bits alone or in any batch. Memory: 1.25 bytes per weight
 * (Q5_K stores 0.69) and 1.5 with blocks of 16 (Q2_K stores 0.33): decode reads 1.8x (Q2_K: 4.5x) what a
 * native kernel would, in exchange for exact values on the kernels the other types use.
 */
public final class AffineBlockMatrix implements WeightMatrix {
    private final Q8_0Matrix codes;  // q * s
    private final float[] offsets;   // [nb, rows] o, transposed so that the offset sums run over L rows per vector
    private final int rows;
    private final int cols;
    private final int bw;            // block width: 32 or 16
    private final int nb;
    private final DType dtype;

    /**
     * @param q       {@code [rows, cols]} int8 codes, row-major
     * @param scales  {@code [rows, cols / bw]} block scales (kept, not copied)
     * @param offsets {@code [rows, cols / bw]} block offsets
     * @param bw      block width, 32 or 16
     */
    public AffineBlockMatrix(MemorySegment q, float[] scales, float[] offsets, int rows, int cols, int bw, DType dtype) {
        if (bw != 32 && bw != 16 || cols % bw != 0) {
            throw new IllegalArgumentException(dtype + " matrix [" + rows + ", " + cols + "]: blocks of " + bw
                    + " columns must be 16 or 32 wide and divide the row length");
        }
        if (offsets.length != rows * (cols / bw)) {
            throw new IllegalArgumentException(dtype + " matrix [" + rows + ", " + cols + "] needs " + rows * (cols / bw) + " offsets, got " + offsets.length);
        }
        this.codes = new Q8_0Matrix(q, scales, rows, cols, bw, dtype);
        this.rows = rows;
        this.cols = cols;
        this.bw = bw;
        this.nb = cols / bw;
        this.offsets = new float[offsets.length];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < nb; b++) {
                this.offsets[b * rows + r] = offsets[r * nb + b];
            }
        }
        this.dtype = dtype;
    }

    /**
     * Over GGML Q5_K super-blocks as stored in GGUF: per row {@code cols / 256} blocks of f16 {@code d}, f16
     * {@code dmin}, 12 bytes of packed 6-bit scales and mins (as Q4_K), 32 bytes of fifth bits {@code qh} and 128
     * bytes of nibbles. Values {@code 64j .. 64j+31} are the low nibbles of bytes {@code 32j ..} with bit {@code 2j}
     * of {@code qh[l]} as their fifth bit, values {@code 64j+32 ..} the high nibbles with bit {@code 2j+1};
     * {@code W = d * sc * q - dmin * m} per sub-block of 32.
     */
    public static AffineBlockMatrix ofGgmlQ5_K(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 176, "Q5_K");
        int sb = cols / 256;
        float[] scales = new float[rows * (cols / 32)];
        float[] offsets = new float[rows * (cols / 32)];
        MemorySegment q = QuantKernels.temporary((long) rows * cols);
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            byte[] blk = new byte[176];
            byte[] out = new byte[256];
            for (long b = (long) r0 * sb; b < (long) r1 * sb; b++) {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 176, blk, 0, 176);
                float d = QuantKernels.half(blk, 0);
                float dmin = QuantKernels.half(blk, 2);
                Q4_KMatrix.subBlockFactors(blk, d, dmin, scales, offsets, (int) (b * 8));
                for (int j = 0; j < 4; j++) {
                    for (int l = 0; l < 32; l++) {
                        int v = blk[48 + 32 * j + l] & 0xFF;
                        int h = blk[16 + l] & 0xFF;
                        out[64 * j + l] = (byte) ((v & 0xF) | (h >>> (2 * j) & 1) << 4);
                        out[64 * j + 32 + l] = (byte) ((v >>> 4) | (h >>> (2 * j + 1) & 1) << 4);
                    }
                }
                MemorySegment.copy(out, 0, q, ValueLayout.JAVA_BYTE, b * 256, 256);
            }
        });
        return new AffineBlockMatrix(q, scales, offsets, rows, cols, 32, DType.Q5_K);
    }

    /**
     * Over GGML Q5_1 blocks as stored in GGUF: each row is {@code cols / 32} blocks of an f16 {@code d}, an f16
     * {@code m}, a little-endian 32-bit {@code qh} and 16 bytes of nibbles, fifth bits as Q5_0's; {@code W = q * d + m}.
     * llama.cpp writes Q5_1 where a Q5_K file's rows are not a multiple of 256 long.
     */
    public static AffineBlockMatrix ofGgmlQ5_1(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 32, 24, "Q5_1");
        int nb = cols / 32;
        float[] scales = new float[rows * nb];
        float[] offsets = new float[rows * nb];
        MemorySegment q = QuantKernels.temporary((long) rows * cols);
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            byte[] blk = new byte[24];
            byte[] out = new byte[32];
            for (long b = (long) r0 * nb; b < (long) r1 * nb; b++) {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 24, blk, 0, 24);
                scales[(int) b] = QuantKernels.half(blk, 0);
                offsets[(int) b] = QuantKernels.half(blk, 2);
                int qh = QuantKernels.int32(blk, 4);
                for (int j = 0; j < 16; j++) {
                    int v = blk[8 + j] & 0xFF;
                    out[j] = (byte) ((v & 0xF) | (qh >>> j & 1) << 4);
                    out[j + 16] = (byte) (v >>> 4 | (qh >>> (j + 16) & 1) << 4);
                }
                MemorySegment.copy(out, 0, q, ValueLayout.JAVA_BYTE, b * 32, 32);
            }
        });
        return new AffineBlockMatrix(q, scales, offsets, rows, cols, 32, DType.Q5_1);
    }

    /**
     * Over GGML Q2_K super-blocks as stored in GGUF: per row {@code cols / 256} blocks of 16 scale bytes, 64 bytes
     * of 2-bit codes, an f16 {@code d} and an f16 {@code dmin}. Value {@code 128h + 32j + l} ({@code l < 32}) is bits
     * {@code 2j, 2j+1} of code byte {@code 32h + l}; sub-block {@code i} of 16 has
     * {@code W = d * (sc & 15) * q - dmin * (sc >> 4)} with {@code sc} scale byte {@code i}.
     */
    public static AffineBlockMatrix ofGgmlQ2_K(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 84, "Q2_K");
        int sb = cols / 256;
        float[] scales = new float[rows * (cols / 16)];
        float[] offsets = new float[rows * (cols / 16)];
        MemorySegment q = QuantKernels.temporary((long) rows * cols);
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            byte[] blk = new byte[84];
            byte[] out = new byte[256];
            for (long b = (long) r0 * sb; b < (long) r1 * sb; b++) {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 84, blk, 0, 84);
                float d = QuantKernels.half(blk, 80);
                float dmin = QuantKernels.half(blk, 82);
                for (int i = 0; i < 16; i++) {
                    int sc = blk[i] & 0xFF;
                    scales[(int) (b * 16 + i)] = d * (sc & 0xF);
                    offsets[(int) (b * 16 + i)] = -(dmin * (sc >>> 4));
                }
                for (int h = 0; h < 2; h++) {
                    for (int j = 0; j < 4; j++) {
                        for (int l = 0; l < 32; l++) {
                            out[128 * h + 32 * j + l] = (byte) ((blk[16 + 32 * h + l] & 0xFF) >>> 2 * j & 3);
                        }
                    }
                }
                MemorySegment.copy(out, 0, q, ValueLayout.JAVA_BYTE, b * 256, 256);
            }
        });
        return new AffineBlockMatrix(q, scales, offsets, rows, cols, 16, DType.Q2_K);
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public DType dtype() { return dtype; }
    @Override public long bytes() { return codes.bytes() + (long) offsets.length * 4; }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        codes.multiply(pool, x, n, y);
        // The codes' kernel is done with the pool's scratch: it now holds each token's block sums.
        float[] sums = pool.scratch(n * nb);
        for (int t = 0; t < n; t++) {
            for (int b = 0; b < nb; b++) {
                int o = t * cols + b * bw;
                FloatVector s = FloatVector.fromArray(Kernels.F, x, o);
                for (int i = Kernels.L; i < bw; i += Kernels.L) {
                    s = s.add(FloatVector.fromArray(Kernels.F, x, o + i));
                }
                sums[t * nb + b] = org.redhare.core.ops.VectorMath.sum(s);
            }
        }
        pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()), (r0, r1, w) -> addOffsets(sums, n, y, r0, r1));
    }

    /**
     * {@code y[t, r] += sum_b o[r, b] * X[t, b]}: for each row, one FMA chain over the blocks in order (L rows per
     * vector, the last rows one at a time with the same fused operations), so the bits do not depend on the batch.
     */
    private void addOffsets(float[] sums, int n, float[] y, int r0, int r1) {
        final int L = Kernels.L;
        for (int t = 0; t < n; t++) {
            final int so = t * nb;
            final int yo = t * rows;
            int r = r0;
            for (; r + L <= r1; r += L) {
                FloatVector s = FloatVector.zero(Kernels.F);
                for (int b = 0; b < nb; b++) {
                    s = FloatVector.fromArray(Kernels.F, offsets, b * rows + r).fma(FloatVector.broadcast(Kernels.F, sums[so + b]), s);
                }
                s.add(FloatVector.fromArray(Kernels.F, y, yo + r)).intoArray(y, yo + r);
            }
            for (; r < r1; r++) {
                float s = 0f;
                for (int b = 0; b < nb; b++) {
                    s = Math.fma(offsets[b * rows + r], sums[so + b], s);
                }
                y[yo + r] = s + y[yo + r];
            }
        }
    }

    @Override
    public void row(int r, float[] dst, int off) {
        codes.row(r, dst, off);
        for (int c = 0; c < cols; c++) {
            dst[off + c] += offsets[c / bw * rows + r];
        }
    }
}
