package org.redhare.model.quant;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.DType;
import org.redhare.core.testing.SharedFiles;
import org.redhare.model.TensorRef;
import org.redhare.model.safetensors.SafetensorsCheckpoint;

class Fp8CheckpointWriterTest {
    /** qwen3-tiny-fp8 was made from qwen3-tiny's BF16 weights by the same rule: our output must be bit-identical. */
    @Test
    void reproducesTheReferenceFp8FixtureBitForBit(@TempDir Path tmp) throws Exception {
        Path bf16 = SharedFiles.require("fixtures/qwen3-tiny");
        Path ref = SharedFiles.require("fixtures/qwen3-tiny-fp8");
        Path out = tmp.resolve("fp8");
        Fp8CheckpointWriter.write(bf16, out, null);
        try (SafetensorsCheckpoint mine = SafetensorsCheckpoint.open(out); SafetensorsCheckpoint theirs = SafetensorsCheckpoint.open(ref)) {
            assertThat(mine.names()).containsExactlyInAnyOrderElementsOf(theirs.names());
            int fp8 = 0;
            for (String name : theirs.names()) {
                TensorRef a = mine.tensor(name);
                TensorRef b = theirs.tensor(name);
                assertThat(a.dtype()).as(name).isEqualTo(b.dtype());
                assertThat(a.shape()).as(name).isEqualTo(b.shape());
                byte[] x = a.data().toArray(ValueLayout.JAVA_BYTE);
                byte[] y = b.data().toArray(ValueLayout.JAVA_BYTE);
                int diff = 0;
                for (int i = 0; i < x.length; i++) {
                    if (x[i] != y[i]) diff++;
                }
                assertThat(diff).as("%s: %d of %d bytes differ", name, diff, x.length).isZero();
                if (a.dtype() == DType.F8_E4M3) fp8++;
            }
            assertThat(fp8).isEqualTo(2 * 7);
        }
    }
}
