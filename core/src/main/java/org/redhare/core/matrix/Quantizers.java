package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.redhare.core.Numbers;
import org.redhare.core.Parallel;

/**
 * Float weights to the stored formats the kernels run: FP8 E4M3 with 128x128 block scales, GGML Q8_0
 * and Q4_0. Used for online quantization at load ({@code --quantize}) and by the GGUF writer. Each
 * method is a pure function of its input (deterministic), so a quantized model is reproducible.
 */
public final class Quantizers {
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Largest finite E4M3FN magnitude. */
    public static final float E4M3_MAX = 448f;
    /** The FP8 scale block used when quantizing (the DeepSeek-V3 / Qwen3-FP8 convention). */
    public static final int FP8_BLOCK = 128;

    private Quantizers() {}

    /** FP8 codes {@code [rows, cols]} and F32 scales {@code [ceil(rows/128), ceil(cols/128)]}, both little-endian. */
    public record Fp8(MemorySegment codes, MemorySegment scales) {}

    /**
     * Block-scaled FP8: each 128x128 block gets {@code scale = amax / 448}, codes round to nearest even and
     * saturate at ±448, so no code is ever NaN. An all-zero block gets scale 1.
     */
    public static Fp8 toFp8(float[] w, int rows, int cols) {
        return toFp8(w, rows, cols, null);
    }

    /**
     * {@link #toFp8(float[], int, int)} with the bands of 128 rows spread over {@code pool}'s threads (null: the calling
     * thread): each band writes only its own codes and scales, so the result is the same bytes.
     */
    public static Fp8 toFp8(float[] w, int rows, int cols, Parallel pool) {
        int b = FP8_BLOCK;
        int sr = (rows + b - 1) / b;
        int sc = (cols + b - 1) / b;
        MemorySegment codes = QuantKernels.allocate((long) rows * cols);
        MemorySegment scales = QuantKernels.allocate((long) sr * sc * 4);
        Parallel.RangeBody bands = (b0, b1, worker) -> fp8Bands(w, rows, cols, codes, scales, b0, b1);
        Parallel.forRangeIfIdle(pool, sr, 1, bands);
        return new Fp8(codes, scales);
    }

    /** Bands {@code b0 .. b1} (128 rows each) of {@link #toFp8}. */
    private static void fp8Bands(float[] w, int rows, int cols, MemorySegment codes, MemorySegment scales, int b0, int b1) {
        int b = FP8_BLOCK;
        int sc = (cols + b - 1) / b;
        for (int bi = b0; bi < b1; bi++) {
            for (int bj = 0; bj < sc; bj++) {
                int r1 = Math.min(rows, (bi + 1) * b);
                int c1 = Math.min(cols, (bj + 1) * b);
                float amax = 0f;
                for (int r = bi * b; r < r1; r++) {
                    for (int c = bj * b; c < c1; c++) {
                        amax = Math.max(amax, Math.abs(w[r * cols + c]));
                    }
                }
                float scale = amax > 0 && Float.isFinite(amax) ? amax / E4M3_MAX : 1f;
                scales.setAtIndex(LE_FLOAT, (long) bi * sc + bj, scale);
                for (int r = bi * b; r < r1; r++) {
                    for (int c = bj * b; c < c1; c++) {
                        float v = w[r * cols + c] / scale;
                        byte code = Float.isNaN(v) ? 0 : Numbers.floatToE4m3(v); // floatToE4m3 saturates at ±448
                        codes.set(ValueLayout.JAVA_BYTE, (long) r * cols + c, code);
                    }
                }
            }
        }
    }

    /**
     * {@link Math#round(float)}, the same int for every float (ties up, NaN 0, saturating), computed as {@code rint} and
     * a tie correction: {@code x - rint(x)} is exact, and it is 0.5 only where {@code rint} rounded a tie down.
     * Math.round's own code branches on the exponent, and those branches mispredict on weights.
     */
    static int round(float x) {
        float r = (float) Math.rint(x);
        return (int) (x - r == 0.5f ? r + 1f : r);
    }

    public static Fp8BlockMatrix fp8(float[] w, int rows, int cols) {
        Fp8 q = toFp8(w, rows, cols);
        return new Fp8BlockMatrix(q.codes(), q.scales(), rows, cols, FP8_BLOCK, FP8_BLOCK);
    }

    /**
     * GGML Q8_0 blocks of {@code w[off .. off+len)} ({@code len} a multiple of 32) into {@code out} at
     * {@code outOff}: per block {@code d = amax / 127} stored as f16, {@code q = round(x / d)} clamped to ±127.
     */
    public static void encodeQ8_0(float[] w, int off, int len, MemorySegment out, long outOff) {
        requireBlocks(len, "Q8_0");
        for (int b = 0; b < len / 32; b++) {
            int base = off + b * 32;
            float amax = 0f;
            for (int i = 0; i < 32; i++) {
                amax = Math.max(amax, Math.abs(w[base + i]));
            }
            short dh = Float.floatToFloat16(amax / 127f);
            float d = Float.float16ToFloat(dh);
            long o = outOff + b * 34L;
            out.set(LE_SHORT, o, dh);
            for (int i = 0; i < 32; i++) {
                int q = d == 0 ? 0 : round(w[base + i] / d);
                out.set(ValueLayout.JAVA_BYTE, o + 2 + i, (byte) Math.max(-127, Math.min(127, q)));
            }
        }
    }

    /**
     * GGML Q4_0 blocks: the element of largest magnitude {@code m} (with its sign) gives {@code d = m / -8},
     * so it maps to code 0 exactly; {@code q = clamp(round(x / d) + 8, 0, 15)}; byte {@code j} holds element
     * {@code j} in its low nibble and element {@code j + 16} in its high nibble.
     */
    public static void encodeQ4_0(float[] w, int off, int len, MemorySegment out, long outOff) {
        requireBlocks(len, "Q4_0");
        int[] q = new int[32];
        for (int b = 0; b < len / 32; b++) {
            int base = off + b * 32;
            float m = largest(w, base);
            short dh = Float.floatToFloat16(m / -8f);
            float d = Float.float16ToFloat(dh);
            for (int i = 0; i < 32; i++) {
                q[i] = d == 0 ? 8 : Math.max(0, Math.min(15, round(w[base + i] / d) + 8));
            }
            long o = outOff + b * 18L;
            out.set(LE_SHORT, o, dh);
            for (int j = 0; j < 16; j++) {
                out.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) (q[j] | q[j + 16] << 4));
            }
        }
    }

    /**
     * GGML Q5_0 blocks: as {@link #encodeQ4_0} with 32 levels, {@code d = m / -16} and
     * {@code q = clamp(round(x / d) + 16, 0, 31)}; byte {@code j} holds the low four bits of elements {@code j} and
     * {@code j + 16}, bits {@code j} and {@code j + 16} of the 32-bit {@code qh} their fifth bits.
     */
    public static void encodeQ5_0(float[] w, int off, int len, MemorySegment out, long outOff) {
        requireBlocks(len, "Q5_0");
        int[] q = new int[32];
        for (int b = 0; b < len / 32; b++) {
            int base = off + b * 32;
            float m = largest(w, base);
            short dh = Float.floatToFloat16(m / -16f);
            float d = Float.float16ToFloat(dh);
            int qh = 0;
            for (int i = 0; i < 32; i++) {
                q[i] = d == 0 ? 16 : Math.max(0, Math.min(31, round(w[base + i] / d) + 16));
                qh |= (q[i] >> 4) << i;
            }
            long o = outOff + b * 22L;
            out.set(LE_SHORT, o, dh);
            out.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), o + 2, qh);
            for (int j = 0; j < 16; j++) {
                out.set(ValueLayout.JAVA_BYTE, o + 6 + j, (byte) ((q[j] & 0xF) | (q[j + 16] & 0xF) << 4));
            }
        }
    }

    /**
     * GGML Q4_K super-blocks of {@code w[off .. off+len)} ({@code len} a multiple of 256): per sub-block of 32 the
     * range {@code [min(0, lo), hi]} gives a scale {@code (hi - min) / 15} and a min {@code -min}; the super-block's
     * f16 {@code d} and {@code dmin} are the largest of each over 63, each sub-block's 6-bit factors the nearest
     * multiples of them, and {@code q = clamp(round((x + dmin*m) / (d*sc)), 0, 15)}. Plain min/max, without the
     * search llama.cpp's quantizer makes for the scales, so its error is somewhat larger than llama-quantize's.
     * Layout as {@link Q4_KMatrix#ofGgml} reads it.
     */
    public static void encodeQ4_K(float[] w, int off, int len, MemorySegment out, long outOff) {
        if (len % 256 != 0) {
            throw new IllegalArgumentException("Q4_K quantizes rows in super-blocks of 256 values; a row of " + len
                    + " does not divide. Keep this matrix in its stored precision or quantize to q8_0, q4_0 or fp8");
        }
        float[] scale = new float[8];
        float[] min = new float[8];
        int[] sc = new int[8];
        int[] m = new int[8];
        byte[] blk = new byte[144];
        for (int b = 0; b < len / 256; b++) {
            int base = off + b * 256;
            float maxScale = 0f;
            float maxMin = 0f;
            for (int j = 0; j < 8; j++) {
                float lo = 0f;
                float hi = -Float.MAX_VALUE;
                for (int i = 0; i < 32; i++) {
                    lo = Math.min(lo, w[base + 32 * j + i]);
                    hi = Math.max(hi, w[base + 32 * j + i]);
                }
                scale[j] = (hi - lo) / 15f;
                min[j] = -lo;
                maxScale = Math.max(maxScale, scale[j]);
                maxMin = Math.max(maxMin, min[j]);
            }
            short dh = Float.floatToFloat16(maxScale / 63f);
            short mh = Float.floatToFloat16(maxMin / 63f);
            float d = Float.float16ToFloat(dh);
            float dmin = Float.float16ToFloat(mh);
            java.util.Arrays.fill(blk, (byte) 0);
            blk[0] = (byte) dh;
            blk[1] = (byte) (dh >> 8);
            blk[2] = (byte) mh;
            blk[3] = (byte) (mh >> 8);
            for (int j = 0; j < 8; j++) {
                sc[j] = d == 0 ? 0 : Math.min(63, round(scale[j] / d));
                m[j] = dmin == 0 ? 0 : Math.min(63, round(min[j] / dmin));
            }
            for (int j = 0; j < 4; j++) { // the 12 bytes get_scale_min_k4 reads
                blk[4 + j] = (byte) (sc[j] | (sc[j + 4] >> 4) << 6);
                blk[8 + j] = (byte) (m[j] | (m[j + 4] >> 4) << 6);
                blk[12 + j] = (byte) ((sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
            }
            for (int j = 0; j < 8; j++) {
                float s = d * sc[j];
                float o = dmin * m[j];
                for (int i = 0; i < 32; i++) {
                    int q = s == 0 ? 0 : Math.max(0, Math.min(15, round((w[base + 32 * j + i] + o) / s)));
                    int at = 16 + 32 * (j / 2) + i; // 64 values per 32 bytes: low nibbles first
                    blk[at] |= (byte) (j % 2 == 0 ? q : q << 4);
                }
            }
            MemorySegment.copy(blk, 0, out, ValueLayout.JAVA_BYTE, outOff + b * 144L, 144);
        }
    }

    /**
     * GGML Q6_K super-blocks of {@code w[off .. off+len)} ({@code len} a multiple of 256): each sub-block of 16 gets
     * the scale {@code m / -32} of its element of largest magnitude {@code m} (so that element is the level -32, as
     * ggml's reference quantizer has it), the super-block's f16 {@code d} is the largest scale magnitude over 127,
     * each sub-block's int8 {@code sc} the nearest multiple of it, and {@code q = clamp(round(x / (d*sc)), -32, 31)}
     * stored as {@code q + 32}: low four bits in {@code ql}, high two in {@code qh}, in the order
     * {@link Q8_0Matrix#ofGgmlQ6_K} reads them. Without llama.cpp's search for better scales, so its error is
     * somewhat larger than llama-quantize's.
     */
    public static void encodeQ6_K(float[] w, int off, int len, MemorySegment out, long outOff) {
        if (len % 256 != 0) {
            throw new IllegalArgumentException("Q6_K quantizes rows in super-blocks of 256 values; a row of " + len
                    + " does not divide. Keep this matrix in its stored precision or quantize to q8_0, q4_0 or fp8");
        }
        float[] scale = new float[16];
        int[] q = new int[256];
        byte[] blk = new byte[210];
        for (int b = 0; b < len / 256; b++) {
            int base = off + b * 256;
            float maxScale = 0f;
            for (int j = 0; j < 16; j++) {
                float m = 0f;
                for (int i = 0; i < 16; i++) {
                    float v = w[base + 16 * j + i];
                    if (Math.abs(v) > Math.abs(m)) {
                        m = v;
                    }
                }
                scale[j] = m / -32f;
                maxScale = Math.max(maxScale, Math.abs(scale[j]));
            }
            short dh = Float.floatToFloat16(maxScale / 127f);
            float d = Float.float16ToFloat(dh);
            java.util.Arrays.fill(blk, (byte) 0);
            for (int j = 0; j < 16; j++) {
                int sc = d == 0 ? 0 : Math.max(-128, Math.min(127, round(scale[j] / d)));
                blk[192 + j] = (byte) sc;
                float s = d * sc;
                for (int i = 0; i < 16; i++) {
                    q[16 * j + i] = s == 0 ? 32 : Math.max(0, Math.min(63, round(w[base + 16 * j + i] / s) + 32));
                }
            }
            for (int half = 0; half < 2; half++) { // 128 values: ql 64 bytes, qh 32 bytes (ggml's block_q6_K)
                int ql = half * 64;
                int qh = 128 + half * 32;
                int y = half * 128;
                for (int l = 0; l < 32; l++) {
                    int q1 = q[y + l], q2 = q[y + 32 + l], q3 = q[y + 64 + l], q4 = q[y + 96 + l];
                    blk[ql + l] = (byte) ((q1 & 0xF) | (q3 & 0xF) << 4);
                    blk[ql + 32 + l] = (byte) ((q2 & 0xF) | (q4 & 0xF) << 4);
                    blk[qh + l] = (byte) ((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
                }
            }
            blk[208] = (byte) dh;
            blk[209] = (byte) (dh >> 8);
            MemorySegment.copy(blk, 0, out, ValueLayout.JAVA_BYTE, outOff + b * 210L, 210);
        }
    }

    public static Q8_0Matrix q8_0(float[] w, int rows, int cols) {
        requireBlocks(cols, "Q8_0");
        MemorySegment blocks = QuantKernels.allocate((long) rows * (cols / 32) * 34);
        for (int r = 0; r < rows; r++) {
            encodeQ8_0(w, r * cols, cols, blocks, (long) r * (cols / 32) * 34);
        }
        return Q8_0Matrix.ofGgml(blocks, rows, cols);
    }

    public static Q4_0Matrix q4_0(float[] w, int rows, int cols) {
        requireBlocks(cols, "Q4_0");
        MemorySegment blocks = QuantKernels.allocate((long) rows * (cols / 32) * 18);
        for (int r = 0; r < rows; r++) {
            encodeQ4_0(w, r * cols, cols, blocks, (long) r * (cols / 32) * 18);
        }
        return Q4_0Matrix.ofGgml(blocks, rows, cols);
    }

    /** The element of largest magnitude of the 32 at {@code w[base ...]}, with its sign (the first of equals). */
    private static float largest(float[] w, int base) {
        float m = 0f;
        for (int i = 0; i < 32; i++) {
            if (Math.abs(w[base + i]) > Math.abs(m)) {
                m = w[base + i];
            }
        }
        return m;
    }

    private static void requireBlocks(int len, String what) {
        if (len % 32 != 0) {
            throw new IllegalArgumentException(what + " quantizes rows in blocks of 32 values; a row of " + len
                    + " does not divide. Keep this matrix in its stored precision or quantize to fp8");
        }
    }
}
