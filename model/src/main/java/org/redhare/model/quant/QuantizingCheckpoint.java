package org.redhare.model.quant;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.redhare.core.DType;
import org.redhare.core.matrix.Quantizers;
import org.redhare.model.Checkpoint;
import org.redhare.model.LoadOptions;
import org.redhare.model.TensorRef;
import org.redhare.model.Weights;

/**
 * A checkpoint whose linear weights are quantized on first access, so every architecture runs the
 * quantized kernels without knowing about it. Quantized: every 2-D BF16/F16/F32 {@code *.weight} (all of a
 * float checkpoint's; of an FP8 checkpoint, those it keeps in BF16, such as the LM head) except the token embedding, which stays as stored (it is read one row per token); when the LM
 * head is tied to the embedding, a quantized copy of it appears as {@code lm_head.weight}, because the head
 * is the largest matrix of small models. Norms, biases and router gates stay as stored. FP8 produces
 * {@code X} and {@code X_scale_inv} ({@code [ceil(rows/128), ceil(cols/128)]}); Q8_0/Q4_0 produce GGML blocks
 * (matrices whose rows are not a multiple of 32 long stay as stored).
 */
public final class QuantizingCheckpoint implements Checkpoint {
    private static final String EMBED = "model.embed_tokens.weight";
    private static final String HEAD = "lm_head.weight";

    private final Checkpoint inner;
    private final org.redhare.core.Parallel pool; // or null: one thread
    private final Quantization q;
    private final LoadOptions.Progress progress;
    private final Set<String> targets;
    private final long totalBytes;
    private final Map<String, TensorRef> done = new HashMap<>();
    private final Set<String> counted = new java.util.HashSet<>();
    private final boolean tiedHead;
    private long doneBytes;

    public QuantizingCheckpoint(Checkpoint inner, Quantization q, boolean tiedHead, LoadOptions options) {
        this(inner, q, tiedHead, options, null);
    }

    /**
     * With {@code pool}, each matrix is widened and quantized over its threads (rows or bands of them; the same bytes as on
     * one thread), except when asked for from inside one of the pool's jobs (a mixture's experts, built on every thread).
     */
    public QuantizingCheckpoint(Checkpoint inner, Quantization q, boolean tiedHead, LoadOptions options, org.redhare.core.Parallel pool) {
        this.pool = pool;
        this.inner = inner;
        this.q = q;
        this.progress = options.progress();
        this.tiedHead = tiedHead && !inner.contains(HEAD) && inner.contains(EMBED);
        Set<String> t = new LinkedHashSet<>();
        long bytes = 0;
        for (String name : inner.names()) {
            TensorRef ref = inner.tensor(name);
            if (quantizes(ref, q)) {
                t.add(name);
                bytes += ref.data().byteSize();
            }
        }
        if (this.tiedHead) {
            t.add(HEAD);
            bytes += inner.tensor(EMBED).data().byteSize();
        }
        this.targets = t;
        this.totalBytes = bytes;
        options.log().accept("quantizing " + t.size() + " linear weight matrices to " + q + " at load"
                + (this.tiedHead ? " (the tied LM head as a quantized copy; the embedding table stays as stored)"
                        : " (the embedding table stays as stored)") + "; norms, biases and router gates stay as stored");
    }

    /**
     * Whether online quantization to {@code q} turns this tensor into {@code q}: 2-D BF16/F16/F32 {@code *.weight}
     * tensors with rows {@link Quantization#storedAs} takes, other than the token embedding, MoE router gates (Qwen2-MoE's
     * one-row shared-expert gate too), and DeepSeek's {@code kv_b_proj}, which the latent attention widens to floats at
     * load whatever it is stored as: quantizing it would only lose accuracy.
     */
    public static boolean quantizes(TensorRef t, Quantization q) {
        if (q == Quantization.NONE || t.name().equals(EMBED) || t.name().endsWith(".gate.weight")
                || t.name().endsWith(".shared_expert_gate.weight") || t.name().endsWith(".self_attn.kv_b_proj.weight")) {
            return false;
        }
        boolean floats = t.dtype() == DType.BF16 || t.dtype() == DType.F16 || t.dtype() == DType.F32;
        boolean blocks = t.shape().length == 2 && q.storedAs((int) t.shape()[1]) != null;
        return floats && t.shape().length == 2 && t.name().endsWith(".weight") && blocks;
    }

    @Override
    public Collection<String> names() {
        List<String> n = new ArrayList<>(inner.names());
        if (tiedHead) {
            n.add(HEAD);
        }
        if (q == Quantization.FP8) {
            for (String t : targets) {
                n.add(t + "_scale_inv");
            }
        }
        return n;
    }

    /**
     * A quantized tensor is handed out once and then forgotten: the matrix built from it repacks it into memory of its
     * own, and keeping every result here held a second copy of all the model's quantized weights for the model's life
     * (a 4.2-billion-weight mixture quantized to FP8 ran out of memory that way). Asked for again, a tensor is quantized
     * again (the same bytes). FP8's scales are kept until they too are taken.
     */
    @Override
    public Optional<TensorRef> find(String name) {
        synchronized (this) {
            TensorRef hit = done.remove(name);
            if (hit != null) {
                return Optional.of(hit);
            }
        }
        if (q == Quantization.FP8 && name.endsWith("_scale_inv") && targets.contains(name.substring(0, name.length() - 10))) {
            return Optional.of(quantize(name.substring(0, name.length() - 10), true)); // the codes are not kept
        }
        if (!targets.contains(name)) {
            return inner.find(name);
        }
        return Optional.of(quantize(name, false));
    }

    /** Without quantizing anything (the default would, through {@link #find}). */
    @Override
    public boolean contains(String name) {
        if (targets.contains(name)) {
            return true;
        }
        if (q == Quantization.FP8 && name.endsWith("_scale_inv") && targets.contains(name.substring(0, name.length() - 10))) {
            return true;
        }
        return inner.contains(name);
    }

    /** Type, shape and size of what {@link #find} gives, worked out without quantizing. */
    @Override
    public TensorRef.Info info(String name) {
        boolean scale = q == Quantization.FP8 && name.endsWith("_scale_inv") && targets.contains(name.substring(0, name.length() - 10));
        String base = scale ? name.substring(0, name.length() - 10) : name;
        if (!targets.contains(base)) {
            return inner.info(name);
        }
        TensorRef.Info src = inner.info(base.equals(HEAD) && tiedHead ? EMBED : base);
        long rows = src.shape()[0];
        long cols = src.shape()[1];
        long[] shape = {rows, cols};
        if (q == Quantization.FP8) {
            long b = Quantizers.FP8_BLOCK;
            long[] sShape = {(rows + b - 1) / b, (cols + b - 1) / b};
            return scale ? new TensorRef.Info(DType.F32, sShape, 4 * sShape[0] * sShape[1]) : new TensorRef.Info(DType.F8_E4M3, shape, rows * cols);
        }
        DType type = q.storedAs((int) cols);
        return new TensorRef.Info(type, shape, rows * type.bytesFor((int) cols));
    }

    /**
     * Quantizes {@code name} and returns it ({@code scales}: FP8's scale tensor instead), keeping FP8's other half until it
     * is asked for. Outside the lock, so that a mixture's experts, built on several threads, quantize in parallel.
     */
    private TensorRef quantize(String name, boolean scales) {
        TensorRef src = inner.tensor(name.equals(HEAD) && tiedHead ? EMBED : name);
        int rows = src.dim(0);
        int cols = src.dim(1);
        float[] w = Weights.toFloats(src, pool);
        // Read once: the checkpoint's mapped pages of it need not stay in the process (the tied embedding table, still
        // used as stored, faults back the rows a lookup reads).
        org.redhare.core.NativeMemory.releaseFileView(src.data());
        long[] shape = {rows, cols};
        TensorRef out;
        TensorRef other = null;
        switch (q) {
            case FP8 -> {
                Quantizers.Fp8 f = Quantizers.toFp8(w, rows, cols, pool);
                TensorRef codes = new TensorRef(name, DType.F8_E4M3, shape, f.codes(), src.file());
                long[] sShape = {(rows + Quantizers.FP8_BLOCK - 1) / Quantizers.FP8_BLOCK, (cols + Quantizers.FP8_BLOCK - 1) / Quantizers.FP8_BLOCK};
                TensorRef scale = new TensorRef(name + "_scale_inv", DType.F32, sShape, f.scales(), src.file());
                out = scales ? scale : codes;
                other = scales ? null : scale;
            }
            case Q8_0, Q4_0, Q4_K, Q6_K -> {
                DType type = q.storedAs(cols);
                long rowBytes = type.bytesFor(cols);
                MemorySegment blocks = MemorySegment.ofArray(new byte[Math.toIntExact(rows * rowBytes)]);
                Quantization.encodeRows(type, w, rows, cols, null, blocks, rowBytes, pool);
                out = new TensorRef(name, type, shape, blocks, src.file());
            }
            default -> throw new IllegalStateException("nothing to quantize");
        }
        synchronized (this) {
            if (other != null) {
                done.put(other.name(), other);
            }
            if (counted.add(name)) { // a tensor asked for again is quantized again, but counted once
                doneBytes += src.data().byteSize();
                progress.update(doneBytes, totalBytes);
            }
        }
        return out;
    }

    @Override
    public String describe() {
        return inner.describe() + " (quantized to " + q + " at load)";
    }

    @Override
    public void close() {
        inner.close();
    }
}
