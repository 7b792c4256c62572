package org.redhare.core;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Native memory for large, long-lived buffers (the repacked quantized weights), backed by 2 MiB transparent huge
 * pages where Linux offers them.
 *
 * <p>Why: decode streams every weight from DRAM once per token, and with 4 KiB pages every 4 KiB costs a TLB
 * miss, whose page walk is expensive on a virtual machine (two-level translation). The quantized kernels do much
 * integer work per byte, so they keep fewer loads in flight and feel those walks most: on the 2-vCPU Intel host,
 * FP8 one-token products over 80 distinct [4864 x 896] matrices ran at 5.8-6.0 G weights/s from 4 KiB pages and
 * 7.1 from huge pages ({@code ManyMatrixRates}), and FP8 decode of the Qwen2.5-0.5B shape went from 11.2-11.3 to
 * 12.3-12.7 tok/s on one thread and from 20.7-20.8 to 22.8-23.3 on two (alternating runs, docs/PERFORMANCE.md).
 * The JDK's {@code Arena.allocate} takes memory from {@code malloc}, which never asks for huge pages, and the
 * JVM's own huge-page options cover only its heap, so this class maps anonymous memory itself ({@code mmap}),
 * aligned to 2 MiB, and marks it with {@code madvise(MADV_HUGEPAGE)} before anything touches it. (BF16 weights
 * are used in place from the memory-mapped checkpoint, which cannot get huge pages: a copy would cost the
 * memory the mapping saves, for the few percent BF16 gained when measured.)
 *
 * <p>Huge pages are used when the OS is Linux, {@code /sys/kernel/mm/transparent_hugepage/enabled} is
 * {@code always} or {@code madvise}, the buffer is at least 2 MiB, native access is allowed, and the system
 * property {@code redhare.hugePages} is not {@code false}.
 *
 * <p><b>Mapped, not from the arena, from 64 KiB up.</b> Memory from an automatic arena ({@code Arena.ofAuto()}, freed
 * by the garbage collector, which is how {@link #allocate(long)} frees) counts against the JVM's direct-memory limit
 * ({@code -XX:MaxDirectMemorySize}, by default the heap's maximum: a quarter of the RAM), meant for I/O buffers, not
 * for a model's weights. A mixture of experts repacks thousands of matrices under 2 MiB (an FP8
 * expert of Qwen3-30B-A3B is 1.5 MB), and those added up past the limit: a 4.2-billion-weight Qwen3-MoE shape failed to
 * load with {@code --quantize fp8} on a 23 GiB machine ("Cannot reserve 1572912 bytes of direct buffer memory")
 * with most of the RAM free. So every buffer from {@link #MAP_MIN} up is mapped here ({@code mmap}, page-aligned, huge
 * pages as above where they apply), which only the RAM limits. Otherwise (not Linux, no native access, a failed call)
 * the memory comes from the arena as usual. Either way it is zero-filled, at least 64-byte aligned and freed with its
 * arena.
 */
public final class NativeMemory {
    private NativeMemory() {}

    /** Size of a transparent huge page on x86-64 and most aarch64 kernels. */
    public static final long HUGE_PAGE = 2L << 20;

    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20; // Linux values on x86-64 and aarch64
    private static final int MADV_HUGEPAGE = 14;

    /** Buffers from this size up are mapped ({@code mmap}) rather than taken from the arena: see the class comment. */
    static final long MAP_MIN = 64L << 10;

    private static final MethodHandle MMAP;
    private static final MethodHandle MADVISE;
    private static final MethodHandle MUNMAP;
    private static final boolean MAPPED;
    private static final boolean HUGE;
    private static final String STATUS;

    /** {@code void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)}, addresses as longs. */
    static final FunctionDescriptor MMAP_FUNCTION = FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG);

    /** A downcall handle to the C library's {@code name}; throws where there is none or native access is denied. */
    static MethodHandle libc(String name, FunctionDescriptor function) {
        Linker linker = Linker.nativeLinker();
        return linker.downcallHandle(linker.defaultLookup().find(name).orElseThrow(), function);
    }

    static {
        MethodHandle mmap = null, madvise = null, munmap = null;
        String status;
        boolean huge = false;
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            status = "arena memory (not Linux: " + System.getProperty("os.name") + ")";
        } else {
            try {
                mmap = libc("mmap", MMAP_FUNCTION);
                madvise = libc("madvise", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                munmap = libc("munmap", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
                String mode = transparentHugePageMode();
                if (!Boolean.parseBoolean(System.getProperty("redhare.hugePages", "true"))) {
                    status = "mapped, 4 KiB pages (redhare.hugePages=false)";
                } else if (!mode.equals("always") && !mode.equals("madvise")) {
                    status = "mapped, 4 KiB pages (transparent huge pages not offered by the kernel: " + mode + ")";
                } else {
                    huge = true;
                    status = "mapped, 2 MiB transparent huge pages (" + mode + ")";
                }
            } catch (RuntimeException | LinkageError e) { // no native access, or no such symbols
                mmap = madvise = munmap = null;
                status = "arena memory (mmap unavailable: " + e.getMessage() + ")";
            }
        }
        MMAP = mmap;
        MADVISE = madvise;
        MUNMAP = munmap;
        MAPPED = mmap != null;
        HUGE = huge;
        STATUS = status;
    }

    /** Whether large buffers get transparent huge pages. */
    public static boolean hugePages() {
        return HUGE;
    }

    /** Whether buffers from {@link #MAP_MIN} up are mapped outside the JVM's direct-memory limit. */
    public static boolean mapped() {
        return MAPPED;
    }

    /** One line for logs: what backs large buffers and why. */
    public static String status() {
        return STATUS;
    }

    /**
     * The same memory as {@code mapped} (a file mapping from {@code FileChannel.map}) as a plain native segment of the
     * same size, valid while {@code arena} is open (the arena the mapping belongs to; closing it still unmaps).
     *
     * <p>Why: the Vector API's segment loads ({@code IntVector.fromMemorySegment} and the like) are shared methods, and
     * C2 compiles each kernel's inlined copy of them from one type profile of the segment class they were given,
     * gathered over the whole process. Weights used in place from a mapped checkpoint are one class
     * ({@code MappedMemorySegmentImpl}), repacked weights and the KV cache another ({@code NativeMemorySegmentImpl}).
     * Once both had passed through the same load (any FP8 model: BF16 LM head mapped, FP8 layers repacked; any prompt
     * before decode), C2 compiled the FP8 one-token kernel's loads as calls instead of vector loads: FP8 decode of the
     * Qwen2.5-0.5B shape ran at 14.7-14.9 tok/s after a prompt against 19.4 without one (one thread, AMD EPYC host).
     * With every weight segment of one class the profile stays monomorphic.
     *
     * <p>{@code reinterpret} is a restricted method: without native access ({@code --enable-native-access}, which the
     * launcher and the build pass) the mapping is returned as it is, correct but open to the slowdown above.
     */
    public static MemorySegment plainView(MemorySegment mapped, Arena arena) {
        if (mapped.byteSize() == 0 || !NativeMemory.class.getModule().isNativeAccessEnabled()) {
            return mapped;
        }
        long start = mapped.address();
        FILE_VIEWS.put(start, start + mapped.byteSize());
        return MemorySegment.ofAddress(start).reinterpret(mapped.byteSize(), arena, s -> FILE_VIEWS.remove(start));
    }

    /** Address ranges ({@code start -> end}) of the file mappings {@link #plainView} has handed out and not yet closed. */
    private static final java.util.concurrent.ConcurrentSkipListMap<Long, Long> FILE_VIEWS = new java.util.concurrent.ConcurrentSkipListMap<>();

    private static final int MADV_DONTNEED = 4;
    private static final long PAGE = 4096;

    /**
     * Lets go of the resident pages of {@code s} when it lies inside a file mapping from {@link #plainView} (a checkpoint's
     * tensor whose bytes were copied or repacked into memory of their own); does nothing for any other memory. The pages
     * whole inside {@code s} leave this process ({@code madvise(MADV_DONTNEED)}): the mapping stays valid, and a later read
     * (an embedding lookup of a repacked tied head, say) faults them back in from the file.
     *
     * <p>Why: every weight repacked at load (FP8, the GGUF types, BF16 in column panels or stacked) was read once from the
     * mapping, and those pages stayed mapped into the process beside the copy: the resident size counted the weights twice
     * (a Qwen2.5-0.5B BF16 model with its projections stacked: about half a gigabyte more), which container memory limits
     * and operators' dashboards see, until the kernel reclaimed them under pressure. Anonymous memory is never touched here:
     * there, dropping pages would zero the data.
     */
    public static void releaseFileView(MemorySegment s) {
        if (MADVISE == null || s.byteSize() == 0 || !s.isNative()) {
            return;
        }
        long start = s.address(), end = start + s.byteSize();
        java.util.Map.Entry<Long, Long> mapping = FILE_VIEWS.floorEntry(start);
        if (mapping == null || mapping.getValue() < end) {
            return;
        }
        long from = (start + PAGE - 1) & -PAGE, to = end & -PAGE; // only pages no other tensor shares
        if (to <= from) {
            return;
        }
        try {
            int ignored = (int) MADVISE.invokeExact(from, to - from, MADV_DONTNEED); // refused (other page sizes): pages stay
        } catch (Throwable ignored) {
            // the pages stay resident, as before
        }
    }

    /** The JDK's class of native segments ({@code NativeMemorySegmentImpl}; mapped segments are a subclass). */
    private static final Class<? extends MemorySegment> NATIVE = MemorySegment.ofAddress(0).getClass();

    /**
     * {@code m}, with its class checked once so that C2 knows it inside the caller's loops; every kernel that reads
     * weights or the KV cache from a segment calls this first, on a segment that {@link #nativeOrCopy} or this class
     * made.
     *
     * <p>Why: a segment field's class is only known to C2 through the type profile of the Vector API's shared load
     * methods, and whether that profile is ready when a kernel is compiled depends on timing. When it was not, C2 kept
     * the segment's class and session checks inside the loop, for every vector load: the FP8 one-token kernel ran
     * 20.3-21.1 tok/s (qwen2.5-0.5b, one thread) instead of 23.3-24.0 in about one process of three, and with type
     * profiling off ({@code -XX:-UseTypeProfile}) at 4.0 G weights/s instead of 14.2-14.9 in every one. With the
     * class checked here (the {@code Class.cast} intrinsic, the class a constant), every process compiles the fast
     * loop, profile or not (docs/PERFORMANCE.md, nineteenth session).
     *
     * @throws ClassCastException if {@code m} is not native (a heap segment)
     */
    public static MemorySegment typed(MemorySegment m) {
        return NATIVE.cast(m);
    }

    /** {@code m} if it is native, else a native copy of it (heap segments, as tests make), for {@link #typed}. */
    public static MemorySegment nativeOrCopy(MemorySegment m) {
        if (m.isNative()) {
            return m;
        }
        MemorySegment copy = allocate(m.byteSize());
        copy.copyFrom(m);
        return copy;
    }

    /** {@code bytes} of zeroed memory freed when the segment becomes unreachable. */
    public static MemorySegment allocate(long bytes) {
        return allocate(bytes, Arena.ofAuto());
    }

    /** {@code bytes} of zeroed memory that lives as long as {@code arena}. */
    public static MemorySegment allocate(long bytes, Arena arena) {
        long size = Math.max(bytes, 1);
        if (MAPPED && size >= MAP_MIN) {
            MemorySegment m = HUGE && size >= HUGE_PAGE ? mapHuge(size, arena) : mapPlain(size, arena);
            if (m != null) {
                return m;
            }
        }
        return arena.allocate(size, 64);
    }

    /** Page-aligned anonymous memory, no advice. */
    private static MemorySegment mapPlain(long size, Arena arena) {
        long total = (size + 4095) & -4096L;
        try {
            long base = (long) MMAP.invokeExact(0L, total, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
            if (base == -1L) {
                return null;
            }
            return MemorySegment.ofAddress(base).reinterpret(size, arena, s -> unmap(base, total));
        } catch (Throwable t) {
            return null;
        }
    }

    private static MemorySegment mapHuge(long size, Arena arena) {
        long total = size + HUGE_PAGE; // room to align the start to a huge page (untouched, so never backed)
        try {
            long base = (long) MMAP.invokeExact(0L, total, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
            if (base == -1L) {
                return null; // out of address space or memory: the arena's allocator reports it properly
            }
            long start = (base + HUGE_PAGE - 1) & -HUGE_PAGE;
            // Only the whole huge pages: a partly used last one would hold up to 2 MiB of memory for nothing
            // (a 4.4 MB matrix would take 6 MB). The tail keeps 4 KiB pages.
            long whole = size & -HUGE_PAGE;
            int advised = (int) MADVISE.invokeExact(start, whole, MADV_HUGEPAGE);
            // A refused hint (advised != 0) still leaves valid, zeroed memory with ordinary pages.
            return MemorySegment.ofAddress(start).reinterpret(size, arena, s -> unmap(base, total));
        } catch (Throwable t) {
            return null;
        }
    }

    private static void unmap(long base, long total) {
        try {
            int ignored = (int) MUNMAP.invokeExact(base, total);
        } catch (Throwable ignored) {
            // Freeing at arena close or collection: nothing useful to do with a failure here.
        }
    }

    private static String transparentHugePageMode() {
        try {
            String s = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
            int a = s.indexOf('['), b = s.indexOf(']');
            return a >= 0 && b > a ? s.substring(a + 1, b) : s.trim();
        } catch (IOException | RuntimeException e) {
            return "unreadable";
        }
    }
}
