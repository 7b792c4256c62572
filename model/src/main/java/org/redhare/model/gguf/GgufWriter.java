package org.redhare.model.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntUnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.redhare.core.DType;
import org.redhare.core.Parallel;
import org.redhare.model.Checkpoint;
import org.redhare.model.LoadOptions;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelLoadException;
import org.redhare.model.TensorRef;
import org.redhare.model.Weights;
import org.redhare.model.quant.Quantization;
import org.redhare.model.quant.QuantizingCheckpoint;

/**
 * Writes GGUF version 3 files: metadata (strings, u32, u64, f32, bool, arrays), tensor infos, and 32-byte aligned
 * data. {@link #convert} turns a Hugging Face checkpoint of a Llama, Qwen2 or Qwen3 model into a GGUF that
 * llama.cpp loads too, with its linear weights in Q8_0, Q4_0, Q4_K or Q6_K (quantized exactly as {@code --quantize} does
 * at load) or in their own float types.
 */
public final class GgufWriter {
    private static final int ALIGNMENT = 32;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)\\.(weight|bias)");

    private GgufWriter() {}

    /**
     * One tensor to write.
     *
     * @param dims GGUF order (innermost first)
     * @param fill writes exactly {@code type.byteSize(elements)} bytes into the segment it gets
     */
    public record Tensor(String name, long[] dims, GgmlType type, Consumer<MemorySegment> fill) {
        long bytes() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return type.byteSize(n);
        }
    }

    /**
     * Writes {@code metadata} (String, Integer as u32, Long as u64, Float, Boolean, int[] as an int32 array,
     * float[] as a float32 array, List of String as a string array) and {@code tensors}.
     */
    public static void write(Path out, Map<String, Object> metadata, List<Tensor> tensors) throws IOException {
        byte[][] names = new byte[tensors.size()][];
        long header = 4 + 4 + 8 + 8;
        for (var e : metadata.entrySet()) {
            header += 8 + e.getKey().getBytes(StandardCharsets.UTF_8).length + 4 + valueSize(e.getKey(), e.getValue());
        }
        long[] offsets = new long[tensors.size()];
        long data = 0;
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            names[i] = t.name().getBytes(StandardCharsets.UTF_8);
            header += 8 + names[i].length + 4 + 8L * t.dims().length + 4 + 8;
            offsets[i] = data;
            data = align(data + t.bytes());
        }
        long dataStart = align(header);
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE); Arena arena = Arena.ofShared()) { // shared: tensors are encoded on several threads
            MemorySegment m = ch.map(FileChannel.MapMode.READ_WRITE, 0, dataStart + data, arena);
            long p = 0;
            m.set(U32, p, 0x46554747);
            m.set(U32, p + 4, 3);
            m.set(U64, p + 8, tensors.size());
            m.set(U64, p + 16, metadata.size());
            p += 24;
            for (var e : metadata.entrySet()) {
                p = string(m, p, e.getKey().getBytes(StandardCharsets.UTF_8));
                p = value(m, p, e.getValue());
            }
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                p = string(m, p, names[i]);
                m.set(U32, p, t.dims().length);
                p += 4;
                for (long d : t.dims()) {
                    m.set(U64, p, d);
                    p += 8;
                }
                m.set(U32, p, t.type().id());
                m.set(U64, p + 4, offsets[i]);
                p += 12;
            }
            for (int i = 0; i < tensors.size(); i++) {
                tensors.get(i).fill().accept(m.asSlice(dataStart + offsets[i], tensors.get(i).bytes()));
            }
            m.force();
        }
    }

    private static long align(long x) {
        return (x + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static long valueSize(String key, Object v) {
        return switch (v) {
            case String s -> 8 + s.getBytes(StandardCharsets.UTF_8).length;
            case Integer i -> 4;
            case Long l -> 8;
            case Float f -> 4;
            case Boolean b -> 1;
            case int[] a -> 4 + 8 + 4L * a.length;
            case float[] a -> 4 + 8 + 4L * a.length;
            case List<?> l -> {
                long n = 4 + 8;
                for (Object o : l) {
                    if (!(o instanceof String str)) {
                        throw new IllegalArgumentException("GGUF metadata '" + key + "': only lists of strings are written");
                    }
                    n += 8 + str.getBytes(StandardCharsets.UTF_8).length;
                }
                yield n;
            }
            default -> throw new IllegalArgumentException("GGUF metadata '" + key + "' has unsupported value type " + v.getClass());
        };
    }

    private static long string(MemorySegment m, long p, byte[] s) {
        m.set(U64, p, s.length);
        MemorySegment.copy(s, 0, m, ValueLayout.JAVA_BYTE, p + 8, s.length);
        return p + 8 + s.length;
    }

    private static long arrayHeader(MemorySegment m, long p, int elementType, long n) {
        m.set(U32, p, 9); // ARRAY
        m.set(U32, p + 4, elementType);
        m.set(U64, p + 8, n);
        return p + 16;
    }

    private static long value(MemorySegment m, long p, Object v) {
        switch (v) {
            case String s -> {
                m.set(U32, p, 8); // STRING
                return string(m, p + 4, s.getBytes(StandardCharsets.UTF_8));
            }
            case Integer i -> {
                m.set(U32, p, 4); // UINT32
                m.set(U32, p + 4, i);
                return p + 8;
            }
            case Long l -> {
                m.set(U32, p, 10); // UINT64
                m.set(U64, p + 4, l);
                return p + 12;
            }
            case Float f -> {
                m.set(U32, p, 6); // FLOAT32
                m.set(F32, p + 4, f);
                return p + 8;
            }
            case Boolean b -> {
                m.set(U32, p, 7); // BOOL
                m.set(ValueLayout.JAVA_BYTE, p + 4, (byte) (b ? 1 : 0));
                return p + 5;
            }
            case int[] a -> {
                p = arrayHeader(m, p, 5, a.length); // INT32
                for (int x : a) {
                    m.set(U32, p, x);
                    p += 4;
                }
                return p;
            }
            case float[] a -> {
                p = arrayHeader(m, p, 6, a.length); // FLOAT32
                for (float x : a) {
                    m.set(F32, p, x);
                    p += 4;
                }
                return p;
            }
            case List<?> l -> {
                p = arrayHeader(m, p, 8, l.size()); // STRING
                for (Object o : l) {
                    p = string(m, p, ((String) o).getBytes(StandardCharsets.UTF_8));
                }
                return p;
            }
            default -> throw new IllegalArgumentException("unsupported GGUF metadata value " + v.getClass());
        }
    }

    /**
     * Gemma's norms in GGUF terms: its block-output norms are llama.cpp's post_attention_norm and post_ffw_norm, its
     * pre-feed-forward norm is ffn_norm (the llama names of {@link GgufCheckpoint#LAYER_NAMES} mean other norms).
     */
    private static final Map<String, String> GEMMA_NORMS = Map.of("post_attention_layernorm", "post_attention_norm",
            "pre_feedforward_layernorm", "ffn_norm", "post_feedforward_layernorm", "post_ffw_norm");

    /** The GGUF name of a Hugging Face tensor name of a {@code gemma} model or another, or null when GGUF has none. */
    static String ggufName(String hf, boolean gemma) {
        Matcher gm = LAYER.matcher(hf);
        if (gemma && gm.matches() && GEMMA_NORMS.containsKey(gm.group(2))) {
            return "blk." + gm.group(1) + "." + GEMMA_NORMS.get(gm.group(2)) + "." + gm.group(3);
        }
        switch (hf) {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
            default: break;
        }
        Matcher m = LAYER.matcher(hf);
        if (!m.matches()) {
            return null;
        }
        if (m.group(2).equals("mlp.gate") || m.group(2).equals("block_sparse_moe.gate")) {
            return "blk." + m.group(1) + ".ffn_gate_inp." + m.group(3); // a mixture's router
        }
        if (m.group(2).equals("mlp.gate_up_proj")) {
            return "blk." + m.group(1) + ".ffn_up." + m.group(3); // GLM's fused gate/up: llama.cpp's glm4 reads one ffn_up of 2 x n_ff rows
        }
        for (var e : GgufCheckpoint.LAYER_NAMES.entrySet()) {
            if (e.getValue().equals(m.group(2))) {
                return "blk." + m.group(1) + "." + e.getKey() + "." + m.group(3);
            }
        }
        return null;
    }

    /** {@link #convert(Checkpoint, ModelConfig, Quantization, Map, Path, LoadOptions.Progress)} without extra metadata. */
    public static void convert(Checkpoint c, ModelConfig config, Quantization q, Path out, LoadOptions.Progress progress) throws IOException {
        convert(c, config, q, Map.of(), out, progress);
    }

    /**
     * Converts a Hugging Face checkpoint (of the models {@link #architecture} names) to GGUF, laid out as llama.cpp's
     * converter does, so llama.cpp and other GGUF readers load it as well as RedHare:
     * <ul>
     *   <li>linear weights in {@code q} (Q8_0, Q4_0, Q4_K or Q6_K, chosen by {@link QuantizingCheckpoint#quantizes}; a
     *       tied LM head is then written as a quantized {@code output.weight}, as {@code --quantize} does at load),
     *       or with {@link Quantization#NONE} every matrix in its own F32/F16/BF16 type (a tied head stays tied);
     *       norm weights and biases in F32;</li>
     *   <li>Llama's q/k projection rows permuted from the rotate-half layout to Meta's adjacent pairs, which
     *       GGUF's llama architecture expects (Qwen keeps rotate-half; GLM-4's pairs are adjacent already, as llama.cpp's glm4 reads them);</li>
     *   <li>FP8 weights widened with their scales, then quantized to {@code q} (or, with {@link Quantization#NONE}, F32);</li>
     *   <li>DeepSeek's latent attention and experts as llama.cpp's deepseek2 ({@link #deepseekMetadata}, {@link #splitKvB});</li>
     *   <li>{@code llama3} RoPE scaling as the per-pair divisors tensor {@code rope_freqs.weight};
     *       {@code linear} and {@code yarn} as {@code rope.scaling.*} metadata;</li>
     *   <li>{@code extra} metadata added as given (the tokenizer, see the text module's GGUF vocabulary).</li>
     * </ul>
     */
    public static void convert(Checkpoint c, ModelConfig config, Quantization q, Map<String, Object> extra, Path out,
            LoadOptions.Progress progress) throws IOException {
        convert(c, config, q, extra, out, progress, Runtime.getRuntime().availableProcessors());
    }

    /**
     * {@link #convert(Checkpoint, ModelConfig, Quantization, Map, Path, LoadOptions.Progress)} with each matrix widened and
     * quantized over {@code threads} threads (ranges of rows; the file's bytes do not depend on the count).
     */
    public static void convert(Checkpoint c, ModelConfig config, Quantization q, Map<String, Object> extra, Path out,
            LoadOptions.Progress progress, int threads) throws IOException {
        try (Parallel pool = new Parallel(Math.max(1, threads))) {
            convert(c, config, q, extra, out, progress, pool);
        }
    }

    private static void convert(Checkpoint c, ModelConfig config, Quantization q, Map<String, Object> extra, Path out,
            LoadOptions.Progress progress, Parallel pool) throws IOException {
        if (q == Quantization.FP8) {
            throw new IllegalArgumentException("GGUF conversion writes q8_0, q4_0, q4_k, q6_k or the source's float types, not " + q);
        }
        String arch = architecture(config);
        boolean metaPairs = arch.equals("llama");
        boolean gemma = arch.startsWith("gemma");
        int rotary = (int) Math.round(config.headDim() * config.partialRotaryFactor());
        Map<String, Object> md = new LinkedHashMap<>();
        md.put("general.architecture", arch);
        md.put("general.name", "redhare " + (q == Quantization.NONE ? "gguf" : q.toString().toLowerCase(java.util.Locale.ROOT)) + " conversion");
        md.put(arch + ".embedding_length", config.hiddenSize());
        md.put(arch + ".feed_forward_length", config.intermediateSize());
        md.put(arch + ".block_count", config.numLayers());
        md.put(arch + ".attention.head_count", config.numHeads());
        md.put(arch + ".attention.head_count_kv", config.numKvHeads());
        md.put(arch + ".attention.key_length", config.headDim());
        md.put(arch + ".attention.value_length", config.headDim());
        md.put(arch + ".context_length", config.maxPositionEmbeddings());
        md.put(arch + ".attention.layer_norm_rms_epsilon", (float) config.rmsNormEps());
        md.put(arch + ".rope.freq_base", (float) config.ropeTheta());
        md.put(arch + ".rope.dimension_count", rotary);
        md.put(arch + ".vocab_size", config.vocabSize());
        mixtureMetadata(arch, config, md);
        if (gemma) {
            gemmaMetadata(arch, config, md);
        }
        List<Tensor> tensors = new ArrayList<>();
        float[] ropeDivisors = ropeScaling(config, arch, rotary, md);
        boolean deepseek = arch.equals("deepseek2");
        boolean glmMoe = arch.equals("glm4moe");
        if (deepseek) {
            deepseekMetadata(arch, config, md);
        }
        if (glmMoe) {
            md.put(arch + ".leading_dense_block_count", config.raw().path("first_k_dense_replace").asInt(0));
            routedExpertsMetadata(arch, config, md, true, true);
        }
        Weights weights = new Weights(c, org.redhare.model.Fp8Scheme.of(config), pool);
        if (ropeDivisors != null) {
            tensors.add(new Tensor("rope_freqs.weight", new long[] {ropeDivisors.length}, GgmlType.F32, seg -> {
                for (int i = 0; i < ropeDivisors.length; i++) {
                    seg.setAtIndex(F32, i, ropeDivisors[i]);
                }
            }));
        }
        md.putAll(extra);
        List<String> names = new ArrayList<>(c.names());
        if (q != Quantization.NONE && !c.contains("lm_head.weight") && config.tieWordEmbeddings()) {
            names.add("lm_head.weight");
        }
        long total = 0;
        for (String n : names) {
            total += c.tensor(n.equals("lm_head.weight") && !c.contains(n) ? "model.embed_tokens.weight" : n).data().byteSize();
        }
        long[] done = {0};
        long all = total;
        Map<String, java.util.TreeMap<Integer, Tensor>> stacks = new LinkedHashMap<>(); // each layer's experts, stacked below
        for (String name : names) {
            Matcher em = EXPERT.matcher(name);
            Matcher lm = LAYER_INDEX.matcher(name);
            if (lm.lookingAt() && Integer.parseInt(lm.group(1)) >= config.numLayers()) {
                continue; // multi-token-prediction layers (DeepSeek, GLM-4.5): not part of the model RedHare runs
            }
            String g = em.matches() ? null : name.endsWith(".mlp.gate.e_score_correction_bias") && lm.lookingAt()
                    ? "blk." + lm.group(1) + "." + GgufCheckpoint.ROUTER_BIAS
                    : glmMoe && name.endsWith(".post_attention_layernorm.weight") && lm.lookingAt()
                    ? "blk." + lm.group(1) + "." + GgufCheckpoint.GLM_MOE_FFN_NORM + ".weight"
                    : name.endsWith(".mlp.shared_expert_gate.weight") && lm.lookingAt() ? "blk." + lm.group(1) + "." + GgufCheckpoint.SHARED_EXPERT_GATE
                    : ggufName(name.replace(".mlp.shared_expert.", ".mlp.shared_experts."), gemma); // Qwen2-MoE's one shared expert
            if (g == null && !em.matches()) {
                continue;
            }
            TensorRef src = c.tensor(name.equals("lm_head.weight") && !c.contains(name) ? "model.embed_tokens.weight" : name);
            TensorRef t = new TensorRef(name, src.dtype(), src.shape(), src.data(), src.file());
            Consumer<MemorySegment> tick = seg -> {
                done[0] += t.data().byteSize();
                progress.update(done[0], all);
            };
            int heads = !metaPairs ? 0 : name.contains(".self_attn.q_proj.") ? config.numHeads()
                    : name.contains(".self_attn.k_proj.") ? config.numKvHeads() : 0;
            IntUnaryOperator row = heads == 0 ? null : r -> fromMetaPairs(r, config.headDim(), rotary);
            if (em.matches()) {
                String kind = switch (em.group(4)) {
                    case "gate_proj", "w1" -> "gate";
                    case "up_proj", "w3" -> "up";
                    default -> "down";
                };
                String stacked = "blk." + em.group(1) + ".ffn_" + kind + "_exps.weight";
                stacks.computeIfAbsent(stacked, k -> new java.util.TreeMap<>()).put(Integer.parseInt(em.group(3)),
                        tensor(stacked, t, q, row, gemma, false, weights, tick, pool));
            } else if (deepseek && name.endsWith(".self_attn.kv_b_proj.weight")) {
                tensors.addAll(splitKvB(g, t, config, q, weights, tick));
            } else {
                tensors.add(tensor(g, t, q, row, gemma, ROUTER.matcher(name).matches(), weights, tick, pool));
            }
        }
        for (var e : stacks.entrySet()) {
            if (e.getValue().lastKey() != e.getValue().size() - 1) {
                throw new ModelLoadException("'" + e.getKey() + "': the checkpoint holds experts " + e.getValue().keySet() + ", not 0 to "
                        + (e.getValue().size() - 1));
            }
            tensors.add(stack(e.getKey(), List.copyOf(e.getValue().values())));
        }
        Files.deleteIfExists(out);
        write(out, md, tensors);
    }

    private static final Pattern LAYER_INDEX = Pattern.compile("model\\.layers\\.(\\d+)\\.");

    /** Hugging Face names of one expert's matrix: Qwen's {@code mlp.experts.E.gate_proj} or Mixtral's {@code block_sparse_moe.experts.E.w1}. */
    private static final Pattern EXPERT = Pattern.compile("model\\.layers\\.(\\d+)\\.(mlp|block_sparse_moe)\\.experts\\.(\\d+)\\.(gate_proj|up_proj|down_proj|w1|w3|w2)\\.weight");
    /** A mixture's router, which llama.cpp's converter keeps in F32 whatever the other weights become. */
    private static final Pattern ROUTER = Pattern.compile("model\\.layers\\.\\d+\\.(mlp\\.gate|block_sparse_moe\\.gate|mlp\\.shared_expert_gate)\\.weight");

    /**
     * The GGUF tensor {@code g} for the Hugging Face tensor {@code t}: quantized to {@code q} where {@link QuantizingCheckpoint#quantizes}
     * says so (GGUF row r from row {@code permuted(r)}, where not null), norms, biases and {@code f32} tensors (routers) as F32, other
     * matrices in their own float type.
     */
    private static Tensor tensor(String g, TensorRef t, Quantization q, IntUnaryOperator permuted, boolean gemma, boolean f32,
            Weights weights, Consumer<MemorySegment> tick, Parallel pool) {
        String name = t.name();
        IntUnaryOperator row = permuted == null ? r -> r : permuted;
        long[] dims = new long[t.shape().length];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = t.shape()[dims.length - 1 - i];
        }
        boolean fp8 = t.dtype() == DType.F8_E4M3; // widened with its scales: quantized from those floats, or written as F32
        if (QuantizingCheckpoint.quantizes(fp8 ? new TensorRef(name, DType.F32, t.shape(), t.data(), t.file()) : t, q)) {
            int rows = t.dim(0);
            int cols = t.dim(1);
            DType stored = q.storedAs(cols);
            GgmlType type = GgmlType.valueOf(stored.name());
            return new Tensor(g, dims, type, seg -> {
                float[] w = values(weights, t, pool);
                Quantization.encodeRows(stored, w, rows, cols, permuted, seg, type.byteSize(cols), pool);
                tick.accept(seg);
            });
        }
        if (t.shape().length == 1 || f32 || fp8) {
            // Norm weights and biases as F32, as llama.cpp's converter writes them: its CPU kernels multiply by
            // an F32 vector only (a BF16 norm weight stops llama.cpp with "unsupported types").
            // Gemma's norms multiply by 1 + w: llama.cpp's converter stores the 1 + w it multiplies by
            float normShift = gemma && name.endsWith("norm.weight") ? 1f : 0f;
            int cols = t.shape().length == 2 ? t.dim(1) : 1; // a matrix's rows are permuted whole, a vector's values one by one
            return new Tensor(g, dims, GgmlType.F32, seg -> {
                float[] v = values(weights, t);
                for (int i = 0; i < v.length; i++) {
                    seg.setAtIndex(F32, i, v[row.applyAsInt(i / cols) * cols + i % cols] + normShift);
                }
                tick.accept(seg);
            });
        }
        GgmlType type = switch (t.dtype()) {
            case F32 -> GgmlType.F32;
            case F16 -> GgmlType.F16;
            case BF16 -> GgmlType.BF16;
            default -> throw new ModelLoadException("tensor '" + name + "' has dtype " + t.dtype() + "; GGUF conversion reads F32, F16, BF16"
                    + " or FP8 (E4M3) weights");
        };
        return new Tensor(g, dims, type, seg -> {
            if (permuted != null) {
                int rows = t.dim(0);
                long rowBytes = seg.byteSize() / rows;
                for (int r = 0; r < rows; r++) {
                    MemorySegment.copy(t.data(), row.applyAsInt(r) * rowBytes, seg, r * rowBytes, rowBytes);
                }
            } else {
                MemorySegment.copy(t.data(), 0, seg, 0, seg.byteSize());
            }
            tick.accept(seg);
        });
    }

    /** A tensor's values as floats: a matrix of any stored type through {@code weights} (FP8 with its scales), else widened. */
    private static float[] values(Weights weights, TensorRef t) {
        return values(weights, t, null);
    }

    /** {@link #values(Weights, TensorRef)}, a float matrix widened over {@code pool}'s threads (null: this one). */
    private static float[] values(Weights weights, TensorRef t, Parallel pool) {
        boolean floats = t.dtype() == DType.F32 || t.dtype() == DType.BF16 || t.dtype() == DType.F16;
        return t.shape().length == 2 && !floats ? weights.floats(t, t.dim(0), t.dim(1)) : Weights.toFloats(t, pool);
    }

    /**
     * DeepSeek's {@code kv_b_proj} ({@code g}: {@code blk.N.attn_kv_b.weight}) split as llama.cpp's converter does for its
     * absorbed attention: {@code attn_k_b} {@code [heads, kv_lora_rank, nope]} (each head's key rows, transposed) and
     * {@code attn_v_b} {@code [heads, v, kv_lora_rank]}. Quantized to {@code q} where its rows are whole blocks, else in
     * the source's float type (FP8: F32). {@link GgufCheckpoint} puts the two back together.
     */
    private static List<Tensor> splitKvB(String g, TensorRef t, ModelConfig config, Quantization q, Weights weights, Consumer<MemorySegment> tick) {
        var raw = config.raw();
        int heads = config.numHeads();
        int nope = raw.path("qk_nope_head_dim").asInt();
        int v = raw.path("v_head_dim").asInt();
        int kvLora = raw.path("kv_lora_rank").asInt();
        Weights.expectShape(t, (long) heads * (nope + v), kvLora);
        String p = g.substring(0, g.length() - "attn_kv_b.weight".length());
        return List.of(
                rearranged(p + "attn_k_b.weight", new long[] {nope, kvLora, heads}, t, q, weights, null, (r, c) -> {
                    int h = r / kvLora; // k_b row (h, latent c') holds column c' of head h's key rows, c runs over them
                    return ((long) h * (nope + v) + c) * kvLora + r % kvLora;
                }),
                rearranged(p + "attn_v_b.weight", new long[] {kvLora, v, heads}, t, q, weights, tick,
                        (r, c) -> ((long) (r / v) * (nope + v) + nope + r % v) * kvLora + c));
    }

    /**
     * A matrix of {@code dims[1] * dims[2]} rows of {@code dims[0]} values, value {@code (r, c)} being {@code src}'s
     * element {@code from(r, c)}: quantized to {@code q} where its rows are whole blocks, else in {@code src}'s float type
     * (FP8: F32), exact either way but for the quantization.
     */
    private static Tensor rearranged(String g, long[] dims, TensorRef src, Quantization q, Weights weights, Consumer<MemorySegment> tick,
            Index from) {
        int cols = Math.toIntExact(dims[0]);
        int rows = Math.toIntExact(dims[1] * dims[2]);
        DType stored = q == Quantization.NONE || q == Quantization.FP8 ? null : q.storedAs(cols);
        DType type = stored != null ? stored : src.dtype() == DType.BF16 || src.dtype() == DType.F16 ? src.dtype() : DType.F32;
        GgmlType ggml = GgmlType.valueOf(type.name());
        return new Tensor(g, dims, ggml, seg -> {
            float[] all = values(weights, src);
            float[] w = new float[rows * cols];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    w[r * cols + c] = all[Math.toIntExact(from.at(r, c))];
                }
            }
            long rowBytes = ggml.byteSize(cols);
            for (int r = 0; r < rows; r++) {
                switch (type) {
                    case F32 -> MemorySegment.copy(w, r * cols, seg, F32, r * rowBytes, cols);
                    case BF16 -> {
                        for (int c = 0; c < cols; c++) {
                            seg.set(I16, r * rowBytes + 2L * c, org.redhare.core.Numbers.floatToBf16(w[r * cols + c]));
                        }
                    }
                    case F16 -> {
                        for (int c = 0; c < cols; c++) {
                            seg.set(I16, r * rowBytes + 2L * c, org.redhare.core.Numbers.floatToF16(w[r * cols + c]));
                        }
                    }
                    default -> Quantization.encode(type, w, r * cols, cols, seg, r * rowBytes);
                }
            }
            if (tick != null) {
                tick.accept(seg);
            }
        });
    }

    /** Where value {@code (r, c)} of a rearranged matrix comes from, as an index into the source's values. */
    private interface Index {
        long at(int r, int c);
    }

    /** Experts' matrices of one kind ({@code [rows, cols]} each, one type) as one {@code [experts, rows, cols]} tensor. */
    private static Tensor stack(String g, List<Tensor> experts) {
        Tensor first = experts.get(0);
        for (Tensor e : experts) {
            if (e.type() != first.type() || !java.util.Arrays.equals(e.dims(), first.dims())) {
                throw new ModelLoadException("the experts of '" + g + "' differ in shape or type (" + first.type() + " " + java.util.Arrays.toString(first.dims())
                        + " against " + e.type() + " " + java.util.Arrays.toString(e.dims()) + "); GGUF stacks them in one tensor");
            }
        }
        long each = first.bytes();
        long[] dims = {first.dims()[0], first.dims()[1], experts.size()};
        return new Tensor(g, dims, first.type(), seg -> {
            for (int e = 0; e < experts.size(); e++) {
                experts.get(e).fill().accept(seg.asSlice(e * each, each));
            }
        });
    }

    /**
     * The GGUF architecture {@link #convert} writes for this model, or a {@link ModelLoadException} saying which
     * models it converts; callers check this before preparing anything else.
     */
    public static String architecture(ModelConfig config) {
        return switch (config.modelType()) {
            case "qwen2", "qwen3", "glm4" -> config.modelType();
            case "qwen3_moe" -> "qwen3moe";
            case "llama", "mistral", "mixtral" -> "llama";
            case "gemma3_text", "gemma3" -> "gemma3";
            case "gemma2" -> "gemma2";
            case "deepseek_v3", "deepseek_v2" -> "deepseek2";
            case "glm4_moe" -> "glm4moe";
            case "qwen2_moe" -> "qwen2moe";
            default -> throw new ModelLoadException("GGUF conversion supports llama, mistral, mixtral, qwen2, qwen2_moe, qwen3, qwen3_moe, glm4, glm4_moe,"
                    + " gemma2, gemma3, deepseek_v2 and deepseek_v3 models; got '"
                    + config.modelType() + "'");
        };
    }

    /**
     * A mixture of experts in llama.cpp's keys: {@code expert_count}, {@code expert_used_count} and (Qwen3-MoE) each expert's
     * {@code expert_feed_forward_length}; {@code expert_weights_norm} false where Qwen3-MoE's router weights are not
     * renormalized (llama.cpp itself always renormalizes qwen3moe's, as every published checkpoint does). GGUF's qwen3moe
     * has no dense layers, so a model with some ({@code mlp_only_layers}, {@code decoder_sparse_step}) is refused.
     */
    private static void mixtureMetadata(String arch, ModelConfig config, Map<String, Object> md) {
        var raw = config.raw();
        boolean mixtral = config.modelType().equals("mixtral");
        int experts = raw.path(mixtral ? "num_local_experts" : "num_experts").asInt(0);
        if (experts <= 0) {
            return;
        }
        if (!mixtral && (raw.path("decoder_sparse_step").asInt(1) != 1 || !raw.path("mlp_only_layers").isEmpty())) {
            throw new ModelLoadException("this " + config.modelType() + " model has dense layers (mlp_only_layers " + raw.path("mlp_only_layers")
                    + ", decoder_sparse_step " + raw.path("decoder_sparse_step").asInt(1) + "), which GGUF's " + arch + " cannot describe: run it"
                    + " from its safetensors");
        }
        md.put(arch + ".expert_count", experts);
        md.put(arch + ".expert_used_count", raw.path("num_experts_per_tok").asInt());
        if (!mixtral) {
            md.put(arch + ".expert_feed_forward_length", raw.path("moe_intermediate_size").asInt());
            boolean qwen2 = arch.equals("qwen2moe");
            boolean norm = raw.path("norm_topk_prob").asBoolean(false);
            if (norm == qwen2) { // only where it differs from what llama.cpp does (qwen3moe renormalizes, qwen2moe does not)
                md.put(arch + ".expert_weights_norm", norm);
            }
            if (qwen2 && raw.path("shared_expert_intermediate_size").isNumber()) {
                md.put(arch + ".expert_shared_feed_forward_length", raw.get("shared_expert_intermediate_size").asInt());
            }
        }
    }

    /**
     * DeepSeek-V2/V3 in llama.cpp's deepseek2 keys, as its converter writes them today (see {@link GgufCheckpoint}'s
     * reader): the latent attention as llama.cpp caches it (one KV head of {@code kv_lora_rank + rope} key values and
     * {@code kv_lora_rank} value values) with each head's true sizes in {@code key_length_mla}/{@code value_length_mla};
     * the leading dense layers, the experts, the gating (2 sigmoid, 1 softmax) and the routing groups; YaRN's attention
     * factor as {@code yarn_log_multiplier = 0.1 * mscale_all_dim}. What GGUF cannot say is refused: experts only every
     * n-th layer ({@code moe_layer_freq}), or a RoPE factor of its own ({@code mscale != mscale_all_dim}).
     */
    private static void deepseekMetadata(String arch, ModelConfig config, Map<String, Object> md) {
        var raw = config.raw();
        int kvLora = raw.path("kv_lora_rank").asInt();
        int nope = raw.path("qk_nope_head_dim").asInt();
        int rope = raw.path("qk_rope_head_dim").asInt();
        md.put(arch + ".attention.head_count_kv", 1);
        md.put(arch + ".attention.key_length", kvLora + rope);
        md.put(arch + ".attention.value_length", kvLora);
        md.put(arch + ".attention.key_length_mla", nope + rope);
        md.put(arch + ".attention.value_length_mla", raw.path("v_head_dim").asInt());
        md.put(arch + ".attention.kv_lora_rank", kvLora);
        if (raw.path("q_lora_rank").isNumber()) {
            md.put(arch + ".attention.q_lora_rank", raw.get("q_lora_rank").asInt());
        }
        md.put(arch + ".rope.dimension_count", rope);
        md.put(arch + ".leading_dense_block_count", raw.path("first_k_dense_replace").asInt(0));
        if (raw.path("n_routed_experts").asInt(0) > 0) {
            if (raw.path("moe_layer_freq").asInt(1) != 1) {
                throw new ModelLoadException("this DeepSeek model has experts every " + raw.get("moe_layer_freq") + " layers, which GGUF's"
                        + " deepseek2 cannot describe: run it from its safetensors");
            }
            String scoring = raw.path("scoring_func").asText("softmax");
            String method = raw.path("topk_method").asText("greedy");
            boolean sigmoid = scoring.equals("sigmoid");
            if (!(sigmoid ? method.equals("noaux_tc") : scoring.equals("softmax") && !method.equals("noaux_tc"))) {
                throw new ModelLoadException("DeepSeek routing scoring_func '" + scoring + "' with topk_method '" + method + "' has no GGUF"
                        + " form (llama.cpp's deepseek2 runs sigmoid with noaux_tc, or softmax with greedy or group_limited_greedy)");
            }
            routedExpertsMetadata(arch, config, md, sigmoid, !method.equals("greedy"));
        }
        var rs = config.ropeScaling();
        if (rs != null && rs.path("rope_type").asText(rs.path("type").asText()).equals("yarn")) {
            double all = rs.path("mscale_all_dim").asDouble(0);
            if (rs.path("mscale").asDouble(1) != all && all != 0) {
                throw new ModelLoadException("this DeepSeek model's YaRN mscale " + rs.get("mscale") + " differs from mscale_all_dim " + all
                        + ", which GGUF's deepseek2 cannot describe: run it from its safetensors");
            }
            if (all != 0) {
                md.put(arch + ".rope.scaling.yarn_log_multiplier", (float) (0.1 * all));
            }
            for (String beta : new String[] {"beta_fast", "beta_slow"}) {
                double value = rs.path(beta).asDouble(beta.equals("beta_fast") ? 32 : 1);
                if (value != (beta.equals("beta_fast") ? 32 : 1)) {
                    md.put(arch + ".rope.scaling.yarn_" + beta, (float) value);
                }
            }
        }
    }

    /**
     * DeepSeek-style routed experts (DeepSeek-V2/V3, GLM-4.5) in llama.cpp's keys: count, chosen, each one's and the shared
     * ones' size, the weights' scale and renormalization, the gating (2 sigmoid, 1 softmax), and the groups where
     * {@code grouped} routing has more than one.
     */
    private static void routedExpertsMetadata(String arch, ModelConfig config, Map<String, Object> md, boolean sigmoid, boolean grouped) {
        var raw = config.raw();
        md.put(arch + ".expert_count", raw.path("n_routed_experts").asInt());
        md.put(arch + ".expert_used_count", raw.path("num_experts_per_tok").asInt());
        md.put(arch + ".expert_feed_forward_length", raw.path("moe_intermediate_size").asInt());
        md.put(arch + ".expert_shared_count", raw.path("n_shared_experts").asInt(0));
        md.put(arch + ".expert_weights_scale", (float) raw.path("routed_scaling_factor").asDouble(1));
        md.put(arch + ".expert_weights_norm", raw.path("norm_topk_prob").asBoolean(false));
        md.put(arch + ".expert_gating_func", sigmoid ? 2 : 1);
        if (grouped && raw.path("n_group").asInt(1) > 1) {
            md.put(arch + ".expert_group_count", raw.get("n_group").asInt());
            md.put(arch + ".expert_group_used_count", raw.path("topk_group").asInt(1));
        }
    }

    /**
     * Gemma's local layers and soft caps in GGUF terms. llama.cpp's converter writes {@code attention.sliding_window} (and
     * Gemma 2's {@code attn_logit_softcapping}, {@code final_logit_softcapping}); its reader fixes the rest (every sixth
     * layer global for Gemma 3, every second for Gemma 2; Gemma 3's local RoPE base 10000; scores scaled by head_dim^-0.5,
     * or (hidden/heads)^-0.5 for the 27B models): where this model differs from those, the values go into keys llama.cpp
     * uses for them in other architectures ({@code attention.sliding_window_pattern}, {@code rope.freq_base_swa},
     * {@code attention.scale}), which {@link GgufCheckpoint} reads back. (llama.cpp would run such a model with its fixed
     * values.)
     */
    private static void gemmaMetadata(String arch, ModelConfig config, Map<String, Object> md) {
        var raw = config.raw();
        boolean gemma2 = arch.equals("gemma2");
        md.put(arch + ".attention.sliding_window", raw.path("sliding_window").asInt(4096));
        for (String cap : new String[] {"attn_logit_softcapping", "final_logit_softcapping"}) {
            if (raw.path(cap).isNumber()) {
                md.put(arch + "." + cap, (float) raw.get(cap).asDouble());
            }
        }
        var types = raw.path("layer_types");
        int defaultPattern = gemma2 ? 2 : 6;
        int pattern = raw.path("sliding_window_pattern").asInt(defaultPattern);
        if (types.isArray()) {
            pattern = 0; // the period of the full-attention layers, if they have one
            for (int p = 1; p <= types.size() && pattern == 0; p++) {
                boolean fits = true;
                for (int l = 0; l < types.size(); l++) {
                    fits &= types.get(l).asText().equals("full_attention") == ((l + 1) % p == 0);
                }
                pattern = fits ? p : 0;
            }
            if (pattern == 0) {
                throw new ModelLoadException(arch + ": layer_types " + types + " have no period (every n-th layer global), which GGUF"
                        + " cannot describe");
            }
        }
        if (pattern != defaultPattern) {
            md.put(arch + ".attention.sliding_window_pattern", pattern);
        }
        double local = raw.path("rope_local_base_freq").asDouble(10000);
        if (!gemma2 && local != 10000) {
            md.put(arch + ".rope.freq_base_swa", (float) local);
        }
        double scalar = raw.path("query_pre_attn_scalar").asDouble(256);
        if (scalar != GgufCheckpoint.llamaCppQueryScalar(arch, config.numLayers(), config.hiddenSize(), config.numHeads(), config.headDim())) {
            md.put(arch + ".attention.scale", (float) (1 / Math.sqrt(scalar)));
        }
    }

    /**
     * The Hugging Face row that becomes GGUF row {@code r} of a Llama q or k projection. Hugging Face rotates the
     * pairs (i, i + rotary/2) of each head; GGUF's llama architecture, like Meta's checkpoints, rotates (2i, 2i+1).
     * Rows past {@code rotary} (partial rotary) stay where they are.
     */
    static int fromMetaPairs(int r, int headDim, int rotary) {
        int head = r / headDim;
        int j = r % headDim;
        if (j >= rotary) {
            return r;
        }
        return head * headDim + (j % 2) * (rotary / 2) + j / 2;
    }

    /**
     * Records the model's RoPE scaling in GGUF terms: {@code llama3} as per-pair divisors (returned, for the
     * {@code rope_freqs.weight} tensor, computed as llama.cpp's converter does), {@code linear} and {@code yarn}
     * as metadata; null when there are no divisors to write.
     */
    private static float[] ropeScaling(ModelConfig config, String arch, int rotary, Map<String, Object> md) {
        var s = config.ropeScaling();
        String type = s == null ? "default" : s.path("rope_type").asText(s.path("type").asText("default"));
        switch (type) {
            case "default" -> {
                return null;
            }
            case "linear" -> {
                md.put(arch + ".rope.scaling.type", "linear");
                md.put(arch + ".rope.scaling.factor", (float) s.path("factor").asDouble());
                return null;
            }
            case "yarn" -> {
                md.put(arch + ".rope.scaling.type", "yarn");
                md.put(arch + ".rope.scaling.factor", (float) s.path("factor").asDouble());
                md.put(arch + ".rope.scaling.original_context_length",
                        s.path("original_max_position_embeddings").asInt(config.maxPositionEmbeddings()));
                return null;
            }
            case "llama3" -> {
                double factor = s.path("factor").asDouble();
                double low = s.path("low_freq_factor").asDouble(1.0);
                double high = s.path("high_freq_factor").asDouble(4.0);
                double old = s.path("original_max_position_embeddings").asDouble(8192);
                float[] divisors = new float[rotary / 2];
                for (int i = 0; i < divisors.length; i++) {
                    double wavelen = 2 * Math.PI * Math.pow(config.ropeTheta(), 2.0 * i / rotary);
                    if (wavelen < old / high) {
                        divisors[i] = 1f;
                    } else if (wavelen > old / low) {
                        divisors[i] = (float) factor;
                    } else {
                        double smooth = (old / wavelen - low) / (high - low);
                        divisors[i] = (float) (1 / ((1 - smooth) / factor + smooth));
                    }
                }
                return divisors;
            }
            default -> throw new ModelLoadException("GGUF conversion: rope_scaling type '" + type + "' has no GGUF form RedHare"
                    + " writes (it writes llama3, linear and yarn)");
        }
    }
}
