package org.redhare.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.Test;

class MachineCodeTest {

    /** On x86-64 Linux with native access (as the build runs tests) code can be loaded, and the CPU's flags are read. */
    @Test
    void loadsOnX86LinuxAndReadsTheCpuFlags() {
        assumeTrue(CachePrefetchTest.x86Linux(), "machine code runs on x86-64 Linux only: " + MachineCode.unavailable());
        assumeTrue(NativeMemory.mapped(), "no native calls here: " + NativeMemory.status());
        assertThat(MachineCode.unavailable()).isNull();
        assertThat(MachineCode.cpuHas("sse2")).as("every x86-64 CPU has SSE2").isTrue();
        assertThat(MachineCode.cpuHas("no-such-flag")).isFalse();
    }

    /** Loaded bytes run as the function they encode: here {@code long f(long a, long b) { return a - b; }}. */
    @Test
    void loadedCodeRuns() throws Throwable {
        assumeTrue(MachineCode.unavailable() == null, "no machine code here: " + MachineCode.unavailable());
        byte[] subtract = {
                0x48, (byte) 0x89, (byte) 0xF8, // mov rax, rdi
                0x48, 0x29, (byte) 0xF0,        // sub rax, rsi
                (byte) 0xC3 };                  // ret
        MethodHandle f = MachineCode.load(subtract, FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                Linker.Option.critical(false));
        assertThat((long) f.invokeExact(100L, 58L)).isEqualTo(42L);
        assertThat((long) f.invokeExact(Long.MIN_VALUE, 1L)).isEqualTo(Long.MAX_VALUE);
        byte[] big = new byte[5000]; // more than a page: nops, then the same subtraction
        java.util.Arrays.fill(big, (byte) 0x90);
        System.arraycopy(subtract, 0, big, big.length - subtract.length, subtract.length);
        MethodHandle g = MachineCode.load(big, FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        assertThat((long) g.invokeExact(7L, 9L)).isEqualTo(-2L);
    }

    @Test
    void saysWhyNotWhereItCannot() {
        assumeTrue(MachineCode.unavailable() != null, "machine code runs here");
        assertThatThrownBy(() -> MachineCode.load(new byte[] {(byte) 0xC3}, FunctionDescriptor.ofVoid()))
                .isInstanceOf(UnsupportedOperationException.class).hasMessage(MachineCode.unavailable());
    }
}
