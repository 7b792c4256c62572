package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.redhare.core.attention.KvDtype;

class EngineConfigTest {
    @Test
    void parsesSizesWithBinaryAndDecimalUnitsAndFractions() {
        assertThat(EngineConfig.parseSize("512MiB", 0)).isEqualTo(512L << 20);
        assertThat(EngineConfig.parseSize("2GiB", 0)).isEqualTo(2L << 30);
        assertThat(EngineConfig.parseSize("2g", 0)).isEqualTo(2L << 30);
        assertThat(EngineConfig.parseSize("1.5GB", 0)).isEqualTo(1_500_000_000L);
        assertThat(EngineConfig.parseSize(" 64 kb ", 0)).isEqualTo(64_000L);
        assertThat(EngineConfig.parseSize("4096", 0)).isEqualTo(4096L);
        assertThat(EngineConfig.parseSize("0.5", 1000)).isEqualTo(500L);
        assertThat(EngineConfig.parseSize("1.0", 1000)).isEqualTo(1000L);
        assertThatThrownBy(() -> EngineConfig.parseSize("1.5", 1000)).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> EngineConfig.parseSize("lots", 1000)).hasMessageContaining("512MiB");
        assertThatThrownBy(() -> EngineConfig.parseSize("3 parsecs", 1000)).hasMessageContaining("cannot read");
        assertThatThrownBy(() -> EngineConfig.parseSize("0", 1000)).hasMessageContaining("out of range");
    }

    @Test
    void sizesThePoolFromMemory() {
        // 1 MiB at 1000 bytes per token: 1048 tokens, rounded down to whole blocks of 16.
        EngineConfig c = EngineConfig.forKvMemory(1 << 20, 1000, 512, KvDtype.F32, 256, 8, 10, true);
        assertThat(c.kvCacheTokens()).isEqualTo(1040);
        assertThat(c.kvBlocks()).isEqualTo(65);
        assertThat(c.maxWaiting()).isEqualTo(10);
        assertThat(c.prefixCaching()).isTrue();
        assertThatThrownBy(() -> EngineConfig.forKvMemory(1000, 1000, 512, KvDtype.F32, 256, 8, 10, true))
                .hasMessageContaining("less than one block").hasMessageContaining("--kv-cache-memory");
        // The short constructor keeps a bounded queue and prefix caching.
        EngineConfig old = new EngineConfig(64, 80, KvDtype.F32, 8, 48, 8, false);
        assertThat(old.maxWaiting()).isEqualTo(EngineConfig.DEFAULT_MAX_WAITING);
        assertThat(old.prefixCaching()).isTrue();
        assertThatThrownBy(() -> new EngineConfig(64, 80, KvDtype.F32, 8, 48, 8, false, 0, true)).hasMessageContaining("--max-waiting");
    }
}
