package org.redhare.engine;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.redhare.core.attention.KvDtype;
import org.redhare.model.CausalLM;

/**
 * Engine limits.
 *
 * @param maxContext     longest sequence (prompt + generated) in tokens
 * @param kvCacheTokens  tokens the KV pool holds across all sequences (rounded up to whole blocks)
 * @param kvDtype        element type of the KV cache
 * @param blockSize      tokens per KV block
 * @param maxBatchTokens token budget of one step (decode tokens plus prefill chunks)
 * @param maxRunning     sequences decoded together at most
 * @param prefillFirst   schedule waiting prompts before decode tokens (lower time to first token, burstier decode)
 * @param maxWaiting     requests queued (not yet running, preempted ones included) at most; past it
 *                       {@link Engine#submit} throws {@link EngineOverloadedException}
 * @param prefixCaching  keep full KV blocks keyed by their token prefix and reuse them for prompts that start the same way
 * @param draftTokens    most tokens a sequence drafts per step from its own text (prompt lookup decoding: see
 *                       {@link Engine}); 0 turns drafting off
 * @param windowKvTokens tokens the sliding-window layers' own pool holds (rounded up to whole blocks), apart from
 *                       {@code kvCacheTokens}, which then counts the other layers' tokens; 0: those layers hold their
 *                       whole context in the one pool (see {@link #withWindowPool})
 */
public record EngineConfig(int maxContext, int kvCacheTokens, KvDtype kvDtype, int blockSize, int maxBatchTokens, int maxRunning,
                           boolean prefillFirst, int maxWaiting, boolean prefixCaching, int draftTokens, int windowKvTokens) {
    /** Queue bound when none is given: deep enough for bursts, bounded so memory and latency stay bounded. */
    public static final int DEFAULT_MAX_WAITING = 1024;
    public static final int DEFAULT_BLOCK_SIZE = 16;

    public EngineConfig {
        if (maxContext < 2) throw new IllegalArgumentException("context length must be at least 2, got " + maxContext);
        if (blockSize < 1) throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        if (kvCacheTokens < blockSize) throw new IllegalArgumentException("the KV cache must hold at least one block of " + blockSize + " tokens");
        if (maxBatchTokens < 1) throw new IllegalArgumentException("--max-batch-tokens must be positive, got " + maxBatchTokens);
        if (maxRunning < 1) throw new IllegalArgumentException("--max-running must be positive, got " + maxRunning);
        if (maxWaiting < 1) throw new IllegalArgumentException("--max-waiting must be positive, got " + maxWaiting);
        if (draftTokens < 0 || draftTokens > MAX_DRAFT_TOKENS) {
            throw new IllegalArgumentException("--draft-tokens must be in [0, " + MAX_DRAFT_TOKENS + "], got " + draftTokens);
        }
        if (windowKvTokens < 0) throw new IllegalArgumentException("window KV tokens must be >= 0, got " + windowKvTokens);
    }

    /** Sliding-window layers in the one pool. */
    public EngineConfig(int maxContext, int kvCacheTokens, KvDtype kvDtype, int blockSize, int maxBatchTokens, int maxRunning,
                        boolean prefillFirst, int maxWaiting, boolean prefixCaching, int draftTokens) {
        this(maxContext, kvCacheTokens, kvDtype, blockSize, maxBatchTokens, maxRunning, prefillFirst, maxWaiting, prefixCaching,
                draftTokens, 0);
    }

    /** Most draft tokens a step may carry per sequence. */
    public static final int MAX_DRAFT_TOKENS = 16;

    /** Without drafting. */
    public EngineConfig(int maxContext, int kvCacheTokens, KvDtype kvDtype, int blockSize, int maxBatchTokens, int maxRunning,
                        boolean prefillFirst, int maxWaiting, boolean prefixCaching) {
        this(maxContext, kvCacheTokens, kvDtype, blockSize, maxBatchTokens, maxRunning, prefillFirst, maxWaiting, prefixCaching, 0);
    }

    /** The same limits, with sequences drafting up to {@code draftTokens} tokens a step (0: none). */
    public EngineConfig withDraftTokens(int draftTokens) {
        return new EngineConfig(maxContext, kvCacheTokens, kvDtype, blockSize, maxBatchTokens, maxRunning, prefillFirst, maxWaiting,
                prefixCaching, draftTokens, windowKvTokens);
    }

    /** The limits without queue bound or prefix caching choices: {@link #DEFAULT_MAX_WAITING}, prefix caching on. */
    public EngineConfig(int maxContext, int kvCacheTokens, KvDtype kvDtype, int blockSize, int maxBatchTokens, int maxRunning,
                        boolean prefillFirst) {
        this(maxContext, kvCacheTokens, kvDtype, blockSize, maxBatchTokens, maxRunning, prefillFirst, DEFAULT_MAX_WAITING, true);
    }

    /** One sequence at a time with room for the whole context: the CLI's generate. */
    public static EngineConfig single(int maxContext, KvDtype kvDtype) {
        return new EngineConfig(maxContext, maxContext + DEFAULT_BLOCK_SIZE, kvDtype, DEFAULT_BLOCK_SIZE, 512, 1, false);
    }

    /**
     * A server configuration sized from memory: the KV pool holds as many tokens as {@code kvBytes} allows
     * at {@code kvBytesPerToken} (see {@link CausalLM.KvLayout#bytesPerToken}).
     */
    public static EngineConfig forKvMemory(long kvBytes, long kvBytesPerToken, int maxContext, KvDtype kvDtype, int maxBatchTokens,
                                           int maxRunning, int maxWaiting, boolean prefixCaching) {
        if (kvBytesPerToken <= 0) {
            throw new IllegalArgumentException("KV bytes per token must be positive, got " + kvBytesPerToken);
        }
        long tokens = kvBytes / kvBytesPerToken / DEFAULT_BLOCK_SIZE * DEFAULT_BLOCK_SIZE;
        if (tokens < DEFAULT_BLOCK_SIZE) {
            throw new IllegalArgumentException("a KV cache of " + formatBytes(kvBytes) + " holds " + kvBytes / kvBytesPerToken
                    + " tokens at " + kvBytesPerToken + " bytes per token, less than one block of " + DEFAULT_BLOCK_SIZE
                    + ": give more KV cache memory (e.g. --kv-cache-memory 1GiB)");
        }
        int capped = (int) Math.min(tokens, Integer.MAX_VALUE / 2);
        return new EngineConfig(maxContext, capped, kvDtype, DEFAULT_BLOCK_SIZE, maxBatchTokens, maxRunning, false, maxWaiting, prefixCaching);
    }

    /**
     * {@link #forKvMemory(long, long, int, KvDtype, int, int, int, boolean)} for a model of KV layout {@code kv}: where
     * {@code windowPool} and the model has sliding-window layers whose own pool ({@link #windowPoolTokens}) would be
     * smaller than the one pool's tokens, those layers get that pool and the rest of the memory goes to the other
     * layers' pool (Gemma 3 1B, 2 GiB: 80 thousand tokens become over 400 thousand); otherwise as that method.
     */
    public static EngineConfig forKvMemory(long kvBytes, CausalLM.KvLayout kv, int maxContext, KvDtype kvDtype, int maxBatchTokens,
                                           int maxRunning, int maxWaiting, boolean prefixCaching, boolean windowPool) {
        EngineConfig one = forKvMemory(kvBytes, kv.bytesPerToken(kvDtype), maxContext, kvDtype, maxBatchTokens, maxRunning, maxWaiting,
                prefixCaching);
        if (!windowPool || kv.window() == 0) {
            return one;
        }
        long windowTokens = windowPoolTokens(kv.window(), DEFAULT_BLOCK_SIZE, maxBatchTokens, maxRunning);
        if (windowTokens >= one.kvPoolTokens()) {
            return one; // the window layers would need as many tokens as they hold now: nothing to gain
        }
        long windowBytes = windowTokens * kv.windowBytesPerToken(kvDtype);
        long otherPerToken = kv.bytesPerToken(kvDtype) - kv.windowBytesPerToken(kvDtype);
        // Every layer windowed (Mistral 7B v0.1): the other pool's blocks hold no memory, only count each sequence's length.
        long tokens = otherPerToken == 0 ? (long) maxContext * maxRunning
                : (kvBytes - windowBytes) / otherPerToken / DEFAULT_BLOCK_SIZE * DEFAULT_BLOCK_SIZE;
        int capped = (int) Math.min(tokens, Integer.MAX_VALUE / 2);
        return new EngineConfig(maxContext, capped, kvDtype, DEFAULT_BLOCK_SIZE, maxBatchTokens, maxRunning, false, maxWaiting,
                prefixCaching, 0, (int) windowTokens);
    }

    /**
     * Tokens a pool of the sliding-window layers holds so that it never holds up a step: each of {@code maxRunning}
     * sequences keeps the blocks its next queries read ({@code window - 1} keys behind the first, its draft tokens, a
     * block at each end) and a step adds at most its token budget. The engine gives back each sequence's blocks behind its
     * window after every step; cached blocks (a prompt prefix) stay while this leaves room.
     */
    public static long windowPoolTokens(int window, int blockSize, int maxBatchTokens, int maxRunning) {
        long perSequence = ((long) window - 1 + MAX_DRAFT_TOKENS + blockSize - 1) / blockSize + 3;
        return (maxRunning * perSequence + (maxBatchTokens + blockSize - 1) / blockSize) * blockSize;
    }

    /**
     * These limits with the sliding-window layers of a model of KV layout {@code kv} in a pool of their own of {@link
     * #windowPoolTokens} tokens, where that is fewer than {@link #kvPoolTokens} (the other layers keep {@code kvCacheTokens});
     * unchanged otherwise.
     */
    public EngineConfig withWindowPool(CausalLM.KvLayout kv) {
        if (kv.window() == 0) {
            return this;
        }
        long windowTokens = windowPoolTokens(kv.window(), blockSize, maxBatchTokens, maxRunning);
        return windowTokens >= kvPoolTokens() ? this : new EngineConfig(maxContext, kvCacheTokens, kvDtype, blockSize, maxBatchTokens,
                maxRunning, prefillFirst, maxWaiting, prefixCaching, draftTokens, (int) windowTokens);
    }

    /** Blocks of the sliding-window layers' own pool; 0 when they share the one pool. */
    public int windowKvBlocks() {
        return (windowKvTokens + blockSize - 1) / blockSize;
    }

    /**
     * The CLI's serve configuration: {@code kvCacheMemory} as given to {@code --kv-cache-memory}
     * ({@link #parseSize}; a fraction is of the machine's free memory) for this model's KV layout.
     */
    public static EngineConfig forModel(CausalLM model, String kvCacheMemory, int maxContext, KvDtype kvDtype, int maxRunning) {
        long bytes = parseSize(kvCacheMemory, freeMemoryBytes());
        return forKvMemory(bytes, model.kvLayout(), maxContext, kvDtype, 512, maxRunning, DEFAULT_MAX_WAITING, true, true);
    }

    private static final Pattern SIZE = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([kmgt]i?b?|b)?\\s*", Pattern.CASE_INSENSITIVE);

    /**
     * Parses a memory size: {@code "512MiB"}, {@code "2GiB"}, {@code "1.5GB"}, {@code "4096"} (bytes), or a
     * fraction in (0, 1] such as {@code "0.5"} of {@code available} bytes. KiB/MiB/GiB/TiB (and K/M/G/T) are
     * powers of 1024; kB/MB/GB/TB are powers of 1000.
     */
    public static long parseSize(String spec, long available) {
        if (spec == null) {
            throw new IllegalArgumentException("no memory size given: use e.g. 512MiB, 2GiB or 0.5 (half of the free memory)");
        }
        Matcher m = SIZE.matcher(spec);
        if (!m.matches()) {
            throw new IllegalArgumentException("cannot read the memory size '" + spec
                    + "': use a number with a unit (512MiB, 2GiB, 1.5GB), bytes (4096), or a fraction of free memory (0.5)");
        }
        double value = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "" : m.group(2).toLowerCase(Locale.ROOT);
        if (unit.isEmpty() && m.group(1).contains(".")) { // a plain decimal is a fraction; whole numbers are bytes
            if (value <= 0 || value > 1) {
                throw new IllegalArgumentException("the memory fraction '" + spec + "' must be in (0, 1]: e.g. 0.5 for half of the free memory");
            }
            return (long) (value * available);
        }
        double mult = switch (unit) {
            case "", "b" -> 1;
            case "k", "ki", "kib" -> 1L << 10;
            case "m", "mi", "mib" -> 1L << 20;
            case "g", "gi", "gib" -> 1L << 30;
            case "t", "ti", "tib" -> 1L << 40;
            case "kb" -> 1e3;
            case "mb" -> 1e6;
            case "gb" -> 1e9;
            case "tb" -> 1e12;
            default -> throw new IllegalArgumentException("unknown unit '" + m.group(2) + "' in '" + spec + "': use KiB, MiB, GiB, TiB, kB, MB, GB or TB");
        };
        double bytes = value * mult;
        if (bytes < 1 || bytes > Long.MAX_VALUE / 2) {
            throw new IllegalArgumentException("the memory size '" + spec + "' is out of range: give a positive size such as 2GiB");
        }
        return (long) bytes;
    }

    /** Free physical memory as the operating system reports it (the KV cache lives off the Java heap). */
    public static long freeMemoryBytes() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getFreeMemorySize();
        }
        return Runtime.getRuntime().maxMemory() - Runtime.getRuntime().totalMemory() + Runtime.getRuntime().freeMemory();
    }

    static String formatBytes(long b) {
        if (b >= 1L << 30) return String.format(Locale.ROOT, "%.2f GiB", b / (double) (1L << 30));
        if (b >= 1L << 20) return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
        return b + " bytes";
    }

    public int kvBlocks() {
        return (kvCacheTokens + blockSize - 1) / blockSize;
    }

    /** Tokens the whole KV pool holds. */
    public long kvPoolTokens() {
        return (long) kvBlocks() * blockSize;
    }
}
