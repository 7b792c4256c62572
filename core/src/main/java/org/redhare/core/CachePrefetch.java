package org.redhare.core;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Software prefetch: asks the CPU to bring ranges of memory into its caches without waiting for them.
 *
 * <p>Why: a decode step of several users (a few tokens) multiplies each weight tile by every token from cache, but
 * the first pass over a tile reads it from DRAM, and there the kernel waits: in a 16-token product over weights from
 * DRAM that first pass ran at a third of its in-cache speed, and it was 40% of a 16-user step (docs/PERFORMANCE.md,
 * forty-sixth and forty-seventh sessions). The hardware prefetchers do not run far enough ahead of five short row
 * streams that pause while the tile is reused. Java has no prefetch instruction (the Vector API, {@code
 * MemorySegment} and {@code Unsafe} offer none), and a plain load used as a prefetch must retire: one that misses
 * holds up everything behind it (measured slower). The x86 {@code PREFETCHT0} instruction does not: it starts the
 * fetch and retires at once, and it never faults, whatever the address.
 *
 * <p>So on x86-64 Linux this class has {@link MachineCode} copy a 28-byte function into a page of its own and calls
 * it through the foreign-function linker as a critical function (no thread state change, a few nanoseconds a call). The function takes an address, a number of 64-byte lines, a number of
 * rows and a row stride, and issues one {@code PREFETCHT0} per line. Machine code rather than a compiled library
 * because no library on the JVM offers this, and a shipped {@code .so} would need a C toolchain or a binary per
 * platform; the bytes are below, instruction by instruction.
 *
 * <p>Elsewhere (other CPUs or systems, native access denied, a system that refuses executable pages, or the system
 * property {@code redhare.prefetch=false}) {@link #rows} does nothing, and every kernel gives the same results either
 * way: a prefetch changes when bytes arrive, never which.
 */
public final class CachePrefetch {
    private CachePrefetch() {}

    /**
     * {@code void fetch(long address, long lines, long rows, long stride)}, System V AMD64 calling convention
     * (arguments in rdi, rsi, rdx, rcx); lines and rows at least 1.
     */
    private static final byte[] CODE = {
            0x49, (byte) 0x89, (byte) 0xF8,              // 0:  mov  r8, rdi          row start
            0x49, (byte) 0x89, (byte) 0xF1,              // 3:  mov  r9, rsi          lines left in the row
            0x41, 0x0F, 0x18, 0x08,                      // 6:  prefetcht0 [r8]
            0x49, (byte) 0x83, (byte) 0xC0, 0x40,        // 10: add  r8, 64
            0x49, (byte) 0xFF, (byte) 0xC9,              // 14: dec  r9
            0x75, (byte) 0xF3,                           // 17: jnz  6
            0x48, 0x01, (byte) 0xCF,                     // 19: add  rdi, rcx         next row
            0x48, (byte) 0xFF, (byte) 0xCA,              // 22: dec  rdx
            0x75, (byte) 0xE5,                           // 25: jnz  0
            (byte) 0xC3 };                               // 27: ret

    private static final MethodHandle FETCH;
    private static final String STATUS;

    static {
        MethodHandle fetch = null;
        String status;
        if (!Boolean.parseBoolean(System.getProperty("redhare.prefetch", "true"))) {
            status = "off (redhare.prefetch=false)";
        } else if (MachineCode.unavailable() != null) {
            status = "off (" + MachineCode.unavailable() + ")";
        } else {
            try {
                fetch = MachineCode.load(CODE, FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), Linker.Option.critical(false));
                status = "on (x86-64 PREFETCHT0)";
            } catch (UnsupportedOperationException e) {
                status = "off (" + e.getMessage() + ")";
            }
        }
        FETCH = fetch;
        STATUS = status;
    }

    /** Whether {@link #rows} prefetches here. */
    public static boolean available() {
        return FETCH != null;
    }

    /** One line for logs: whether prefetching is on, and why not. */
    public static String status() {
        return STATUS;
    }

    /**
     * Starts fetching {@code bytes} bytes from each of {@code rows} addresses {@code address + k stride} into the
     * caches, and returns without waiting. Any address is safe (a prefetch never faults); a no-op where unavailable.
     */
    public static void rows(long address, long bytes, int rows, long stride) {
        if (FETCH == null || bytes <= 0 || rows <= 0) {
            return;
        }
        long lines = (bytes + 63) / 64 + 1; // a range not starting on a line touches one more line
        try {
            FETCH.invokeExact(address, lines, (long) rows, stride);
        } catch (Throwable e) {
            throw new AssertionError(e); // the stub cannot throw
        }
    }
}
