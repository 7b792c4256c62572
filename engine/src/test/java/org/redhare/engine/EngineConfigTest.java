package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.redhare.core.attention.KvDtype;
import org.redhare.model.CausalLM;

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

    @Test
    void givesSlidingWindowLayersAPoolOfTheirOwnWhereItSavesMemory() {
        // Gemma 3 1B's cache: 26 layers of one 256-wide KV head, every sixth global, the others a 512-key window; BF16.
        boolean[] windowed = new boolean[26];
        for (int l = 0; l < 26; l++) windowed[l] = l % 6 != 5;
        CausalLM.KvLayout kv = new CausalLM.KvLayout(26, 256, 256, 1).withWindows(windowed, 512);
        assertThat(kv.windowLayers()).isEqualTo(22);
        assertThat(kv.bytesPerToken(KvDtype.BF16)).isEqualTo(26 * 1024);
        assertThat(kv.windowBytesPerToken(KvDtype.BF16)).isEqualTo(22 * 1024);
        long twoGiB = 2L << 30;
        EngineConfig one = EngineConfig.forKvMemory(twoGiB, kv, 32768, KvDtype.BF16, 512, 32, 64, true, false);
        assertThat(one.kvCacheTokens()).isEqualTo(80656); // 2 GiB / 26 KiB, whole blocks
        assertThat(one.windowKvTokens()).isZero();
        EngineConfig apart = EngineConfig.forKvMemory(twoGiB, kv, 32768, KvDtype.BF16, 512, 32, 64, true, true);
        // 32 sequences x (511 keys behind + 16 draft tokens in blocks of 16, + 3 blocks) + a 512-token step
        assertThat(apart.windowKvTokens()).isEqualTo((32 * (33 + 3) + 32) * 16).isEqualTo(18944);
        assertThat(apart.kvCacheTokens()).isEqualTo(420096); // the rest of the 2 GiB at the 4 global layers' 4 KiB a token
        assertThat((long) apart.kvCacheTokens() * 4 * 1024 + (long) apart.windowKvTokens() * 22 * 1024).isLessThanOrEqualTo(twoGiB);
        // Too little memory for 32 windows: the window layers keep the one pool (it holds fewer tokens than they would need).
        EngineConfig small = EngineConfig.forKvMemory(256L << 20, kv, 32768, KvDtype.BF16, 512, 32, 64, true, true);
        assertThat(small.windowKvTokens()).isZero();
        assertThat(small.kvCacheTokens()).isEqualTo(10080);
        // Every layer windowed (Mistral 7B v0.1's 4096 keys): the window pool is all the memory; the other pool only counts.
        boolean[] all = new boolean[32];
        java.util.Arrays.fill(all, true);
        CausalLM.KvLayout mistral = new CausalLM.KvLayout(32, 1024, 1024, 8).withWindows(all, 4096);
        EngineConfig m = EngineConfig.forKvMemory(twoGiB * 4, mistral, 32768, KvDtype.BF16, 512, 4, 64, true, true);
        assertThat(m.windowKvTokens()).isEqualTo((4 * (256 + 1 + 3) + 32) * 16);
        assertThat(m.kvCacheTokens()).isEqualTo(32768 * 4);
        // No window layers: nothing apart.
        assertThat(EngineConfig.forKvMemory(twoGiB, new CausalLM.KvLayout(26, 256, 256, 1), 32768, KvDtype.BF16, 512, 32, 64, true, true)
                .windowKvTokens()).isZero();
        // The tokens form: the window pool apart, the rest unchanged.
        EngineConfig chat = EngineConfig.single(8192, KvDtype.BF16).withWindowPool(kv);
        assertThat(chat.kvCacheTokens()).isEqualTo(8192 + 16);
        assertThat(chat.windowKvTokens()).isEqualTo((33 + 3 + 32) * 16);
        assertThat(chat.withDraftTokens(4).windowKvTokens()).isEqualTo(chat.windowKvTokens());
        assertThat(EngineConfig.single(600, KvDtype.BF16).withWindowPool(kv).windowKvTokens()).isZero(); // no smaller than the pool
    }
}
