package org.redhare.model.layers;

import java.util.LinkedHashMap;
import java.util.Map;
import org.redhare.core.DType;
import org.redhare.core.Parallel;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.core.matrix.ScreenedHead;
import org.redhare.core.matrix.WeightMatrix;
import org.redhare.core.ops.Ops;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ForwardBatch;
import org.redhare.model.LoadOptions;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelSummary;
import org.redhare.model.TensorRef;

/**
 * The pre-norm decoder every supported family shares: embedding; per layer
 * {@code x += attention(norm(x))}, {@code x += feedForward(norm(x))}; final norm; LM head. Families
 * only choose the blocks (see the {@code arch} package).
 */
public final class Decoder implements CausalLM {

    /** One decoder layer: RMSNorm weights {@code [hidden]} and the two blocks. */
    public record Layer(float[] attnNorm, Block attention, float[] mlpNorm, Block feedForward) {}

    private final ModelConfig config;
    private final Checkpoint checkpoint;
    private final Parallel pool;
    private final WeightMatrix embed;  // [vocab, hidden]
    private final WeightMatrix lmHead; // [vocab, hidden] (the embedding when tied)
    private final float[] finalNorm;   // [hidden]
    private final Layer[] layers;
    private final KvLayout kvLayout;
    private final Workspace workspace;
    private final int hidden;
    private final int vocab;
    private final float eps;
    private float embedScale = 1f;  // the embedding rows are multiplied by this (Gemma: sqrt(hidden)); the tied head is not
    private float logitCap;         // logits become logitCap * tanh(logit / logitCap) (Gemma 2); 0: as the head gives them
    private ScreenedHead screen; // null: every token runs the exact head
    private float[] screenedState; // the last step's final hidden state when it screened the head (for exactLogits), else null
    private float[] x = new float[0];
    private float[] xn = new float[0];
    private float[] out = new float[0];

    public Decoder(ModelConfig config, Checkpoint checkpoint, Parallel pool, WeightMatrix embed, WeightMatrix lmHead, float[] finalNorm,
                   Layer[] layers, KvLayout kvLayout, Workspace workspace) {
        this.config = config;
        this.checkpoint = checkpoint;
        this.pool = pool;
        this.embed = embed;
        this.lmHead = lmHead;
        this.finalNorm = finalNorm;
        this.layers = layers;
        this.kvLayout = withWindows(kvLayout, layers);
        this.workspace = workspace;
        this.hidden = config.hiddenSize();
        this.vocab = embed.rows();
        this.eps = (float) config.rmsNormEps();
    }

    /** {@code kv} with the layers whose attention sees a sliding window, as their blocks say. */
    private static KvLayout withWindows(KvLayout kv, Layer[] layers) {
        if (layers.length != kv.layers()) {
            return kv;
        }
        boolean[] windowed = new boolean[layers.length];
        int window = 0;
        for (int l = 0; l < layers.length; l++) {
            int w = layers[l].attention().attentionWindow();
            windowed[l] = w > 0;
            window = Math.max(window, w);
        }
        return window > 0 ? kv.withWindows(windowed, window) : kv;
    }

    @Override public ModelConfig config() { return config; }
    @Override public int vocabSize() { return vocab; }
    @Override public Parallel pool() { return pool; }
    @Override public KvLayout kvLayout() { return kvLayout; }

    /** The LM head ({@code [vocab, hidden]}; the embedding when tied). */
    public WeightMatrix lmHead() {
        return lmHead;
    }

    /** Multiplies each embedding row by {@code scale} as it enters the first layer (Gemma); the LM head is unchanged. */
    public Decoder scaleEmbeddings(float scale) {
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("embedding scale must be a positive number, got " + scale);
        }
        this.embedScale = scale;
        return this;
    }

    /**
     * Soft-caps every logit at {@code cap} ({@code cap * tanh(logit / cap)}, Gemma 2's {@code final_logit_softcapping}).
     * Such a model runs the exact head for every token: the int8 screen's candidates and the penalties applied inside it
     * would be taken before the cap, where transformers applies both after it.
     */
    public Decoder softcapLogits(float cap) {
        if (!(cap > 0) || Float.isInfinite(cap)) {
            throw new IllegalArgumentException("final logit soft cap must be a positive number, got " + cap);
        }
        this.logitCap = cap;
        this.screen = null;
        return this;
    }

    public Layer layer(int i) {
        return layers[i];
    }

    @Override
    public void forward(ForwardBatch batch, PagedKvCache cache, float[] logits) {
        forward(batch, cache, logits, null);
    }

    @Override
    public void forward(ForwardBatch batch, PagedKvCache cache, float[] logits, float[] states) {
        int n = batch.size();
        if (x.length < n * hidden) {
            x = new float[n * hidden];
            xn = new float[n * hidden];
            out = new float[n * hidden];
        }
        int[] tokens = batch.tokens();
        for (int t = 0; t < n; t++) {
            int id = tokens[t];
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            }
            embed.row(id, x, t * hidden);
            if (embedScale != 1f) {
                for (int i = t * hidden; i < (t + 1) * hidden; i++) x[i] *= embedScale;
            }
        }
        LayerContext ctx = new LayerContext(pool, cache, batch, workspace);
        int[] kept = null; // after the last layer's attention: the rows anyone reads, moved to the front of x (null: all)
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            ctx.layer = l;
            Ops.rmsNorm(x, L.attnNorm(), eps, n, hidden, xn);
            L.attention().forward(ctx, xn, out);
            Ops.addInPlace(x, out, n * hidden);
            int m = n;
            if (l == layers.length - 1) {
                kept = keptRows(batch);
                m = kept.length;
                for (int i = 0; i < m; i++) { // kept[i] >= i: moving forward never overwrites a row still to move
                    if (kept[i] != i) System.arraycopy(x, kept[i] * hidden, x, i * hidden, hidden);
                }
            }
            if (m == 0) {
                continue; // a prompt chunk before the last: its keys and values are in the cache, and nothing reads its output
            }
            Ops.rmsNorm(x, L.mlpNorm(), eps, m, hidden, xn);
            L.feedForward().forward(ctx.firstRows(m), xn, out);
            Ops.addInPlace(x, out, m * hidden);
        }
        int[] stateRows = rowsOf(batch.stateRows(), kept);
        if (stateRows.length > 0) {
            if (states == null || states.length < stateRows.length * hidden) {
                throw new IllegalArgumentException("the batch asks for " + stateRows.length + " hidden states of " + hidden
                        + " floats: give a states array that holds them");
            }
            for (int i = 0; i < stateRows.length; i++) { // the same norm, and bits, as the LM head's input below
                Ops.rmsNormRow(x, stateRows[i] * hidden, finalNorm, eps, hidden, states, i * hidden);
            }
        }
        int[] rows = rowsOf(batch.logitRows(), kept);
        if (rows.length == 0) {
            return;
        }
        for (int i = 0; i < rows.length; i++) { // xn is free now and holds n >= rows.length rows
            Ops.rmsNormRow(x, rows[i] * hidden, finalNorm, eps, hidden, xn, i * hidden);
        }
        if (screen != null && batch.exactTop() > 0 && (rows.length == 1 ? screen.screensOneToken() : batch.adjust() == null && screen.screensBatches())) {
            if (rows.length == 1) {
                screen.topLogits(pool, xn, batch.exactTop(), logits, batch.adjust());
            } else {
                screen.topLogits(pool, xn, rows.length, batch.exactTop(), logits);
            }
            if (screenedState == null || screenedState.length != rows.length * hidden) {
                screenedState = new float[rows.length * hidden];
            }
            System.arraycopy(xn, 0, screenedState, 0, rows.length * hidden);
            screened = true;
        } else {
            lmHead.multiply(pool, xn, rows.length, logits);
            screened = false;
            if (logitCap > 0) {
                for (int i = 0; i < rows.length * vocab; i++) {
                    logits[i] = logitCap * (float) Math.tanh(logits[i] / logitCap);
                }
            }
        }
    }

    private boolean screened;

    /*
     * The last layer's feed-forward runs only on the rows whose output is read (logits, hidden states), as llama.cpp
     * does: a prompt's other tokens need their keys and values in every layer, which attention has written by then, and
     * nothing else. The feed-forward is most of a layer (88% of Qwen2.5-0.5B's multiply-adds), so a prompt computes about
     * 1/layers less. Rows keep their bits: every kernel gives a row the same result in any batch.
     */

    /** The distinct rows read after the last layer (logits and hidden states), ascending. */
    private static int[] keptRows(ForwardBatch batch) {
        int[] a = batch.logitRows();
        int[] b = batch.stateRows();
        int[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return java.util.Arrays.stream(all).sorted().distinct().toArray();
    }

    /** {@code rows} as indices into {@code kept} (the compacted x). */
    private static int[] rowsOf(int[] rows, int[] kept) {
        int[] r = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            r[i] = java.util.Arrays.binarySearch(kept, rows[i]);
        }
        return r;
    }

    @Override
    public void exactLogits(float[] logits) {
        if (screened) {
            lmHead.multiply(pool, screenedState, screenedState.length / hidden, logits); // the exact head's bits, as an unscreened step gives them
            screened = false;
        }
    }

    /**
     * Builds the LM head's int8 screen for greedy and top-k tokens ({@link ScreenedHead}) as {@code mode} says: {@code AUTO} where the
     * head is at least {@link LoadOptions.HeadScreen#AUTO_SHARE} of a token's reads, and for an FP8 head (whose screen only
     * batches read) only where {@code batches} say several tokens may decode in one step. Returns whether there is one
     * now; says what it did through {@code log}.
     */
    public boolean screenHead(LoadOptions.HeadScreen mode, boolean batches, java.util.function.Consumer<String> log) {
        screen = null;
        if (mode == LoadOptions.HeadScreen.OFF) {
            return false;
        }
        if (logitCap > 0) {
            if (mode == LoadOptions.HeadScreen.ON) {
                log.accept("--head-screen on: no screen for a model whose logits are soft-capped (final_logit_softcapping); every token"
                        + " runs the exact head");
            }
            return false;
        }
        ModelSummary s = summary();
        if (mode == LoadOptions.HeadScreen.AUTO && lmHead.bytes() < LoadOptions.HeadScreen.AUTO_SHARE * s.decodeBytesPerToken()) {
            return false;
        }
        if (mode == LoadOptions.HeadScreen.AUTO && !batches && lmHead.dtype() == DType.F8_E4M3) {
            return false; // its screen would serve batches alone, and none come
        }
        long t0 = System.nanoTime();
        screen = ScreenedHead.of(pool, lmHead);
        if (screen == null) {
            if (mode == LoadOptions.HeadScreen.ON) {
                log.accept("--head-screen on: no screen for a " + lmHead.dtype() + " LM head [" + lmHead.rows() + ", " + lmHead.cols()
                        + "] (BF16, F16 and F32 heads with finite weights; FP8 ones where batches screen in integers: AVX512-VNNI"
                        + " or AVX2 machine code, rows a multiple of 4, columns of 64 (32 on AVX2)); every token runs the exact head");
            }
            return false;
        }
        if (!screen.screensOneToken()) { // FP8: as many bytes a token; what it saves is the batches' arithmetic
            log.accept(String.format("LM head screened for batches of greedy and top-k users: an int8 copy, %s MB more memory, so"
                            + " that several users decoding at once multiply integers instead of widening the %s head (one token"
                            + " reads the head); same tokens (%.0f ms; --head-screen off to skip)",
                    megabytes(screen.bytes()), lmHead.dtype(), (System.nanoTime() - t0) / 1e6));
            return true;
        }
        ModelSummary after = summary();
        log.accept(String.format("LM head screened for greedy and top-k sampling: an int8 copy, %s MB more memory, read instead of"
                        + " the %s head (%s MB), so such a token reads %s MB instead of %s; same tokens (%.0f ms; --head-screen off to skip)",
                megabytes(screen.bytes()), lmHead.dtype(), megabytes(lmHead.bytes()), megabytes(after.greedyDecodeBytesPerToken()),
                megabytes(after.decodeBytesPerToken()), (System.nanoTime() - t0) / 1e6));
        return true;
    }

    private static String megabytes(long bytes) {
        return bytes >= 100_000_000 ? String.format("%.0f", bytes / 1e6) : String.format("%.3g", bytes / 1e6);
    }

    /** The screen greedy and top-k tokens use, or null. */
    public ScreenedHead headScreen() {
        return screen;
    }

    @Override
    public ModelSummary summary() {
        long total = 0;
        long bytes = 0;
        Map<String, Long> byDtype = new LinkedHashMap<>();
        for (String name : checkpoint.names()) {
            TensorRef.Info t = checkpoint.info(name);
            total += t.elements();
            bytes += t.bytes();
            byDtype.merge(t.dtype().name(), t.elements(), Long::sum);
        }
        long perToken = lmHead.bytes();
        long inactive = 0;
        for (Layer L : layers) {
            perToken += L.attention().decodeBytes() + L.feedForward().decodeBytes();
            inactive += L.feedForward().inactiveParameters();
        }
        return new ModelSummary(total, total - inactive, bytes, byDtype, perToken, lmHead.dtype(), lmHead.bytes(),
                screen == null || !screen.screensOneToken() ? 0 : screen.bytes(), // an FP8 head's screen serves batches alone
                screen == null || screen.screensOneToken() ? 0 : screen.bytes());
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
