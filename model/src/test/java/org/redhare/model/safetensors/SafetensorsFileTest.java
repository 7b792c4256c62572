package org.redhare.model.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.DType;
import org.redhare.model.ModelLoadException;
import org.redhare.model.TensorRef;
import org.redhare.model.Weights;

class SafetensorsFileTest {
    @TempDir
    Path tmp;

    /** Writes a raw safetensors file from a header JSON string and a data section. */
    Path raw(String name, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path p = tmp.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    @Test
    void writesAndMapsTensorsRoundTrip() throws IOException {
        Path p = tmp.resolve("w.safetensors");
        SafetensorsWriter.write(p, List.of(
                new SafetensorsWriter.Entry("a", DType.F32, new long[] {2, 3}, (buf, off) -> {
                    for (int i = 0; buf.hasRemaining(); i++) buf.putFloat(i + off / 4f);
                }),
                new SafetensorsWriter.Entry("b", DType.BF16, new long[] {5}, (buf, off) -> {
                    while (buf.hasRemaining()) buf.putShort((short) 0x3F80); // 1.0
                })), Map.of("format", "pt"), null);
        long headerLen = ByteBuffer.wrap(Files.readAllBytes(p), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLen % 8).as("header padded to 8 bytes").isZero();
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.names()).containsExactly("a", "b");
            assertThat(f.metadata()).containsEntry("format", "pt");
            TensorRef a = f.tensor("a");
            assertThat(a.shape()).containsExactly(2, 3);
            assertThat(Weights.toFloats(a)).containsExactly(0, 1, 2, 3, 4, 5);
            assertThat(Weights.toFloats(f.tensor("b"))).containsOnly(1f);
            // Plain native segments, like the repacked weights and the KV cache: one segment class for the kernels'
            // vector loads (NativeMemory.plainView; a mapped one made FP8 decode after a prompt 24% slower).
            assertThat(a.data().isMapped()).isFalse();
            assertThat(a.data().isNative()).isTrue();
        }
    }

    @Test
    void rejectsTruncatedFiles() throws IOException {
        Path tiny = tmp.resolve("t.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> SafetensorsFile.open(tiny)).isInstanceOf(ModelLoadException.class).hasMessageContaining("truncated");
        Path p = raw("short.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]);
        assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("'x'").hasMessageContaining("outside the file");
        Path bad = raw("len.safetensors", "{}", new byte[0]);
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1 << 20);
        byte[] bytes = Files.readAllBytes(bad);
        System.arraycopy(b.array(), 0, bytes, 0, 8);
        Files.write(bad, bytes);
        assertThatThrownBy(() -> SafetensorsFile.open(bad)).hasMessageContaining("invalid safetensors header length");
    }

    @Test
    void rejectsBadHeaders() throws IOException {
        Path json = raw("j.safetensors", "{not json", new byte[0]);
        assertThatThrownBy(() -> SafetensorsFile.open(json)).hasMessageContaining("not valid JSON");
        Path dtype = raw("d.safetensors", "{\"x\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]);
        assertThatThrownBy(() -> SafetensorsFile.open(dtype)).hasMessageContaining("dtype 'Q7'").hasMessageContaining("supported");
        Path size = raw("s.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        assertThatThrownBy(() -> SafetensorsFile.open(size)).hasMessageContaining("needs 12 bytes");
        Path overlap = raw("o.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]);
        assertThatThrownBy(() -> SafetensorsFile.open(overlap)).hasMessageContaining("overlap");
        Path neg = raw("n.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]);
        assertThatThrownBy(() -> SafetensorsFile.open(neg)).hasMessageContaining("negative dimension");
    }

    @Test
    void readsShardedCheckpointsThroughTheIndex() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("sharded"));
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), List.of(new SafetensorsWriter.Entry("a", DType.F32,
                new long[] {2}, (buf, off) -> { while (buf.hasRemaining()) buf.putFloat(7f); })), Map.of(), null);
        SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), List.of(new SafetensorsWriter.Entry("b", DType.F32,
                new long[] {1}, (buf, off) -> buf.putFloat(9f))), Map.of(), null);
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"metadata\":{},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
                + "\"b\":\"model-00002-of-00002.safetensors\"}}");
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertThat(c.names()).containsExactlyInAnyOrder("a", "b");
            assertThat(Weights.toFloats(c.tensor("b"))).containsExactly(9f);
            assertThatThrownBy(() -> c.tensor("zzz")).hasMessageContaining("'zzz' is missing");
        }
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(dir)).hasMessageContaining("model-00002-of-00002.safetensors")
                .hasMessageContaining("missing");
    }
}
