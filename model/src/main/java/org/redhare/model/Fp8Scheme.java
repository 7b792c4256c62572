package org.redhare.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;

/**
 * How an FP8 checkpoint scales its E4M3 weights, read from {@code config.json}'s {@code quantization_config}.
 * Every scheme multiplies: {@code W[r, c] = e4m3(code[r, c]) * scale[...]}; they differ in the scale
 * tensor's name and granularity:
 * <ul>
 *   <li>{@link Kind#BLOCK}: {@code quant_method: fp8} (DeepSeek-V3/R1, Qwen3-FP8): {@code <weight>_scale_inv},
 *       {@code [ceil(rows/bh), ceil(cols/bw)]} with {@code weight_block_size [bh, bw]}; also
 *       {@code compressed-tensors} with {@code strategy: block} and {@code block_structure}.</li>
 *   <li>{@link Kind#CHANNEL}: {@code compressed-tensors} FP8 with {@code strategy: channel} (the
 *       "FP8-dynamic" / "FP8" checkpoints that llm-compressor writes, e.g. RedHatAI's) and {@code fbgemm_fp8}
 *       (Meta's Llama-3.1-405B-FP8): {@code <weight>_scale}, {@code [rows, 1]}.</li>
 *   <li>{@link Kind#TENSOR}: {@code compressed-tensors} with {@code strategy: tensor}: {@code <weight>_scale},
 *       one value ({@code []}, {@code [1]} or {@code [1, 1]}).</li>
 * </ul>
 * Activation quantization settings (dynamic per-token, static {@code input_scale}) are ignored: RedHare keeps
 * activations in float, which is at least as accurate. Modules listed as ignored are stored unquantized and
 * load by their own dtype.
 */
public record Fp8Scheme(Kind kind, String scaleSuffix, int blockRows, int blockCols) {
    public enum Kind { BLOCK, CHANNEL, TENSOR }

    /** DeepSeek-style 128x128 block scales, the default when a checkpoint has no quantization_config. */
    public static final Fp8Scheme DEFAULT_BLOCK = new Fp8Scheme(Kind.BLOCK, "_scale_inv", 128, 128);

    /**
     * True for a quantized checkpoint with DeepSeek-style 128x128 block scales ({@code quant_method: fp8}): the one kind
     * whose BF16 leftovers (the LM head above all) {@code --quantize fp8} completes with the same scale convention.
     */
    public static boolean completesWithFp8(ModelConfig c) {
        return !c.raw().path("quantization_config").isMissingNode() && of(c).equals(DEFAULT_BLOCK);
    }

    /** The scheme a config describes; a clear error for quantization methods RedHare does not read. */
    public static Fp8Scheme of(ModelConfig c) {
        JsonNode q = c.raw().path("quantization_config");
        if (!q.isObject()) {
            return DEFAULT_BLOCK;
        }
        String method = q.path("quant_method").asText("");
        return switch (method) {
            case "fp8" -> deepSeekStyle(q);
            case "fbgemm_fp8" -> new Fp8Scheme(Kind.CHANNEL, "_scale", 1, 0);
            case "compressed-tensors" -> compressedTensors(q);
            default -> throw new ModelLoadException(c.architecture() + " checkpoint is quantized with '" + method
                    + "', which RedHare does not read; it runs BF16/F16/F32 checkpoints and FP8 E4M3 ones (quant_method fp8 with"
                    + " block scales, compressed-tensors float-quantized FP8 per channel/tensor/block, fbgemm_fp8). For GGUF"
                    + " quantizations pass the .gguf file; to quantize a BF16 checkpoint use --quantize fp8|q8_0|q4_0|q4_k");
        };
    }

    private static Fp8Scheme deepSeekStyle(JsonNode q) {
        String fmt = q.path("fmt").asText("e4m3");
        if (!fmt.equals("e4m3")) {
            throw new ModelLoadException("FP8 format '" + fmt + "' is not supported; RedHare reads e4m3 (E4M3FN) FP8 checkpoints");
        }
        JsonNode block = q.path("weight_block_size");
        if (!block.isArray() || block.size() != 2) {
            throw new ModelLoadException("FP8 checkpoint (quant_method fp8) without weight_block_size: RedHare reads block-scaled"
                    + " FP8 ([128, 128] weight_scale_inv) in this form; per-channel FP8 comes as compressed-tensors or fbgemm_fp8");
        }
        return new Fp8Scheme(Kind.BLOCK, "_scale_inv", block.get(0).asInt(), block.get(1).asInt());
    }

    private static Fp8Scheme compressedTensors(JsonNode q) {
        String format = q.path("format").asText("");
        JsonNode groups = q.path("config_groups");
        if (!groups.isObject() || groups.isEmpty()) {
            throw new ModelLoadException("compressed-tensors checkpoint without config_groups: cannot tell how its weights are quantized");
        }
        Fp8Scheme scheme = null;
        for (Iterator<String> it = groups.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            JsonNode w = groups.path(name).path("weights");
            String type = w.path("type").asText("");
            int bits = w.path("num_bits").asInt(-1);
            String strategy = w.path("strategy").asText("");
            if (!type.equals("float") || bits != 8) {
                throw new ModelLoadException("compressed-tensors group '" + name + "' quantizes weights to " + bits + "-bit " + type
                        + " (format '" + format + "'); RedHare reads only 8-bit float (FP8 E4M3) weights in this format."
                        + " For 4-bit weights use a GGUF file (Q4_0, Q4_K_M) or --quantize q4_0 on a BF16 checkpoint");
            }
            Fp8Scheme s = switch (strategy) {
                case "channel" -> new Fp8Scheme(Kind.CHANNEL, "_scale", 1, 0);
                case "tensor" -> new Fp8Scheme(Kind.TENSOR, "_scale", 0, 0);
                case "block" -> {
                    JsonNode b = w.path("block_structure");
                    if (!b.isArray() || b.size() != 2) {
                        throw new ModelLoadException("compressed-tensors group '" + name + "' uses strategy block without a block_structure [rows, cols]");
                    }
                    yield new Fp8Scheme(Kind.BLOCK, "_scale", b.get(0).asInt(), b.get(1).asInt());
                }
                default -> throw new ModelLoadException("compressed-tensors group '" + name + "' scales FP8 weights per '" + strategy
                        + "'; RedHare reads the channel, tensor and block strategies");
            };
            if (scheme != null && !scheme.equals(s)) {
                throw new ModelLoadException("compressed-tensors groups mix FP8 weight strategies (" + scheme.kind() + " and " + s.kind()
                        + "); RedHare reads checkpoints with one strategy");
            }
            scheme = s;
        }
        return scheme;
    }

    /** Scale block height for a {@code [rows, cols]} matrix. */
    public int blockRows(int rows) {
        return switch (kind) {
            case BLOCK -> blockRows;
            case CHANNEL -> 1;
            case TENSOR -> rows;
        };
    }

    /** Scale block width for a {@code [rows, cols]} matrix. */
    public int blockCols(int cols) {
        return kind == Kind.BLOCK ? blockCols : cols;
    }

    /** The scale tensor's shape this scheme expects for a {@code [rows, cols]} matrix, and what else is accepted. */
    boolean acceptsScaleShape(long[] shape, int rows, int cols) {
        return switch (kind) {
            case BLOCK -> shape.length == 2 && shape[0] == (rows + blockRows - 1) / blockRows && shape[1] == (cols + blockCols - 1) / blockCols;
            case CHANNEL -> shape.length == 2 && shape[0] == rows && shape[1] == 1 || shape.length == 1 && shape[0] == rows;
            case TENSOR -> shape.length == 0 || java.util.Arrays.stream(shape).allMatch(d -> d == 1);
        };
    }

    String expectedShape(int rows, int cols) {
        return switch (kind) {
            case BLOCK -> "[" + (rows + blockRows - 1) / blockRows + ", " + (cols + blockCols - 1) / blockCols + "] (" + blockRows + "x" + blockCols + " blocks)";
            case CHANNEL -> "[" + rows + ", 1] (one scale per output channel)";
            case TENSOR -> "[] or [1] (one scale for the tensor)";
        };
    }
}
