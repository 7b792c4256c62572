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
