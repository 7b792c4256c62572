package org.redhare.core.matrix;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernel settings that may change while models run, so that a benchmark can measure one against another in
 * alternated rounds of one process (`redhare bench --paired-setting NAME=VALUE`): on hosts whose memory bandwidth moves
 * from minute to minute, two separate runs compare a fast minute with a slow one, and the difference a prefetch distance
 * makes (5-15%) drowns in it. Each name is also a system property read at start ({@code -Dredhare.NAME=VALUE}), whose
 * value {@link #apply} goes back to where a setting is not given. The prefetch distances in bytes: positive prefetches
 * into L1, negative into L2, 0 takes the kernel's default ({@link NativeKernels#rowsAhead}, {@link
 * NativeKernels#fp8RowsAhead} say which and why); {@code screenOneTokenDots} and {@code screenBatches} 1 (on) or 0 (off).
 */
public final class KernelSettings {
    private KernelSettings() {}

    /**
     * The settings' names: {@code rowsAhead} (the one-token kernels of int8 rows, the several-token ones of 16-bit rows,
     * and FP8's where fp8RowsAhead is 0), {@code fp8RowsAhead} (FP8's kernels), {@code screenOneTokenDots} (whether one
     * token's LM head screen multiplies integers where it can, {@link ScreenedHead}) and {@code screenBatches} (whether
     * several tokens at once are screened, in integers, where they can; otherwise they take the exact head).
     */
    public static final List<String> NAMES = List.of("rowsAhead", "fp8RowsAhead", "screenOneTokenDots", "screenBatches");

    /**
     * Sets every setting: those {@code settings} names to their values, the others back to their values at start.
     *
     * @throws IllegalArgumentException for a name not in {@link #NAMES}, with the names there are
     */
    public static synchronized void apply(Map<String, Long> settings) {
        settings.keySet().forEach(KernelSettings::requireKnown);
        NativeKernels.rowsAhead(settings.getOrDefault(NAMES.get(0), NativeKernels.ROWS_AHEAD_AT_START));
        NativeKernels.fp8RowsAhead(settings.getOrDefault(NAMES.get(1), NativeKernels.FP8_ROWS_AHEAD_AT_START));
        ScreenedHead.ONE_TOKEN_DOTS.set(settings.containsKey(NAMES.get(2)) ? settings.get(NAMES.get(2)) != 0 : ScreenedHead.ONE_TOKEN_DOTS.atStart);
        ScreenedHead.BATCHES.set(settings.containsKey(NAMES.get(3)) ? settings.get(NAMES.get(3)) != 0 : ScreenedHead.BATCHES.atStart);
    }

    /**
     * Checks a setting's name.
     *
     * @throws IllegalArgumentException for a name not in {@link #NAMES}, with the names there are
     */
    public static String requireKnown(String name) {
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("unknown kernel setting '" + name + "'; the settings are " + String.join(", ", NAMES));
        }
        return name;
    }

    /** Each setting as the kernels take it now on a pool of {@code threads} threads (defaults resolved), by name. */
    public static Map<String, Long> effective(int threads) {
        Map<String, Long> out = new LinkedHashMap<>();
        out.put(NAMES.get(0), NativeKernels.rowsAhead(threads));
        out.put(NAMES.get(1), NativeKernels.fp8RowsAhead(threads));
        out.put(NAMES.get(2), ScreenedHead.ONE_TOKEN_DOTS.on() ? 1L : 0L);
        out.put(NAMES.get(3), ScreenedHead.BATCHES.on() ? 1L : 0L);
        return out;
    }
}
