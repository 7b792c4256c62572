package org.redhare.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;

/**
 * The engine: one thread owns the model and the KV cache and runs steps; any thread submits requests
 * and reads their token streams.
 *
 * <p>Each step is one continuous batch under a token budget: first one decode token for every running
 * sequence, then prefill chunks of sequences still reading their prompt, oldest first. KV memory is a
 * pool of fixed-size blocks; when a running sequence needs a block and none is free, the youngest
 * running sequence is preempted (its blocks freed, recomputed later), so no request that fits fails.
 *
 * <p>With prefix caching, every full block is published under a key chaining its tokens to everything
 * before it; a newly admitted sequence takes the cached blocks its tokens start with (shared,
 * read-only) and computes only the rest. A sequence whose next block is being computed right now by
 * another running sequence waits for it instead of computing it twice (n identical prompts, a shared
 * system prompt). The last token of a sequence is always computed, to get its logits, so a shared
 * block is never written.
 */
public final class Engine implements AutoCloseable {
    /** Rows of logits one sequence asks for per step while its prompt logprobs are computed (bounds the logits buffer). */
    static final int PROMPT_LOGPROB_CHUNK = 256;

    private final CausalLM model;
    private final EngineConfig config;
    private final PagedKvCache cache;
    private final KvBlockPool pool;
    // The sliding-window layers' blocks (EngineConfig.windowKvTokens), or null where they hold their whole context in the
    // pool's blocks. Each block index of a sequence takes one block of each pool; after every step the window layers'
    // blocks behind its window go back (no query of those layers reads them again), so a long sequence holds about a
    // window of them however long it grows (Gemma 3: five layers in six).
    private final KvBlockPool windowPool;
    private final int window; // keys a window layer's query reads at most (the widest window); 0 without a window pool
    private final LinkedBlockingQueue<Sequence> incoming = new LinkedBlockingQueue<>();
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final Map<Long, Sequence> computing = new HashMap<>(); // block key -> running sequence computing that block now
    private final Thread thread;
    private final AtomicLong ids = new AtomicLong();
    private final EngineStats stats;
    private final Logprobs logprobs = new Logprobs();
    private final int blockSize;
    private volatile boolean closed;
    private boolean[] allowedScratch = new boolean[0]; // the tokens a constraint allows (engine thread)
    private float[] logits = new float[0];
    private float[] states = new float[0]; // hidden states embeddings pool (engine thread)

    public Engine(CausalLM model, EngineConfig config) {
        this(model, config, true);
    }

    /**
     * An engine whose steps the caller drives with {@link #stepOnce()} instead of a thread: tests use it
     * to hold the scheduler at a known state (queue full, a block shared) without timing.
     */
    static Engine manual(CausalLM model, EngineConfig config) {
        return new Engine(model, config, false);
    }

    private Engine(CausalLM model, EngineConfig config, boolean start) {
        this.model = model;
        this.config = config;
        this.blockSize = config.blockSize();
        CausalLM.KvLayout kv = model.kvLayout();
        boolean apart = config.windowKvTokens() > 0 && kv.window() > 0 && config.windowKvBlocks() < config.kvBlocks();
        long least = apart ? EngineConfig.windowPoolTokens(kv.window(), config.blockSize(), config.maxBatchTokens(), config.maxRunning()) : 0;
        if (config.windowKvBlocks() * (long) config.blockSize() < least) {
            // smaller, the pool could fill with the blocks of sequences that all wait for more (prompts half read)
            throw new IllegalArgumentException("the sliding-window layers' KV pool of " + config.windowKvTokens() + " tokens is smaller"
                    + " than the " + least + " that " + config.maxRunning() + " running sequences' windows of " + kv.window()
                    + " keys and a step of " + config.maxBatchTokens() + " tokens need: give at least that many, or 0 to keep those"
                    + " layers in the one pool");
        }
        this.cache = apart ? kv.allocate(config.kvBlocks(), config.windowKvBlocks(), config.blockSize(), config.kvDtype())
                : kv.allocate(config.kvBlocks(), config.blockSize(), config.kvDtype());
        this.pool = new KvBlockPool(config.kvBlocks(), config.blockSize());
        this.windowPool = apart ? new KvBlockPool(config.windowKvBlocks(), config.blockSize()) : null;
        this.window = apart ? kv.window() : 0;
        this.stats = new EngineStats(config.kvBlocks(), apart ? config.windowKvBlocks() : 0);
        this.thread = new Thread(this::loop, "redhare-engine");
        this.thread.setDaemon(true);
        if (start) {
            this.thread.start();
        }
    }

    /** Takes what was submitted and runs one step, on the caller's thread; only for an engine made by {@link #manual}. */
    void stepOnce() {
        if (thread.isAlive()) {
            throw new IllegalStateException("the engine runs its own thread");
        }
        incoming.drainTo(waiting);
        step();
    }

    public CausalLM model() {
        return model;
    }

    public EngineConfig config() {
        return config;
    }

    public EngineStats stats() {
        return stats;
    }

    /**
     * Queues a generation. Fails at once, with a message saying what to change, when the prompt does
     * not fit the context, the request could never fit the KV cache, or a token is outside the
     * vocabulary ({@link InvalidRequestException}); and when {@link EngineConfig#maxWaiting()} requests
     * already wait ({@link EngineOverloadedException}: retry later).
     */
    public GenerationHandle submit(GenerationRequest request) {
        if (closed) {
            throw new IllegalStateException("the engine is shut down");
        }
        int[] prompt = request.prompt();
        if (prompt.length >= config.maxContext()) {
            throw new InvalidRequestException("the prompt has " + prompt.length + " tokens but the context holds " + config.maxContext()
                    + " (prompt plus at least one generated token): shorten the prompt or raise the context size");
        }
        // Keys/values are needed for every token but the last generated one, and never past the context.
        long kvNeeded = Math.min((long) prompt.length + request.maxTokens(), config.maxContext()) - 1;
        if (kvNeeded > config.kvPoolTokens()) {
            throw new InvalidRequestException("the prompt (" + prompt.length + " tokens) plus up to " + request.maxTokens()
                    + " generated tokens needs " + kvNeeded + " tokens of KV cache but the whole cache holds only " + config.kvPoolTokens()
                    + ": lower max tokens, shorten the prompt, or raise the KV cache memory");
        }
        int vocab = model.vocabSize();
        for (int t : prompt) {
            if (t < 0 || t >= vocab) {
                throw new InvalidRequestException("token id " + t + " is outside the model's vocabulary [0, " + vocab + ")");
            }
        }
        for (int t : request.sampling().logitBias().keySet()) {
            if (t >= vocab) {
                throw new InvalidRequestException("logit bias for token id " + t + ", outside the model's vocabulary [0, " + vocab + ")");
            }
        }
        return enqueue(new Sequence(new GenerationHandle(ids.incrementAndGet()), request, vocab, System.nanoTime()));
    }

    /**
     * Queues an embedding: the input's final hidden states pooled as the request says, sent as one
     * {@link GenerationEvent.Embedding} before its {@link GenerationEvent.Finished} (reason {@code STOP}; usage counts the
     * input as prompt tokens). Its prompt runs through the same steps as generations' (batched with them, chunked,
     * preempted when blocks run out); a last-token pooling reuses cached prefixes, the others read every token's state and
     * compute the whole input. Fails at once as {@link #submit} does.
     */
    public GenerationHandle embed(EmbeddingRequest request) {
        if (closed) {
            throw new IllegalStateException("the engine is shut down");
        }
        int[] input = request.input();
        checkEmbedding(input);
        GenerationRequest g = new GenerationRequest(input, SamplingParams.GREEDY, 1, java.util.Set.of(), true);
        return enqueue(new Sequence(new GenerationHandle(ids.incrementAndGet()), g, model.vocabSize(), System.nanoTime(), request.pooling(),
                request.skip()));
    }

    /** Throws the {@link InvalidRequestException} {@link #embed} would for this input (too long, a token outside the vocabulary). */
    public void checkEmbedding(int[] input) {
        if (input.length > config.maxContext()) {
            throw new InvalidRequestException("the input has " + input.length + " tokens but the context holds " + config.maxContext()
                    + ": shorten the input or raise the context size");
        }
        if (input.length > config.kvPoolTokens()) {
            throw new InvalidRequestException("the input (" + input.length + " tokens) needs that many tokens of KV cache but the whole cache"
                    + " holds only " + config.kvPoolTokens() + ": shorten the input or raise the KV cache memory");
        }
        int vocab = model.vocabSize();
        for (int t : input) {
            if (t < 0 || t >= vocab) {
                throw new InvalidRequestException("token id " + t + " is outside the model's vocabulary [0, " + vocab + ")");
            }
        }
    }

    /** Takes a place in the queue, or fails when {@link EngineConfig#maxWaiting()} requests already wait. */
    private GenerationHandle enqueue(Sequence seq) {
        while (true) {
            int w = stats.waiting.get();
            if (w >= config.maxWaiting()) {
                stats.rejected.incrementAndGet();
                int retry = stats.retryAfterSeconds();
                throw new EngineOverloadedException("the engine is busy: " + w + " requests are already waiting (limit "
                        + config.maxWaiting() + "); retry in about " + retry + " s", retry);
            }
            if (stats.waiting.compareAndSet(w, w + 1)) {
                break;
            }
        }
        incoming.add(seq);
        stats.queued.incrementAndGet();
        return seq.handle;
    }

    private void loop() {
        while (!closed) {
            try {
                if (waiting.isEmpty() && running.isEmpty()) {
                    Sequence s = incoming.poll(100, TimeUnit.MILLISECONDS);
                    if (s != null) {
                        waiting.add(s);
                        gatherBurst();
                    }
                }
                incoming.drainTo(waiting);
                step();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Throwable t) {
                // A failure in one step fails the sequences in flight, never the engine.
                for (Sequence s : new ArrayList<>(running)) {
                    finish(s, FinishReason.ERROR, "engine error: " + t);
                }
            }
        }
        for (Sequence s : new ArrayList<>(running)) {
            finish(s, FinishReason.CANCELLED, "engine shut down");
        }
        for (Sequence s : waiting) {
            finishWaiting(s, FinishReason.CANCELLED, "engine shut down");
        }
        Sequence s;
        while ((s = incoming.poll()) != null) {
            finishWaiting(s, FinishReason.CANCELLED, "engine shut down");
        }
    }

    /**
     * After a request wakes an idle engine, the longest wait for the next one of the same burst, and for all of it. Requests
     * sent together (a client's batch, a page of users) reach the engine spread out by their HTTP parsing and tokenizing,
     * and once a step runs, its threads take the CPUs those need: sixteen requests sent at once by {@code bench-serve} came
     * in over 34 ms, the first alone started a 118 ms step of its own and the other fifteen waited for it
     * (docs/PERFORMANCE.md, fifty-second session). Gathering them first makes one prompt step of the burst. A lone request
     * waits one gap.
     */
    static final long BURST_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    static final long BURST_WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /** Moves the requests that follow the one that woke the engine within {@link #BURST_GAP_NANOS} of each other to {@code waiting}. */
    private void gatherBurst() throws InterruptedException {
        long end = System.nanoTime() + BURST_WINDOW_NANOS;
        while (true) {
            long left = end - System.nanoTime();
            if (left <= 0) {
                return;
            }
            Sequence next = incoming.poll(Math.min(BURST_GAP_NANOS, left), TimeUnit.NANOSECONDS);
            if (next == null) {
                return;
            }
            waiting.add(next);
        }
    }

    /** One scheduling step and forward pass. Package-private for tests. */
    void step() {
        dropCancelled();
        List<Sequence> batchSeqs = new ArrayList<>();
        List<Integer> chunkLens = new ArrayList<>();
        int budget = config.maxBatchTokens();
        if (!config.prefillFirst()) {
            budget = scheduleDecodes(batchSeqs, chunkLens, budget);
        }
        budget = schedulePrefills(batchSeqs, chunkLens, budget);
        if (config.prefillFirst()) {
            scheduleDecodes(batchSeqs, chunkLens, budget);
        }
        if (!batchSeqs.isEmpty()) {
            long t0 = System.nanoTime();
            run(batchSeqs, chunkLens);
            stats.busyNanos.addAndGet(System.nanoTime() - t0);
        }
        updateGauges();
    }

    private void dropCancelled() {
        for (Sequence s : new ArrayList<>(running)) {
            if (s.handle.isCancelled()) {
                finish(s, FinishReason.CANCELLED, null);
            }
        }
        waiting.removeIf(s -> {
            if (s.handle.isCancelled()) {
                finishWaiting(s, FinishReason.CANCELLED, null);
                return true;
            }
            return false;
        });
    }

    private int scheduleDecodes(List<Sequence> seqs, List<Integer> lens, int budget) {
        int decoding = 0;
        for (Sequence s : running) {
            if (s.computed == s.length - 1 && !seqs.contains(s)) decoding++;
        }
        boolean drafting = config.draftTokens() > 0 && decoding <= DRAFT_MAX_SEQUENCES;
        for (int i = 0; i < running.size() && budget > 0; i++) {
            Sequence s = running.get(i);
            if (s.computed != s.length - 1 || seqs.contains(s)) {
                continue; // still reading its prompt, or already in this batch
            }
            int k = drafting ? draft(s, Math.min(config.draftTokens(), budget - 1)) : 0;
            if (k > 0 && !reserve(s, s.length + k)) {
                k = 0; // no room for the draft: a plain decode token (which may preempt, below)
            }
            stats.draftTokens.addAndGet(k);
            s.drafted = k;
            boolean fits = k > 0 || reserve(s, s.length);
            while (!fits) {
                Sequence victim = running.get(running.size() - 1);
                if (victim == s) {
                    if (running.size() == 1) {
                        finish(s, FinishReason.CONTEXT_LENGTH, "the KV cache is full (" + config.kvPoolTokens()
                                + " tokens): raise the KV cache memory");
                    } else {
                        preempt(s, seqs, lens);
                    }
                    i--; // s is gone from running; nothing after it was scheduled yet
                    break;
                }
                preempt(victim, seqs, lens);
                fits = reserve(s, s.length);
            }
            if (fits) {
                seqs.add(s);
                lens.add(1 + s.drafted);
                budget -= 1 + s.drafted;
            }
        }
        return budget;
    }

    /*
     * Drafting (prompt lookup decoding). Decoding a few sequences reads every weight for a handful of tokens, so a step
     * that also carries a few guessed tokens costs little more than one that does not. A sequence guesses its next
     * tokens from its own text: where its last tokens occurred before (in the prompt or in what it wrote), what followed
     * them then (a model quoting or editing its input, repeating a name, a code identifier, a list's format). The step
     * computes logits at the sequence's last token and at each guess, and draws a token from each row in order with the
     * sequence's own sampler (penalties, constraint and random stream included) as decoding one at a time would: a guess
     * is kept when the drawn token is the guess, and the first drawn token that differs ends the step, so a step yields 1
     * to k + 1 tokens. Every row's logits have the bits they would have in any other batch (the kernels are
     * batch-invariant) and each row takes one draw of the random stream per token kept, so the tokens (and logprobs) are
     * exactly those of decoding one at a time, sampled or greedy, seeded or not. For sampling this is speculative
     * sampling with a draft that puts all its probability on the guess: keep it with probability p(guess), else draw from
     * p without the guess, which together is one draw from p. Keys and values of refused guesses are overwritten by the
     * next step.
     */

    /** Drafting only while this few sequences decode: past it a step is bound by arithmetic and guesses cost their share. */
    static final int DRAFT_MAX_SEQUENCES = 2;
    /** Longest and shortest run of last tokens looked for earlier in the text. */
    static final int DRAFT_MAX_MATCH = 4;
    static final int DRAFT_MIN_MATCH = 2;
    /** Most steps a sequence skips drafting after refused drafts (the pause doubles from 1 with each refusal). */
    static final int DRAFT_MAX_PAUSE = 16;

    /**
     * Writes up to {@code max} draft tokens for {@code s} past its length (and into {@code s.draft}) and returns how many:
     * the tokens that followed the latest earlier occurrence of its last {@value #DRAFT_MAX_MATCH} tokens (or fewer, down
     * to {@value #DRAFT_MIN_MATCH}). None for embeddings, near the end of a request's budget or the context, or while
     * pausing after a refused draft.
     */
    private int draft(Sequence s, int max) {
        GenerationRequest q = s.request;
        if (s.pooling != null) {
            return 0;
        }
        if (s.draftPause > 0) {
            s.draftPause--;
            return 0;
        }
        int len = s.length;
        max = Math.min(Math.min(max, s.draftLimit), Math.min(q.maxTokens() - s.generated - 1, config.maxContext() - len - 1));
        if (max <= 0) {
            return 0;
        }
        int[] t = s.tokens;
        for (int n = Math.min(DRAFT_MAX_MATCH, len - 1); n >= DRAFT_MIN_MATCH; n--) {
            int start = len - n; // the pattern: t[start .. len)
            for (int j = start - 1; j >= 0; j--) { // the latest earlier occurrence t[j .. j + n)
                int m = 0;
                while (m < n && t[j + m] == t[start + m]) m++;
                if (m < n) continue;
                int k = Math.min(max, len - (j + n));
                if (s.draft.length < k) s.draft = new int[config.draftTokens()];
                System.arraycopy(t, j + n, s.draft, 0, k);
                s.ensureRoom(k);
                System.arraycopy(s.draft, 0, s.tokens, len, k);
                return k;
            }
        }
        return 0;
    }

    private int schedulePrefills(List<Sequence> seqs, List<Integer> lens, int budget) {
        // Sequences already admitted that are still reading their prompt.
        for (Sequence s : running) {
            if (budget <= 0) {
                return 0;
            }
            if (s.computed < s.length - 1 && !seqs.contains(s)) {
                int chunk = fitChunk(s, Math.min(budget, s.length - s.computed));
                if (chunk > 0) {
                    seqs.add(s);
                    lens.add(chunk);
                    budget -= chunk;
                }
            }
        }
        // Admit waiting sequences in arrival order while there is budget, room and memory.
        while (budget > 0 && !waiting.isEmpty() && running.size() < config.maxRunning()) {
            Sequence s = waiting.peekFirst();
            int hits = takeCachedPrefix(s);
            if (hits < 0) {
                break; // its next block is being computed by a running sequence: wait for it rather than compute it twice
            }
            int chunk = fitChunk(s, Math.min(budget, s.length - s.computed));
            if (chunk <= 0) {
                release(s); // gives the cached blocks back; they stay cached
                break;
            }
            waiting.pollFirst();
            stats.waiting.decrementAndGet();
            running.add(s);
            announce(s);
            if (config.prefixCaching() && !s.request.promptLogprobs() && (s.pooling == null || !s.pooling.readsEveryToken())) {
                stats.prefixQueriedTokens.addAndGet(s.length);
                stats.prefixHitTokens.addAndGet((long) hits * blockSize);
            }
            if (!s.started) {
                s.started = true;
                s.admitNanos = System.nanoTime();
                s.cachedPromptTokens = Math.min(hits * blockSize, s.promptLength);
                stats.promptTokens.addAndGet(s.promptLength);
            }
            seqs.add(s);
            lens.add(chunk);
            budget -= chunk;
        }
        return budget;
    }

    /**
     * Gives a sequence about to be admitted the cached blocks its tokens start with (all but the last
     * token, which must be computed for its logits); returns how many, or -1 (taking none) when the next
     * block is being computed by a running sequence right now.
     */
    private int takeCachedPrefix(Sequence s) {
        if (!config.prefixCaching() || s.request.promptLogprobs() || s.blockCount > 0 || (s.pooling != null && s.pooling.readsEveryToken())) {
            return 0; // prompt logprobs (pooled states) need logits (states) at every prompt position, so the whole prompt is computed
        }
        int reusable = (s.length - 1) / blockSize;
        int hits = 0;
        while (hits < reusable) {
            long key = s.blockKey(hits, blockSize);
            int b = pool.acquire(key, s.parentKey(hits, blockSize), s.tokens, hits * blockSize);
            if (b < 0) {
                Sequence other = computing.get(key);
                if (other != null && other != s) {
                    release(s);
                    return -1;
                }
                break;
            }
            s.addBlock(b);
            hits++;
        }
        if (windowPool != null) {
            hits = takeCachedWindow(s, hits);
        }
        s.computed = hits * blockSize;
        s.published = hits;
        return hits;
    }

    /**
     * With the window layers' pool: of the {@code hits} cached blocks {@code s} took, keeps the most whose window blocks
     * the first query after them reads (those from its window's first key on) are cached too, taking those; gives back
     * the rest and returns how many it keeps.
     */
    private int takeCachedWindow(Sequence s, int hits) {
        int h = hits;
        while (h > 0) {
            int from = firstWindowBlock(h * blockSize);
            int j = from;
            while (j < h) {
                int wb = windowPool.acquire(s.blockKey(j, blockSize), s.parentKey(j, blockSize), s.tokens, j * blockSize);
                if (wb < 0) {
                    break;
                }
                s.windowBlocks[j++] = wb;
            }
            if (j == h) {
                for (int i = 0; i < from; i++) s.windowBlocks[i] = -1;
                s.windowFrom = from;
                break;
            }
            for (int i = from; i < j; i++) windowPool.release(s.windowBlocks[i]);
            h = j; // block j is missing: no prefix past it can be taken; one ending at j does not read it
        }
        for (int i = h; i < hits; i++) {
            pool.release(s.blocks[i]);
        }
        s.blockCount = h;
        if (h == 0) {
            s.windowFrom = 0;
        }
        return h;
    }

    /** The first block a window layer's query at {@code position} (or any later one) reads. */
    private int firstWindowBlock(int position) {
        return Math.max(0, position - window + 1) / blockSize;
    }

    /** Gives back the window layers' blocks of {@code s} that no query from its next position on reads. */
    private void dropBehindWindow(Sequence s) {
        if (windowPool == null || s.blockCount == 0) {
            return;
        }
        int keep = Math.min(firstWindowBlock(s.computed), s.blockCount);
        if (keep > s.windowFrom) {
            publish(s); // full blocks go to the prefix cache first (cached, not freed, while room allows)
            for (int i = s.windowFrom; i < keep; i++) {
                windowPool.release(s.windowBlocks[i]);
                s.windowBlocks[i] = -1;
            }
            s.windowFrom = keep;
        }
    }

    /** Blocks a sequence can take now: each new block index takes one of each pool. */
    private int available() {
        return windowPool == null ? pool.available() : Math.min(pool.available(), windowPool.available());
    }

    /** Marks the full blocks a newly admitted sequence will compute, so identical prefixes admitted later wait for them. */
    private void announce(Sequence s) {
        if (!config.prefixCaching()) {
            return;
        }
        int full = (s.length - 1) / blockSize;
        s.pendingFrom = s.computed / blockSize;
        s.pendingTo = s.pendingFrom;
        for (int i = s.pendingFrom; i < full; i++) {
            long key = s.blockKey(i, blockSize);
            if (pool.contains(key)) {
                break; // someone else holds it already; later blocks chain from ours, so stop announcing
            }
            computing.putIfAbsent(key, s);
            s.pendingTo = i + 1;
        }
    }

    private void withdraw(Sequence s) {
        for (int i = s.pendingFrom; i < s.pendingTo; i++) {
            computing.remove(s.blockKey(i, blockSize), s);
        }
        s.pendingFrom = s.pendingTo = 0;
    }

    /** Offers each newly filled block of {@code s} to the prefix cache. */
    private void publish(Sequence s) {
        if (!config.prefixCaching()) {
            return;
        }
        int full = Math.min(s.computed / blockSize, s.blockCount);
        for (int i = s.published; i < full; i++) {
            long key = s.blockKey(i, blockSize);
            pool.publish(s.blocks[i], key, s.parentKey(i, blockSize), s.tokens, i * blockSize);
            if (windowPool != null && i >= s.windowFrom && s.windowBlocks[i] >= 0) {
                windowPool.publish(s.windowBlocks[i], key, s.parentKey(i, blockSize), s.tokens, i * blockSize);
            }
            computing.remove(key, s);
        }
        s.published = Math.max(s.published, full);
    }

    /** The largest chunk up to {@code want} whose blocks can be reserved now (reserving them). */
    private int fitChunk(Sequence s, int want) {
        if (s.wantsPromptLogprobs()) {
            want = Math.min(want, PROMPT_LOGPROB_CHUNK);
        }
        int canHold = (s.blockCount + available()) * blockSize - s.computed;
        int chunk = Math.min(want, canHold);
        if (chunk <= 0) {
            return 0;
        }
        reserve(s, s.computed + chunk);
        return chunk;
    }

    private boolean reserve(Sequence s, int tokens) {
        int need = s.blocksNeeded(tokens, blockSize);
        if (need > available()) {
            return false;
        }
        for (int i = 0; i < need; i++) {
            s.addBlock(pool.allocate(), windowPool == null ? -1 : windowPool.allocate());
        }
        return true;
    }

    private void preempt(Sequence s, List<Sequence> seqs, List<Integer> lens) {
        int at = seqs.indexOf(s);
        if (at >= 0) {
            seqs.remove(at);
            lens.remove(at);
        }
        release(s);
        running.remove(s);
        waiting.addFirst(s);
        stats.waiting.incrementAndGet();
        stats.preemptions.incrementAndGet();
    }

    /** Drops the sequence's hold on its blocks (full published ones stay cached for whoever comes next). */
    private void release(Sequence s) {
        withdraw(s);
        for (int i = 0; i < s.blockCount; i++) {
            pool.release(s.blocks[i]);
            if (windowPool != null && i >= s.windowFrom && s.windowBlocks[i] >= 0) {
                windowPool.release(s.windowBlocks[i]);
            }
        }
        s.windowFrom = 0;
        s.blockCount = 0;
        s.computed = 0;
        s.published = 0;
        s.drafted = 0;
        s.pooled = null; // an embedding preempted midway pools again from its first token
        s.poolWeight = 0;
        updateGauges();
    }

    /** Rows from which a step draws in parallel: below this, one thread draws them (a greedy row takes about 0.1-0.2 ms). */
    static final int PARALLEL_DRAW_ROWS = 4;

    /**
     * The tokens of a step's rows drawn over the model's threads, or null where the loop in {@link #run} draws them one by
     * one: fewer than {@link #PARALLEL_DRAW_ROWS} rows, or any row that is not a plain draw (prompt logprobs, a draft, a
     * token constraint, or penalties, which write the logits through a shared buffer). Each row is another sequence's
     * with its own sampler and random stream, so the tokens do not depend on the order or the thread. Why: sixteen
     * greedy rows of a 151936-token vocabulary took 3 ms of a 120 ms step on the engine thread while the other
     * threads waited.
     */
    private int[] drawInParallel(List<Sequence> seqs, int[] rowSeq, int[] rowTarget, int r, int vocab) {
        if (r < PARALLEL_DRAW_ROWS) {
            return null;
        }
        Sequence prev = null;
        for (int k = 0; k < r; k++) {
            Sequence s = seqs.get(rowSeq[k]);
            if (rowTarget[k] >= 0 || s == prev || s.drafted > 0 || s.request.constraint() != null || s.sampler.modifiesLogits()) {
                return null;
            }
            prev = s;
        }
        int[] drawn = new int[r];
        float[] l = logits;
        model.pool().forRange(r, 1, (k0, k1, w) -> {
            for (int k = k0; k < k1; k++) {
                drawn[k] = seqs.get(rowSeq[k]).sampler.sample(l, k * vocab, vocab);
            }
        });
        return drawn;
    }

    private void updateGauges() {
        stats.kvBlocksUsed.set(pool.inUse());
        stats.kvBlocksCached.set(pool.cached());
        if (windowPool != null) {
            stats.windowBlocksUsed.set(windowPool.inUse());
        }
        stats.running.set(running.size());
    }

    private void run(List<Sequence> seqs, List<Integer> lens) {
        int n = 0;
        int rowsWanted = 0;
        for (int i = 0; i < seqs.size(); i++) {
            n += lens.get(i);
            rowsWanted += seqs.get(i).wantsPromptLogprobs() || seqs.get(i).drafted > 0 ? lens.get(i) : 1;
        }
        int[] tokens = new int[n];
        int[] positions = new int[n];
        int[][] tables = new int[n][];
        int[][] windowTables = windowPool == null ? tables : new int[n][];
        int[] rows = new int[rowsWanted];       // token index of each logits row
        int[] rowSeq = new int[rowsWanted];     // batch sequence the row belongs to
        int[] rowTarget = new int[rowsWanted];  // prompt index whose logprob the row gives, or -1 to sample
        int r = 0;
        int t = 0;
        int sr = 0;
        int[] stateRows = new int[0];  // token index of each hidden state an embedding pools
        int[] stateSeq = new int[0];   // and its batch sequence
        for (int i = 0; i < seqs.size(); i++) {
            Sequence s = seqs.get(i);
            int len = lens.get(i);
            boolean promptRows = s.wantsPromptLogprobs();
            for (int j = 0; j < len; j++) {
                int p = s.computed + j;
                tokens[t] = s.tokens[p];
                positions[t] = p;
                tables[t] = s.blocks;
                if (windowPool != null) {
                    windowTables[t] = s.windowBlocks;
                }
                if (s.pooling != null) {
                    if (s.pools(p)) {
                        if (sr == stateRows.length) {
                            stateRows = Arrays.copyOf(stateRows, Math.max(16, 2 * sr));
                            stateSeq = Arrays.copyOf(stateSeq, stateRows.length);
                        }
                        stateRows[sr] = t;
                        stateSeq[sr++] = i;
                    }
                } else if (p >= s.length - 1) { // the last token, and each draft token after it
                    rows[r] = t;
                    rowSeq[r] = i;
                    rowTarget[r++] = -1;
                } else if (promptRows && p + 1 < s.promptLength) {
                    rows[r] = t;
                    rowSeq[r] = i;
                    rowTarget[r++] = p + 1;
                }
                t++;
            }
        }
        rows = Arrays.copyOf(rows, r);
        int exactTop = 1; // how many of each row's largest logits its sampler reads; 0 (all) as soon as one row needs all
        for (int k = 0; k < r && exactTop > 0; k++) {
            Sequence q = seqs.get(rowSeq[k]);
            // a constraint that keeps refusing the drawn token would need every logit each step: the screen would only add to it
            int need = rowTarget[k] < 0 && q.refusedRate < REFUSED_FOR_EXACT ? q.request.exactTop() : 0;
            exactTop = need == 0 ? 0 : Math.max(exactTop, need);
        }
        int vocab = model.vocabSize();
        if (logits.length < r * vocab) {
            logits = new float[r * vocab];
        }
        long t0 = System.nanoTime();
        // a lone sequence's penalties go with it, so that the largest logits after them are the exact ones
        Sampler adjust = exactTop > 0 && r == 1 && rowTarget[0] < 0 && seqs.get(rowSeq[0]).sampler.modifiesLogits()
                ? seqs.get(rowSeq[0]).sampler : null;
        int hidden = model.config().hiddenSize();
        if (states.length < sr * hidden) {
            states = new float[sr * hidden];
        }
        model.forward(new ForwardBatch(tokens, positions, tables, rows, exactTop, adjust, Arrays.copyOf(stateRows, sr), windowTables), cache,
                logits, states);
        stats.recordStep(n, System.nanoTime() - t0);
        for (int k = 0; k < sr; k++) {
            Sequence s = seqs.get(stateSeq[k]);
            s.pool(positions[stateRows[k]], states, k * hidden, hidden);
        }
        for (int i = 0; i < seqs.size(); i++) {
            Sequence s = seqs.get(i);
            s.computed += lens.get(i) - s.drafted; // a draft's keys and values count once its tokens are confirmed, below
            s.draftBase = s.computed - 1;          // the position of its first logits row
            publish(s);
            if (s.pooling != null && s.computed == s.length) {
                s.handle.emit(new GenerationEvent.Embedding(s.embedding()));
                finish(s, FinishReason.STOP, null);
            }
        }
        long now = System.nanoTime();
        int[] drawn = drawInParallel(seqs, rowSeq, rowTarget, r, vocab);
        Sequence skip = null; // a drafting sequence whose remaining rows this step are void (a draft token refused, or it ended)
        for (int k = 0; k < r; k++) {
            Sequence s = seqs.get(rowSeq[k]);
            if (s == skip) {
                continue;
            }
            int off = k * vocab;
            float logZ = s.request.logprobs() ? logprobs.logSumExp(logits, off, vocab) : Float.NaN;
            int topN = s.request.topLogprobs();
            if (rowTarget[k] >= 0) {
                int target = rowTarget[k];
                s.promptLogprobs[target] = logits[off + s.tokens[target]] - logZ;
                s.promptTop.set(target, logprobs.top(logits, off, vocab, topN, logZ));
                continue;
            }
            if (s.wantsPromptLogprobs()) {
                s.promptSent = true;
                s.handle.emit(new GenerationEvent.Prompt(s.promptLogprobs, List.copyOf(s.promptTop)));
            }
            List<TokenLogprob> top = logprobs.top(logits, off, vocab, topN, logZ);
            // Logprobs describe the model's raw distribution; penalties must not leak into them.
            TokenConstraint constraint = s.request.constraint();
            int token;
            if (drawn != null) {
                token = drawn[k];
            } else if (constraint == null) {
                token = s.sampler.modifiesLogits()
                        ? s.sampler.sample(logprobs.copy(logits, off, vocab), 0, vocab)
                        : s.sampler.sample(logits, off, vocab);
            } else {
                try { // a library's constraint may fail: that ends its own sequence, not the others
                    token = constrained(s.sampler, constraint, logits, off, vocab, r == 1);
                    s.refusedRate = 0.8f * s.refusedRate + (lastDrawRefused ? 0.2f : 0f);
                    if (token >= 0) {
                        constraint.accept(token);
                    }
                } catch (RuntimeException e) {
                    finish(s, FinishReason.ERROR, "the token constraint failed: " + e);
                    continue;
                }
                if (token < 0) {
                    finish(s, FinishReason.ERROR, "no token of the vocabulary can continue the text in the required format");
                    continue;
                }
            }
            float logprob = logits[off + token] - logZ;
            s.sampler.accept(token);
            s.append(token);
            if (s.firstTokenNanos == 0) {
                s.firstTokenNanos = now;
            }
            s.handle.emit(new GenerationEvent.Token(token, logprob, top));
            stats.generatedTokens.incrementAndGet();
            boolean ended = true;
            if ((!s.request.ignoreEos() && s.request.stopTokenIds().contains(token)) || (constraint != null && constraint.complete())) {
                finish(s, FinishReason.STOP, null);
            } else if (s.generated >= s.request.maxTokens()) {
                finish(s, FinishReason.LENGTH, null);
            } else if (s.length >= config.maxContext()) {
                finish(s, FinishReason.CONTEXT_LENGTH, "reached the context length of " + config.maxContext() + " tokens");
            } else {
                ended = false;
            }
            if (s.drafted > 0) {
                // row d of this sequence's rows read draft tokens 0 .. d-1; its token confirms draft token d, or ends the step
                int d = positions[rows[k]] - s.draftBase;
                boolean confirmed = !ended && d < s.drafted && token == s.draft[d];
                if (confirmed) {
                    s.computed++; // the draft token's keys and values, computed this step, are now the sequence's
                    stats.draftAccepted.incrementAndGet();
                } else {
                    if (!ended) {
                        settleDraft(s, d);
                    }
                    skip = s;
                }
            }
        }
        for (Sequence s : seqs) {
            dropBehindWindow(s); // a finished sequence holds no blocks any more
        }
    }

    /** After a drafting sequence's step confirmed {@code confirmed} draft tokens: its pause, and its new full blocks cached. */
    private void settleDraft(Sequence s, int confirmed) {
        if (confirmed == 0) {
            s.draftPause = s.draftBackoff = Math.min(DRAFT_MAX_PAUSE, Math.max(1, 2 * s.draftBackoff));
        } else {
            s.draftBackoff = 0;
        }
        // Each guessed token costs a row of arithmetic (the LM head's too): draft about one more than the last step kept,
        // twice as many after a draft kept whole.
        s.draftLimit = confirmed == s.drafted ? Math.min(EngineConfig.MAX_DRAFT_TOKENS, 2 * s.draftLimit) : confirmed + 1;
        s.drafted = 0;
        publish(s);
    }

    /** Above this rate of refused draws a constrained sequence takes the exact LM head rather than the screen. */
    private static final float REFUSED_FOR_EXACT = 0.3f;
    private boolean lastDrawRefused; // whether constrained()'s first draw was refused (engine thread)

    /**
     * A token for a constrained sequence: drawn as usual and kept if the constraint allows it; otherwise drawn again with
     * every token the constraint refuses masked out. The two draws together pick each allowed token with its probability
     * renormalized over the allowed ones (a first draw of {@code t} has chance {@code p(t)}, a refused first draw
     * {@code 1 - P}, then {@code p(t) / P}: in all {@code p(t) / P}). The raw logits stay as they are, for logprobs. -1
     * if no token is allowed.
     */
    private int constrained(Sampler sampler, TokenConstraint constraint, float[] logits, int off, int vocab, boolean loneRow) {
        int token = sampler.sample(logprobs.copy(logits, off, vocab), 0, vocab);
        lastDrawRefused = !constraint.allows(token);
        if (!lastDrawRefused) {
            return token;
        }
        if (loneRow) {
            model.exactLogits(logits); // a screened step computed only the largest logits exactly; the redraw needs them all
        }
        float[] masked = logprobs.copy(logits, off, vocab);
        if (allowedScratch.length < vocab) {
            allowedScratch = new boolean[vocab];
        }
        if (constraint.allowed(allowedScratch, vocab) == 0) {
            return -1;
        }
        for (int v = 0; v < vocab; v++) {
            if (!allowedScratch[v]) {
                masked[v] = Float.NEGATIVE_INFINITY;
            }
        }
        token = sampler.sample(masked, 0, vocab);
        return constraint.allows(token) ? token : -1;
    }

    /** Ends a running sequence: frees its blocks (before the caller hears of it), then reports. */
    private void finish(Sequence s, FinishReason reason, String message) {
        release(s);
        running.remove(s);
        updateGauges();
        report(s, reason, message);
    }

    /** Ends a sequence that was still waiting (it holds no blocks). */
    private void finishWaiting(Sequence s, FinishReason reason, String message) {
        release(s);
        stats.waiting.decrementAndGet();
        report(s, reason, message);
    }

    private void report(Sequence s, FinishReason reason, String message) {
        long now = System.nanoTime();
        long first = s.firstTokenNanos == 0 ? now : s.firstTokenNanos;
        long admit = s.admitNanos == 0 ? now : s.admitNanos;
        Usage u = new Usage(s.promptLength, s.generated, admit - s.submitNanos, first - admit, now - first, s.cachedPromptTokens);
        stats.finished.incrementAndGet();
        stats.finishedByReason.incrementAndGet(reason.ordinal());
        s.handle.emit(new GenerationEvent.Finished(reason, u, message));
    }

    /** KV blocks held by sequences (cached prefix blocks not counted), as of the engine's latest change; any thread. */
    public int usedBlocks() {
        return stats.kvBlocksUsed();
    }

    @Override
    public void close() {
        closed = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        cache.close();
    }
}
