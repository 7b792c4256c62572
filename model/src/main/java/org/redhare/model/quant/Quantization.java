package org.redhare.model.quant;

import java.util.Locale;
import org.redhare.core.DType;

/** What {@code --quantize} turns a BF16/F16/F32 checkpoint's linear weights into at load. */
public enum Quantization {
    NONE(null),
    /** F8_E4M3 with F32 scales per 128x128 block. */
    FP8(DType.F8_E4M3),
    /** GGML Q8_0: int8 with an f16 scale per 32 values. */
    Q8_0(DType.Q8_0),
    /** GGML Q4_0: 4-bit with an f16 scale per 32 values. */
    Q4_0(DType.Q4_0),
    /** GGML Q4_K: 4-bit with 6-bit scales and mins per 32 values under f16 factors per 256. */
    Q4_K(DType.Q4_K),
    /** GGML Q6_K: 6-bit with int8 scales per 16 values under an f16 factor per 256. */
    Q6_K(DType.Q6_K);

    private final DType dtype;

    Quantization(DType dtype) {
        this.dtype = dtype;
    }

    public DType dtype() {
        return dtype;
    }

    /**
     * What a matrix with rows of {@code cols} values becomes, or null when it stays as stored: FP8 takes any row,
     * Q8_0 and Q4_0 rows a multiple of 32 long; Q4_K rows a multiple of 256, and like llama.cpp's Q4_K files it
     * falls back to Q5_0 for rows that are only a multiple of 32 (Qwen2.5-0.5B's 896-wide matrices); Q6_K rows a
     * multiple of 256, falling back to Q8_0 as llama.cpp's Q6_K files do.
     */
    public DType storedAs(int cols) {
        return switch (this) {
            case NONE -> null;
            case FP8 -> dtype;
            case Q8_0, Q4_0 -> cols % 32 == 0 ? dtype : null;
            case Q4_K -> cols % 256 == 0 ? DType.Q4_K : cols % 32 == 0 ? DType.Q5_0 : null;
            case Q6_K -> cols % 256 == 0 ? DType.Q6_K : cols % 32 == 0 ? DType.Q8_0 : null;
        };
    }

    /** GGML blocks of type {@code type} (Q8_0, Q4_0, Q5_0, Q4_K or Q6_K) of {@code w[off .. off+len)} into {@code out} at {@code outOff}. */
    public static void encode(DType type, float[] w, int off, int len, java.lang.foreign.MemorySegment out, long outOff) {
        switch (type) {
            case Q8_0 -> org.redhare.core.matrix.Quantizers.encodeQ8_0(w, off, len, out, outOff);
            case Q4_0 -> org.redhare.core.matrix.Quantizers.encodeQ4_0(w, off, len, out, outOff);
            case Q5_0 -> org.redhare.core.matrix.Quantizers.encodeQ5_0(w, off, len, out, outOff);
            case Q4_K -> org.redhare.core.matrix.Quantizers.encodeQ4_K(w, off, len, out, outOff);
            case Q6_K -> org.redhare.core.matrix.Quantizers.encodeQ6_K(w, off, len, out, outOff);
            default -> throw new IllegalStateException(type + " has no GGML encoder");
        }
    }

    /**
     * Rows {@code 0 .. rows} of a {@code [*, cols]} matrix {@code w} as GGML blocks of {@code type}, row {@code r} from
     * {@code w}'s row {@code from(r)} (null: row r), into {@code out} at {@code r * rowBytes}: ranges of rows spread over
     * {@code pool}'s threads (null: the calling thread). Each row is encoded alone, so the bytes do not depend on the threads.
     */
    public static void encodeRows(DType type, float[] w, int rows, int cols, java.util.function.IntUnaryOperator from,
            java.lang.foreign.MemorySegment out, long rowBytes, org.redhare.core.Parallel pool) {
        org.redhare.core.Parallel.RangeBody body = (r0, r1, worker) -> {
            for (int r = r0; r < r1; r++) {
                encode(type, w, (from == null ? r : from.applyAsInt(r)) * cols, cols, out, r * rowBytes);
            }
        };
        org.redhare.core.Parallel.forRangeIfIdle(pool, rows, Math.max(1, (1 << 16) / cols), body);
    }

    /** Parses {@code none|fp8|q8_0|q4_0|q4_k|q6_k} (case-insensitive). */
    public static Quantization parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "none" -> NONE;
            case "fp8" -> FP8;
            case "q8_0" -> Q8_0;
            case "q4_0" -> Q4_0;
            case "q4_k" -> Q4_K;
            case "q6_k" -> Q6_K;
            default -> throw new IllegalArgumentException("unknown quantization '" + s + "'; expected fp8, q8_0, q4_0, q4_k or q6_k");
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
