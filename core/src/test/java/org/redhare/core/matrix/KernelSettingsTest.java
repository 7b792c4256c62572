package org.redhare.core.matrix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class KernelSettingsTest {
    @AfterEach
    void defaults() {
        KernelSettings.apply(Map.of());
    }

    @Test
    void settingsReachTheKernelsAndGoBackToTheirDefaults() {
        KernelSettings.apply(Map.of());
        long rows1 = NativeKernels.rowsAhead(1), rows2 = NativeKernels.rowsAhead(2);
        long fp8one = NativeKernels.fp8RowsAhead(1), fp8two = NativeKernels.fp8RowsAhead(2);
        if (System.getProperty("redhare.rowsAhead") == null && System.getProperty("redhare.fp8RowsAhead") == null) {
            assertThat(rows1).isEqualTo(-8192);
            assertThat(rows2).isEqualTo(4096);
            assertThat(fp8one).isEqualTo(-8192);
            assertThat(fp8two).isEqualTo(-16384); // FP8 prefetches into L2 on any pool, the int8 rows into L1 on two threads
        }
        long dots = ScreenedHead.ONE_TOKEN_DOTS.on() ? 1 : 0, batches = ScreenedHead.BATCHES.on() ? 1 : 0;
        assertThat(KernelSettings.effective(2)).containsExactly(Map.entry("rowsAhead", rows2), Map.entry("fp8RowsAhead", fp8two),
                Map.entry("screenOneTokenDots", dots), Map.entry("screenBatches", batches));

        KernelSettings.apply(Map.of("screenOneTokenDots", 1 - dots));
        assertThat(ScreenedHead.ONE_TOKEN_DOTS.on()).isEqualTo(dots == 0);
        assertThat(ScreenedHead.BATCHES.on()).isEqualTo(batches == 1);
        assertThat(NativeKernels.fp8RowsAhead(2)).isEqualTo(fp8two);

        KernelSettings.apply(Map.of("screenBatches", 1 - batches));
        assertThat(ScreenedHead.BATCHES.on()).isEqualTo(batches == 0);
        assertThat(ScreenedHead.ONE_TOKEN_DOTS.on()).as("back to its value at start").isEqualTo(dots == 1);

        KernelSettings.apply(Map.of("fp8RowsAhead", 4096L));
        assertThat(ScreenedHead.ONE_TOKEN_DOTS.on()).as("back to its value at start").isEqualTo(dots == 1);
        assertThat(ScreenedHead.BATCHES.on()).as("back to its value at start").isEqualTo(batches == 1);
        assertThat(NativeKernels.fp8RowsAhead(2)).isEqualTo(4096);
        assertThat(NativeKernels.fp8RowsAhead(1)).isEqualTo(4096);
        assertThat(NativeKernels.rowsAhead(2)).isEqualTo(rows2); // the int8 rows keep theirs

        KernelSettings.apply(Map.of("rowsAhead", -24576L)); // fp8RowsAhead back to its default, which then follows rowsAhead
        assertThat(NativeKernels.rowsAhead(2)).isEqualTo(-24576);
        assertThat(NativeKernels.halvesAhead()).isEqualTo(-24576);
        assertThat(NativeKernels.fp8RowsAhead(2)).isEqualTo(System.getProperty("redhare.fp8RowsAhead") == null ? -24576 : fp8two);

        KernelSettings.apply(Map.of());
        assertThat(KernelSettings.effective(1)).containsExactly(Map.entry("rowsAhead", rows1), Map.entry("fp8RowsAhead", fp8one),
                Map.entry("screenOneTokenDots", dots), Map.entry("screenBatches", batches));
        assertThat(KernelSettings.effective(2)).containsExactly(Map.entry("rowsAhead", rows2), Map.entry("fp8RowsAhead", fp8two),
                Map.entry("screenOneTokenDots", dots), Map.entry("screenBatches", batches));
    }

    @Test
    void anUnknownNameIsRefusedWithTheNamesThereAre() {
        assertThatThrownBy(() -> KernelSettings.apply(Map.of("fp8Ahead", 1L)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fp8Ahead").hasMessageContaining("rowsAhead, fp8RowsAhead, screenOneTokenDots, screenBatches");
    }
}
