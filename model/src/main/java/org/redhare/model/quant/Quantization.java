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
    Q4_0(DType.Q4_0);

    private final DType dtype;

    Quantization(DType dtype) {
        this.dtype = dtype;
    }

    public DType dtype() {
        return dtype;
    }

    /** Parses {@code none|fp8|q8_0|q4_0} (case-insensitive). */
    public static Quantization parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "none" -> NONE;
            case "fp8" -> FP8;
            case "q8_0" -> Q8_0;
            case "q4_0" -> Q4_0;
            default -> throw new IllegalArgumentException("unknown quantization '" + s + "'; expected fp8, q8_0 or q4_0");
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
