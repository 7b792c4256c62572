package org.redhare.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class NativeMemoryTest {

    @Test
    void largeBuffersAreZeroedWritableAndSizedExactly() {
        long bytes = 3 * NativeMemory.HUGE_PAGE + 12_345;
        MemorySegment m = NativeMemory.allocate(bytes);
        assertThat(m.byteSize()).isEqualTo(bytes);
        assertThat(m.address() % 64).isZero();
        for (long off = 0; off < bytes; off += 4093) {
            assertThat(m.get(ValueLayout.JAVA_BYTE, off)).isZero();
        }
        m.set(ValueLayout.JAVA_LONG_UNALIGNED, bytes - 8, 0x0123456789ABCDEFL);
        assertThat(m.get(ValueLayout.JAVA_LONG_UNALIGNED, bytes - 8)).isEqualTo(0x0123456789ABCDEFL);
        assertThatThrownBy(() -> m.get(ValueLayout.JAVA_BYTE, bytes)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void kernelsSeeNativeSegmentsAndHeapOnesAreCopied() {
        MemorySegment small = NativeMemory.allocate(100);
        MemorySegment large = NativeMemory.allocate(NativeMemory.HUGE_PAGE + 1);
        MemorySegment arena = Arena.ofAuto().allocate(64);
        for (MemorySegment m : List.of(small, large, arena)) {
            assertThat(NativeMemory.typed(m)).isSameAs(m);
            assertThat(NativeMemory.nativeOrCopy(m)).isSameAs(m);
        }
        byte[] bytes = {1, 2, 3, -4, 5};
        MemorySegment heap = MemorySegment.ofArray(bytes);
        assertThatThrownBy(() -> NativeMemory.typed(heap)).isInstanceOf(ClassCastException.class);
        MemorySegment copy = NativeMemory.nativeOrCopy(heap);
        assertThat(copy.isNative()).isTrue();
        assertThat(NativeMemory.typed(copy)).isSameAs(copy);
        assertThat(copy.toArray(ValueLayout.JAVA_BYTE)).containsExactly(bytes);
    }

    /**
     * A repacked tensor's pages leave the process: a file view's pages whole inside the released range stop counting in
     * the mapping's resident size (Linux's {@code /proc/self/smaps}), the bytes still read back as the file holds them, and
     * memory that is not a file view (anonymous, where dropping pages would zero it) keeps its contents.
     */
    @Test
    void releasingAFileViewDropsItsPagesButNeverData() throws IOException {
        assumeTrue(NativeMemory.mapped(), "no native calls here: " + NativeMemory.status());
        Path file = Files.createTempFile("redhare-release", ".bin");
        try (Arena arena = Arena.ofShared(); java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            int size = 8 << 20;
            byte[] content = new byte[size];
            new java.util.Random(7).nextBytes(content);
            Files.write(file, content);
            MemorySegment view = NativeMemory.plainView(ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, size, arena), arena);
            long sum = 0;
            for (long o = 0; o < size; o += 4096) {
                sum += view.get(ValueLayout.JAVA_BYTE, o); // every page resident
            }
            long before = residentKb(view.address());
            assertThat(before).as("resident KB of the mapping after reading it").isGreaterThanOrEqualTo(7L << 10);
            MemorySegment tensor = view.asSlice(100, size - 200); // not page-aligned, as tensors are not
            NativeMemory.releaseFileView(tensor);
            long after = residentKb(view.address());
            assertThat(after).as("resident KB after releasing all but the two boundary pages").isLessThanOrEqualTo(8 + before - (7L << 10));
            assertThat(view.toArray(ValueLayout.JAVA_BYTE)).as("bytes read back from the file").isEqualTo(content);

            MemorySegment anonymous = NativeMemory.allocate(size);
            anonymous.copyFrom(MemorySegment.ofArray(content));
            NativeMemory.releaseFileView(anonymous);
            NativeMemory.releaseFileView(anonymous.asSlice(4096, size - 8192));
            assertThat(anonymous.toArray(ValueLayout.JAVA_BYTE)).as("anonymous memory after a release").isEqualTo(content);
            assertThat(sum).isNotEqualTo(Long.MIN_VALUE);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The {@code Rss} of the mapping holding {@code address}, from {@code /proc/self/smaps}. */
    private static long residentKb(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            int dash = l.indexOf('-');
            int space = l.indexOf(' ');
            if (dash > 0 && space > dash && l.substring(0, dash).matches("[0-9a-f]+")) {
                long lo = Long.parseUnsignedLong(l.substring(0, dash), 16), hi = Long.parseUnsignedLong(l.substring(dash + 1, space), 16);
                if (address >= lo && address < hi) {
                    for (int j = i + 1; j < lines.size(); j++) {
                        if (lines.get(j).startsWith("Rss:")) {
                            return Long.parseLong(lines.get(j).replaceAll("[^0-9]", ""));
                        }
                    }
                }
            }
        }
        throw new AssertionError("no mapping holds address " + Long.toHexString(address));
    }

    /**
     * Buffers from 64 KiB up (a mixture's expert matrices are 1-2 MB each, thousands of them) are mapped outside the JVM's
     * direct-memory limit, which a model's weights outgrew: in a JVM limited to 64 MB of direct memory, 256 buffers of 1.5 MB
     * (384 MB) freed with the garbage collector come from {@link NativeMemory#allocate} while an automatic arena (the JDK's
     * way to the same, which counts against that limit) refuses them.
     */
    @Test
    void mediumBuffersAreNotCountedAgainstTheDirectMemoryLimit() throws Exception {
        assumeTrue(NativeMemory.mapped(), "buffers are not mapped here: " + NativeMemory.status());
        assertThat(runWithDirectLimit("native")).as("NativeMemory.allocate under a 64 MB direct-memory limit").isEqualTo("ok 256");
        assertThat(runWithDirectLimit("arena")).as("Arena.ofAuto().allocate under the same limit").startsWith("refused");
    }

    private static String runWithDirectLimit(String mode) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(java, "-XX:MaxDirectMemorySize=64m", "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), ManyBuffers.class.getName(), mode).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        assertThat(p.waitFor()).as(out).isZero();
        return out.lines().reduce((a, b) -> b).orElse("");
    }

    /** Allocates 256 buffers of 1.5 MB and prints how far it got. */
    public static final class ManyBuffers {
        public static void main(String[] args) {
            List<MemorySegment> kept = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 256; i++) {
                    MemorySegment m = args[0].equals("arena") ? Arena.ofAuto().allocate(1_572_912, 64) : NativeMemory.allocate(1_572_912);
                    m.set(ValueLayout.JAVA_BYTE, 1_572_911, (byte) 1);
                    kept.add(m);
                }
                System.out.println("ok " + kept.size());
            } catch (OutOfMemoryError e) {
                System.out.println("refused after " + kept.size() + ": " + e.getMessage());
            }
        }
    }

    @Test
    void smallBuffersComeFromTheArena() {
        MemorySegment m = NativeMemory.allocate(100);
        assertThat(m.byteSize()).isEqualTo(100);
        assertThat(m.address() % 64).isZero();
        assertThat(m.get(ValueLayout.JAVA_BYTE, 99)).isZero();
    }

    @Test
    void memoryLivesExactlyAsLongAsItsArena() {
        Arena arena = Arena.ofConfined();
        MemorySegment m = NativeMemory.allocate(2 * NativeMemory.HUGE_PAGE, arena);
        m.set(ValueLayout.JAVA_INT, 0, 7);
        assertThat(m.get(ValueLayout.JAVA_INT, 0)).isEqualTo(7);
        arena.close();
        assertThatThrownBy(() -> m.get(ValueLayout.JAVA_INT, 0)).isInstanceOf(IllegalStateException.class);
    }

    /** Where the kernel offers transparent huge pages, the mapping starts on a huge page and the kernel marks it eligible. */
    @Test
    void largeBuffersAreHugePageAlignedAndAdvisedWhereTheKernelOffersThem() throws IOException {
        assumeTrue(NativeMemory.hugePages(), "transparent huge pages not used here: " + NativeMemory.status());
        MemorySegment m = NativeMemory.allocate(4 * NativeMemory.HUGE_PAGE);
        assertThat(m.address() % NativeMemory.HUGE_PAGE).isZero();
        m.fill((byte) 1); // fault the pages in
        String eligible = smapsField(m.address(), "THPeligible:");
        assumeTrue(eligible != null, "this kernel's /proc/self/smaps has no THPeligible field");
        assertThat(eligible).as("THPeligible of the mapping holding the buffer").isEqualTo("1");
    }

    /** The value of {@code field} in the /proc/self/smaps entry of the mapping containing {@code address}. */
    private static String smapsField(long address, String field) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        boolean inside = false;
        for (String line : lines) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && isHex(line.substring(0, dash))) {
                long lo = HexFormat.fromHexDigitsToLong(line.substring(0, dash));
                long hi = HexFormat.fromHexDigitsToLong(line.substring(dash + 1, space));
                inside = Long.compareUnsigned(address, lo) >= 0 && Long.compareUnsigned(address, hi) < 0;
            } else if (inside && line.startsWith(field)) {
                return line.substring(field.length()).trim();
            }
        }
        return null;
    }

    private static boolean isHex(String s) {
        return !s.isEmpty() && s.length() <= 16 && s.chars().allMatch(c -> Character.digit(c, 16) >= 0);
    }
}
