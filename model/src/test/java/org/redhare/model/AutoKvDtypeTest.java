package org.redhare.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.DType;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.model.quant.Quantization;
import org.redhare.model.synth.SyntheticModel;

/** {@code --kv-cache-dtype auto}: BF16 for 16-bit and quantized weights, F32 for models whose weights are mostly F32. */
class AutoKvDtypeTest {
    @TempDir
    Path tmp;

    private KvDtype auto(DType dtype, Quantization q) throws IOException {
        Path dir = tmp.resolve(dtype + "-" + q);
        SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), "qwen2"), dtype, dir, 5, (d, t) -> {});
        try (Parallel pool = new Parallel(1);
                CausalLM m = ModelLoader.load(dir, pool, LoadOptions.DEFAULT.withQuantize(q))) {
            return m.autoKvDtype();
        }
    }

    @Test
    void sixteenBitWeightsGetASixteenBitCache() throws IOException {
        assertThat(auto(DType.BF16, Quantization.NONE)).isEqualTo(KvDtype.BF16);
        assertThat(auto(DType.F16, Quantization.NONE)).isEqualTo(KvDtype.BF16);
        assertThat(auto(DType.BF16, Quantization.Q8_0)).isEqualTo(KvDtype.BF16);
        assertThat(auto(DType.BF16, Quantization.FP8)).isEqualTo(KvDtype.BF16);
    }

    @Test
    void f32WeightsKeepAnExactCache() throws IOException {
        assertThat(auto(DType.F32, Quantization.NONE)).isEqualTo(KvDtype.F32);
    }
}
