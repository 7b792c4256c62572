package org.redhare.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
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
 */
public final class Engine implements AutoCloseable {
    private final CausalLM model;
    private final EngineConfig config;
    private final PagedKvCache cache;
    private final BlockAllocator allocator;
    private final LinkedBlockingQueue<Sequence> incoming = new LinkedBlockingQueue<>();
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final Thread thread;
    private final AtomicLong ids = new AtomicLong();
    private final EngineStats stats = new EngineStats();
    private volatile boolean closed;
    private float[] logits = new float[0];

    public Engine(CausalLM model, EngineConfig config) {
        this.model = model;
        this.config = config;
        this.cache = model.kvLayout().allocate(config.kvBlocks(), config.blockSize(), config.kvDtype());
        this.allocator = new BlockAllocator(config.kvBlocks());
        this.thread = new Thread(this::loop, "redhare-engine");
        this.thread.setDaemon(true);
        this.thread.start();
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
     * not fit the context or holds a token outside the vocabulary.
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
        if (prompt.length > (long) config.kvBlocks() * config.blockSize()) {
            throw new InvalidRequestException("the prompt has " + prompt.length + " tokens but the KV cache holds only "
                    + config.kvBlocks() * config.blockSize() + ": raise the KV cache memory");
        }
        int vocab = model.vocabSize();
        for (int t : prompt) {
            if (t < 0 || t >= vocab) {
                throw new InvalidRequestException("token id " + t + " is outside the model's vocabulary [0, " + vocab + ")");
            }
        }
        GenerationHandle h = new GenerationHandle(ids.incrementAndGet());
        incoming.add(new Sequence(h, request, vocab, System.nanoTime()));
        stats.queued.incrementAndGet();
        return h;
    }

    private void loop() {
        while (!closed) {
            try {
                if (waiting.isEmpty() && running.isEmpty()) {
                    Sequence s = incoming.poll(100, TimeUnit.MILLISECONDS);
                    if (s != null) {
                        waiting.add(s);
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
            finish(s, FinishReason.CANCELLED, "engine shut down");
        }
        Sequence s;
        while ((s = incoming.poll()) != null) {
            finish(s, FinishReason.CANCELLED, "engine shut down");
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
        if (batchSeqs.isEmpty()) {
            return;
        }
        run(batchSeqs, chunkLens);
    }

    private void dropCancelled() {
        for (Sequence s : new ArrayList<>(running)) {
            if (s.handle.isCancelled()) {
                finish(s, FinishReason.CANCELLED, null);
            }
        }
        waiting.removeIf(s -> {
            if (s.handle.isCancelled()) {
                finish(s, FinishReason.CANCELLED, null);
                return true;
            }
            return false;
        });
    }

    private int scheduleDecodes(List<Sequence> seqs, List<Integer> lens, int budget) {
        for (int i = 0; i < running.size() && budget > 0; i++) {
            Sequence s = running.get(i);
            if (s.computed != s.length - 1 || seqs.contains(s)) {
                continue; // still reading its prompt, or already in this batch
            }
            boolean fits = reserve(s, s.length);
            while (!fits) {
                Sequence victim = running.get(running.size() - 1);
                if (victim == s) {
                    if (running.size() == 1) {
                        finish(s, FinishReason.CONTEXT_LENGTH, "the KV cache is full (" + config.kvBlocks() * config.blockSize()
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
                lens.add(1);
                budget--;
            }
        }
        return budget;
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
            int chunk = fitChunk(s, Math.min(budget, s.length - s.computed));
            if (chunk <= 0) {
                break;
            }
            waiting.pollFirst();
            running.add(s);
            if (s.admitNanos == 0) {
                s.admitNanos = System.nanoTime();
            }
            seqs.add(s);
            lens.add(chunk);
            budget -= chunk;
        }
        return budget;
    }

    /** The largest chunk up to {@code want} whose blocks can be reserved now (reserving them). */
    private int fitChunk(Sequence s, int want) {
        int canHold = (s.blockCount + allocator.available()) * config.blockSize() - s.computed;
        int chunk = Math.min(want, canHold);
        if (chunk <= 0) {
            return 0;
        }
        reserve(s, s.computed + chunk);
        return chunk;
    }

    private boolean reserve(Sequence s, int tokens) {
        int need = s.blocksNeeded(tokens, config.blockSize());
        if (need > allocator.available()) {
            return false;
        }
        for (int i = 0; i < need; i++) {
            s.addBlock(allocator.allocate());
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
        s.computed = 0;
        running.remove(s);
        waiting.addFirst(s);
        stats.preemptions.incrementAndGet();
    }

    private void release(Sequence s) {
        for (int i = 0; i < s.blockCount; i++) {
            allocator.release(s.blocks[i]);
        }
        s.blockCount = 0;
    }

    private void run(List<Sequence> seqs, List<Integer> lens) {
        int n = 0;
        for (int l : lens) {
            n += l;
        }
        int[] tokens = new int[n];
        int[] positions = new int[n];
        int[][] tables = new int[n][];
        List<Integer> rowOwners = new ArrayList<>();
        int[] rows = new int[seqs.size()];
        int r = 0;
        int t = 0;
        for (int i = 0; i < seqs.size(); i++) {
            Sequence s = seqs.get(i);
            int len = lens.get(i);
            for (int j = 0; j < len; j++) {
                tokens[t] = s.tokens[s.computed + j];
                positions[t] = s.computed + j;
                tables[t] = s.blocks;
                t++;
            }
            if (s.computed + len == s.length) {
                rows[r++] = t - 1;
                rowOwners.add(i);
            }
        }
        rows = Arrays.copyOf(rows, r);
        int vocab = model.vocabSize();
        if (logits.length < r * vocab) {
            logits = new float[r * vocab];
        }
        long t0 = System.nanoTime();
        if (r > 0 || n > 0) {
            model.forward(new ForwardBatch(tokens, positions, tables, rows.length == 0 ? new int[0] : rows), cache, logits);
        }
        stats.recordStep(n, System.nanoTime() - t0);
        for (int i = 0; i < seqs.size(); i++) {
            seqs.get(i).computed += lens.get(i);
        }
        long now = System.nanoTime();
        for (int k = 0; k < r; k++) {
            Sequence s = seqs.get(rowOwners.get(k));
            int token = s.sampler.sample(logits, k * vocab, vocab);
            s.sampler.accept(token);
            s.append(token);
            if (s.firstTokenNanos == 0) {
                s.firstTokenNanos = now;
            }
            s.handle.emit(new GenerationEvent.Token(token, Float.NaN));
            stats.generatedTokens.incrementAndGet();
            if (!s.request.ignoreEos() && s.request.stopTokenIds().contains(token)) {
                finish(s, FinishReason.STOP, null);
            } else if (s.generated >= s.request.maxTokens()) {
                finish(s, FinishReason.LENGTH, null);
            } else if (s.length >= config.maxContext()) {
                finish(s, FinishReason.CONTEXT_LENGTH, "reached the context length of " + config.maxContext() + " tokens");
            }
        }
    }

    private void finish(Sequence s, FinishReason reason, String message) {
        release(s);
        running.remove(s);
        long now = System.nanoTime();
        long first = s.firstTokenNanos == 0 ? now : s.firstTokenNanos;
        long admit = s.admitNanos == 0 ? now : s.admitNanos;
        Usage u = new Usage(s.promptLength, s.generated, admit - s.submitNanos, first - admit, now - first, 0);
        s.handle.emit(new GenerationEvent.Finished(reason, u, message));
        stats.finished.incrementAndGet();
    }

    /** Blocks in use, for metrics and tests. */
    public int usedBlocks() {
        return allocator.capacity() - allocator.available();
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
