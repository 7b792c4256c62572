package org.redhare.core;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Runs x86-64 machine code that RedHare carries as bytes: copies it into an executable page of its own and returns a
 * foreign-function handle to it.
 *
 * <p>Why: the JDK offers no prefetch instruction and C2 compiles some hot loops with set-up the hardware does not need
 * (docs/PERFORMANCE.md, forty-seventh and forty-eighth sessions), and a shipped shared library would need a C toolchain
 * on every user's machine or a binary per platform. The bytes come from our own sources ({@link CachePrefetch} lists its
 * instructions; the kernels' C files are in core/src/main/c, compiled by scripts/native/build-kernels.sh). Each piece of
 * code is position independent, reads no data of its own and calls nothing, so it runs wherever it is copied.
 *
 * <p>Only on x86-64 Linux; {@link #unavailable()} says why not elsewhere. Everything that uses this has a Java path
 * with the same results.
 */
public final class MachineCode {
    private MachineCode() {}

    private static final String UNAVAILABLE;
    private static final MethodHandle MMAP;
    private static final MethodHandle MPROTECT;
    private static final Set<String> CPU_FLAGS;

    static {
        String reason = null;
        MethodHandle mmap = null, mprotect = null;
        String arch = System.getProperty("os.arch", "");
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            reason = "not Linux";
        } else if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            reason = "not x86-64: " + arch;
        } else {
            try {
                mmap = NativeMemory.libc("mmap", NativeMemory.MMAP_FUNCTION);
                mprotect = NativeMemory.libc("mprotect", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT));
            } catch (Throwable e) { // no native access, no such symbols
                reason = e.toString(); // the exception's class too: some carry no message
                mmap = mprotect = null;
            }
        }
        UNAVAILABLE = reason;
        MMAP = mmap;
        MPROTECT = mprotect;
        Set<String> flags = Set.of();
        if (reason == null) {
            try {
                flags = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("flags"))
                        .findFirst().map(l -> Arrays.stream(l.substring(l.indexOf(':') + 1).trim().split("\\s+")).collect(Collectors.toSet()))
                        .orElse(Set.of());
            } catch (IOException | RuntimeException e) {
                flags = Set.of();
            }
        }
        CPU_FLAGS = flags;
    }

    /**
     * The bytes of a piece of machine code written as Base64 in a generated class (scripts/native/build-kernels.sh: string
     * constants, because byte-array literals compile to a static initializer of several bytecodes per byte, and a class's
     * initializer may not pass 64 KiB).
     */
    public static byte[] fromBase64(String base64) {
        return java.util.Base64.getDecoder().decode(base64);
    }

    /** Null where machine code can be loaded here, else why not (one line, for logs). */
    public static String unavailable() {
        return UNAVAILABLE;
    }

    /** Whether the CPU reports {@code flag} (a name from /proc/cpuinfo's flags, such as {@code avx512f}). */
    public static boolean cpuHas(String flag) {
        return CPU_FLAGS.contains(flag);
    }

    /**
     * Copies {@code code} into fresh pages ({@code mmap} read-write, then {@code mprotect} to read-execute, never
     * writable again) and returns a downcall handle to its first byte. The pages are never unmapped: each piece of code
     * is loaded once, into a static field.
     *
     * @throws UnsupportedOperationException where this is not possible, with the reason
     */
    public static MethodHandle load(byte[] code, FunctionDescriptor function, Linker.Option... options) {
        if (UNAVAILABLE != null) {
            throw new UnsupportedOperationException(UNAVAILABLE);
        }
        long size = (code.length + 4095) / 4096 * 4096;
        try {
            long address = (long) MMAP.invokeExact(0L, size, 0x1 | 0x2, 0x02 | 0x20, -1, 0L); // read-write, private anonymous
            if (address == -1L) {
                throw new UnsupportedOperationException("mmap failed");
            }
            MemorySegment pages = MemorySegment.ofAddress(address).reinterpret(size);
            MemorySegment.copy(MemorySegment.ofArray(code), 0, pages, 0, code.length);
            int rc = (int) MPROTECT.invokeExact(address, size, 0x1 | 0x4); // read-execute
            if (rc != 0) {
                throw new UnsupportedOperationException("the system refused an executable page");
            }
            return Linker.nativeLinker().downcallHandle(pages, function, options);
        } catch (UnsupportedOperationException e) {
            throw e;
        } catch (Throwable e) {
            throw new UnsupportedOperationException(e.toString(), e);
        }
    }
}
