package org.redhare.model.arch;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.redhare.core.Parallel;
import org.redhare.core.attention.Attention;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.core.matrix.WeightMatrix;
import org.redhare.core.ops.Ops;
import org.redhare.core.ops.Rope;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ForwardBatch;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelLoadException;
import org.redhare.model.ModelSummary;
import org.redhare.model.RopeConfig;
import org.redhare.model.TensorRef;
import org.redhare.model.Weights;

/**
 * The pre-norm decoder shared by the Llama family (Llama, Mistral, Qwen2, Qwen3): per layer
 * {@code x += o(attn(rope(q,k), v))} over RMSNorm'd input, then {@code x += down(silu(gate) * up)} over
 * RMSNorm'd input; final RMSNorm and the LM head. Families differ only in the {@link Spec}.
 */
public final class DenseDecoder implements CausalLM {

    /** What distinguishes one family from another. */
    public record Spec(boolean qkvBias, boolean qkNorm, Rope.Layout ropeLayout) {}

    /** One decoder layer's weights. Biases and q/k norms are null when the family has none. */
    record Layer(
            float[] attnNorm,   // [hidden]
            WeightMatrix q,     // [heads * headDim, hidden]
            WeightMatrix k,     // [kvHeads * headDim, hidden]
            WeightMatrix v,     // [kvHeads * headDim, hidden]
            WeightMatrix o,     // [hidden, heads * headDim]
            float[] qBias,      // [heads * headDim] or null
            float[] kBias,      // [kvHeads * headDim] or null
            float[] vBias,      // [kvHeads * headDim] or null
            float[] qNorm,      // [headDim] or null
            float[] kNorm,      // [headDim] or null
            float[] mlpNorm,    // [hidden]
            WeightMatrix gate,  // [intermediate, hidden]
            WeightMatrix up,    // [intermediate, hidden]
            WeightMatrix down)  // [hidden, intermediate]
    {}

    private final ModelConfig config;
    private final Checkpoint checkpoint;
    private final Parallel pool;
    private final WeightMatrix embed;  // [vocab, hidden]
    private final WeightMatrix lmHead; // [vocab, hidden] (the embedding when tied)
    private final float[] finalNorm;   // [hidden]
    private final Layer[] layers;
    private final Rope rope;
    private final Attention attention;
    private final int hidden;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int inter;
    private final int vocab;
    private final float eps;
    private Buffers buf;

    public DenseDecoder(ModelConfig c, Checkpoint checkpoint, Spec spec, Parallel pool) {
        this.config = c;
        this.checkpoint = checkpoint;
        this.pool = pool;
        this.hidden = c.hiddenSize();
        this.heads = c.numHeads();
        this.kvHeads = c.numKvHeads();
        this.headDim = c.headDim();
        this.inter = c.intermediateSize();
        this.vocab = c.vocabSize();
        this.eps = (float) c.rmsNormEps();
        if (inter <= 0) {
            throw new ModelLoadException(c.architecture() + " config needs intermediate_size > 0");
        }
        if (heads % kvHeads != 0) {
            throw new ModelLoadException("num_attention_heads (" + heads + ") must be a multiple of num_key_value_heads (" + kvHeads + ")");
        }
        Weights w = new Weights(checkpoint);
        this.embed = w.matrix("model.embed_tokens.weight", vocab, hidden);
        if (w.has("lm_head.weight")) {
            this.lmHead = w.matrix("lm_head.weight", vocab, hidden);
        } else if (c.tieWordEmbeddings()) {
            this.lmHead = embed;
        } else {
            throw new ModelLoadException("tensor 'lm_head.weight' is missing from " + checkpoint.describe()
                    + " and config.json does not tie word embddings (tie_word_embeddings is false)");
        }
        this.finalNorm = w.vector("model.norm.weight", hidden);
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        this.layers = new Layer[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            layers[l] = new Layer(
                    w.vector(p + "input_layernorm.weight", hidden),
                    w.matrix(p + "self_attn.q_proj.weight", qDim, hidden),
                    w.matrix(p + "self_attn.k_proj.weight", kvDim, hidden),
                    w.matrix(p + "self_attn.v_proj.weight", kvDim, hidden),
                    w.matrix(p + "self_attn.o_proj.weight", hidden, qDim),
                    spec.qkvBias() ? w.vector(p + "self_attn.q_proj.bias", qDim) : null,
                    spec.qkvBias() ? w.vector(p + "self_attn.k_proj.bias", kvDim) : null,
                    spec.qkvBias() ? w.vector(p + "self_attn.v_proj.bias", kvDim) : null,
                    spec.qkNorm() ? w.vector(p + "self_attn.q_norm.weight", headDim) : null,
                    spec.qkNorm() ? w.vector(p + "self_attn.k_norm.weight", headDim) : null,
                    w.vector(p + "post_attention_layernorm.weight", hidden),
                    w.matrix(p + "mlp.gate_proj.weight", inter, hidden),
                    w.matrix(p + "mlp.up_proj.weight", inter, hidden),
                    w.matrix(p + "mlp.down_proj.weight", hidden, inter));
        }
        int rotary = (int) (headDim * c.partialRotaryFactor());
        this.rope = RopeConfig.build(c, rotary - rotary % 2, spec.ropeLayout());
        this.attention = new Attention(heads, kvHeads, headDim, headDim, (float) (1.0 / Math.sqrt(headDim)));
    }

    @Override public ModelConfig config() { return config; }
    @Override public int vocabSize() { return vocab; }
    @Override public Parallel pool() { return pool; }

    @Override
    public KvLayout kvLayout() {
        return new KvLayout(layers.length, kvHeads * headDim, kvHeads * headDim);
    }

    /** Activation buffers, grown to the largest batch seen; reused across steps. */
    private static final class Buffers {
        final int n;
        final float[] x, xn, q, k, v, attn, out, gate, up, act, cos, sin;

        Buffers(int n, int hidden, int qDim, int kvDim, int inter, int half) {
            this.n = n;
            x = new float[n * hidden];
            xn = new float[n * hidden];
            q = new float[n * qDim];
            k = new float[n * kvDim];
            v = new float[n * kvDim];
            attn = new float[n * qDim];
            out = new float[n * hidden];
            gate = new float[n * inter];
            up = new float[n * inter];
            act = new float[n * inter];
            cos = new float[n * half];
            sin = new float[n * half];
        }
    }

    @Override
    public void forward(ForwardBatch batch, PagedKvCache cache, float[] logits) {
        int n = batch.size();
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        if (buf == null || buf.n < n) {
            buf = new Buffers(n, hidden, qDim, kvDim, inter, Math.max(1, rope.rotaryDim() / 2));
        }
        Buffers b = buf;
        int[] tokens = batch.tokens();
        for (int t = 0; t < n; t++) {
            int id = tokens[t];
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            }
            embed.row(id, b.x, t * hidden);
        }
        int half = rope.rotaryDim() / 2;
        for (int t = 0; t < n; t++) { // angles once per token, shared by every layer
            rope.angles(batch.positions()[t], b.cos, b.sin, t * half);
        }
        int[] slots = new int[n];
        for (int t = 0; t < n; t++) {
            slots[t] = cache.slotOf(batch.tables()[t], batch.positions()[t]);
        }
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            Ops.rmsNorm(b.x, L.attnNorm(), eps, n, hidden, b.xn);
            L.q().multiply(pool, b.xn, n, b.q);
            L.k().multiply(pool, b.xn, n, b.k);
            L.v().multiply(pool, b.xn, n, b.v);
            if (L.qBias() != null) {
                Ops.addBias(b.q, L.qBias(), n, qDim);
                Ops.addBias(b.k, L.kBias(), n, kvDim);
                Ops.addBias(b.v, L.vBias(), n, kvDim);
            }
            for (int t = 0; t < n; t++) {
                if (L.qNorm() != null) {
                    for (int h = 0; h < heads; h++) {
                        Ops.rmsNormRow(b.q, t * qDim + h * headDim, L.qNorm(), eps, headDim, b.q, t * qDim + h * headDim);
                    }
                    for (int h = 0; h < kvHeads; h++) {
                        Ops.rmsNormRow(b.k, t * kvDim + h * headDim, L.kNorm(), eps, headDim, b.k, t * kvDim + h * headDim);
                    }
                }
                rope.apply(b.q, t * qDim, heads, headDim, b.cos, b.sin, t * half);
                rope.apply(b.k, t * kvDim, kvHeads, headDim, b.cos, b.sin, t * half);
                cache.write(l, slots[t], b.k, t * kvDim, b.v, t * kvDim);
            }
            attention.forward(pool, cache, l, b.q, n, batch.tables(), batch.positions(), b.attn);
            L.o().multiply(pool, b.attn, n, b.out);
            Ops.addInPlace(b.x, b.out, n * hidden);
            Ops.rmsNorm(b.x, L.mlpNorm(), eps, n, hidden, b.xn);
            L.gate().multiply(pool, b.xn, n, b.gate);
            L.up().multiply(pool, b.xn, n, b.up);
            Ops.siluMul(b.gate, b.up, n * inter, b.act);
            L.down().multiply(pool, b.act, n, b.out);
            Ops.addInPlace(b.x, b.out, n * hidden);
        }
        int[] rows = batch.logitRows();
        float[] last = b.xn; // free now, and large enough: rows.length <= n
        for (int i = 0; i < rows.length; i++) {
            Ops.rmsNormRow(b.x, rows[i] * hidden, finalNorm, eps, hidden, last, i * hidden);
        }
        lmHead.multiply(pool, last, rows.length, logits);
    }

    @Override
    public ModelSummary summary() {
        long total = 0;
        long bytes = 0;
        Map<String, Long> byDtype = new LinkedHashMap<>();
        for (String name : checkpoint.names()) {
            TensorRef t = checkpoint.tensor(name);
            total += t.elements();
            bytes += t.data().byteSize();
            byDtype.merge(t.dtype().name(), t.elements(), Long::sum);
        }
        long perToken = lmHead.bytes();
        for (Layer L : layers) {
            for (WeightMatrix m : new WeightMatrix[] {L.q(), L.k(), L.v(), L.o(), L.gate(), L.up(), L.down()}) {
                perToken += m.bytes();
            }
        }
        return new ModelSummary(total, total, bytes, byDtype, perToken);
    }

    @Override
    public void close() {
        checkpoint.close();
    }

    @Override
    public String toString() {
        return config.architecture() + Arrays.toString(new int[] {hidden, layers.length, heads, kvHeads, headDim});
    }
}
