package org.redhare.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.model.SharedFixtures;

class GgufFileTest {

    @TempDir
    Path tmp;

    @Test
    @SuppressWarnings("unchecked")
    void readsStories260K() throws IOException {
        try (GgufFile f = GgufFile.open(SharedFixtures.path("models/stories260K.gguf"))) {
            assertThat(f.version()).isEqualTo(3);
            assertThat(f.alignment()).isEqualTo(32);
            assertThat(f.getString("general.architecture", null)).isEqualTo("llama");
            assertThat(f.getLong("llama.embedding_length", -1)).isEqualTo(64);
            assertThat(f.getLong("llama.block_count", -1)).isEqualTo(5);
            assertThat(f.getLong("llama.attention.head_count", -1)).isEqualTo(8);
            assertThat(f.getLong("llama.attention.head_count_kv", -1)).isEqualTo(4);
            assertThat(f.getFloat("llama.attention.layer_norm_rms_epsilon", 0)).isEqualTo(1e-5f);
            assertThat(f.metadataType("tokenizer.ggml.bos_token_id")).isEqualTo(GgufValueType.UINT32);
            assertThat(f.metadata().get("tokenizer.ggml.tokens")).isInstanceOf(List.class);
            assertThat((List<Object>) f.metadata().get("tokenizer.ggml.tokens")).hasSize(512).startsWith("<unk>", "<s>", "</s>");
            assertThat(f.metadata().get("tokenizer.ggml.scores")).isInstanceOf(float[].class);

            assertThat(f.tensors()).hasSize(48);
            GgufTensorInfo emb = f.tensor("token_embd.weight");
            assertThat(emb.dims()).containsExactly(64, 512);
            assertThat(emb.type()).isEqualTo(GgmlType.F32);
            assertThat(emb.byteSize()).isEqualTo(64 * 512 * 4);
            GgufTensorInfo up = f.tensor("blk.4.ffn_up.weight");
            assertThat(up.dims()).containsExactly(64, 172);
            assertThat(f.tensor("blk.0.attn_k.weight").dims()).containsExactly(64, 32);
            assertThat(f.tensorData(emb).byteSize()).isEqualTo(emb.byteSize());
            // the data of the first tensor starts right at the aligned data section
            assertThat(f.dataStart() % 32).isZero();
            float first = f.tensorData(emb).get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            assertThat(Float.isFinite(first)).isTrue();
            for (GgufTensorInfo t : f.tensors()) {
                assertThat(t.type()).isEqualTo(GgmlType.F32);
                assertThat(f.dataStart() + t.offset() + t.byteSize()).isLessThanOrEqualTo(f.mapping().byteSize());
            }
        }
    }

    @Test
    void readsLlama2TinyRandomWithF16Tensors() throws IOException {
        try (GgufFile f = GgufFile.open(SharedFixtures.path("models/llama-2-tiny-random.gguf"))) {
            assertThat(f.getString("general.name", null)).isEqualTo("LLaMA v2");
            assertThat(f.getLong("llama.context_length", -1)).isEqualTo(4096);
            assertThat(f.getLong("general.file_type", -1)).isEqualTo(1);
            assertThat((List<?>) f.metadata().get("tokenizer.ggml.tokens")).hasSize(32000);
            assertThat(f.tensors()).hasSize(12);
            GgufTensorInfo emb = f.tensor("token_embd.weight");
            assertThat(emb.dims()).containsExactly(8, 32000);
            assertThat(emb.type()).isEqualTo(GgmlType.F16);
            assertThat(emb.byteSize()).isEqualTo(8 * 32000 * 2);
            assertThat(f.tensor("blk.0.ffn_down.weight").dims()).containsExactly(32, 8);
            assertThat(f.tensor("output_norm.weight").type()).isEqualTo(GgmlType.F32);
            assertThat(f.tensorData(emb).isMapped()).as("a plain native view of the mapping (NativeMemory.plainView)").isFalse();
            assertThat(f.tensorData(emb).isNative()).isTrue();
        }
    }

    @Test
    void typeTableMatchesGgml() {
        assertThat(GgmlType.fromId(0)).isEqualTo(GgmlType.F32);
        assertThat(GgmlType.fromId(8)).isEqualTo(GgmlType.Q8_0);
        assertThat(GgmlType.fromId(12)).isEqualTo(GgmlType.Q4_K);
        assertThat(GgmlType.fromId(14)).isEqualTo(GgmlType.Q6_K);
        assertThat(GgmlType.fromId(30)).isEqualTo(GgmlType.BF16);
        assertThat(GgmlType.fromId(4)).isNull();
        assertThat(GgmlType.Q4_K.byteSize(512)).isEqualTo(288);
        assertThat(GgmlType.Q8_0.byteSize(64)).isEqualTo(68);
        assertThatThrownBy(() -> GgmlType.Q8_0.byteSize(33)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void parsesEveryValueTypeIncludingNestedArrays() throws IOException {
        Writer w = new Writer(3);
        w.kv("u8", 0).u8(200);
        w.kv("i8", 1).u8(-3);
        w.kv("u16", 2).u16(65000);
        w.kv("i16", 3).u16(-2);
        w.kv("u32", 4).u32(-1);
        w.kv("i32", 5).u32(-7);
        w.kv("f32", 6).f32(1.5f);
        w.kv("b", 7).u8(1);
        w.kv("s", 8).str("héllo");
        w.kv("u64", 10).u64(1L << 40);
        w.kv("i64", 11).u64(-5);
        w.kv("f64", 12).f64(2.25);
        w.kv("ai32", 9).u32(5).u64(3).u32(1).u32(2).u32(3);
        w.kv("astr", 9).u32(8).u64(2).str("a").str("bc");
        w.kv("nested", 9).u32(9).u64(2).u32(6).u64(1).f32(0.5f).u32(8).u64(1).str("x");
        w.kv("general.alignment", 4).u32(64);
        w.tensor("t", new long[] {4, 2}, 0, 0);
        Path p = w.write(tmp.resolve("all.gguf"), 64, 4 * 2 * 4);
        try (GgufFile f = GgufFile.open(p)) {
            var m = f.metadata();
            assertThat(m.get("u8")).isEqualTo((short) 200);
            assertThat(m.get("i8")).isEqualTo((byte) -3);
            assertThat(m.get("u16")).isEqualTo(65000);
            assertThat(m.get("i16")).isEqualTo((short) -2);
            assertThat(m.get("u32")).isEqualTo(4294967295L);
            assertThat(m.get("i32")).isEqualTo(-7);
            assertThat(m.get("f32")).isEqualTo(1.5f);
            assertThat(m.get("b")).isEqualTo(true);
            assertThat(m.get("s")).isEqualTo("héllo");
            assertThat(m.get("u64")).isEqualTo(1L << 40);
            assertThat(m.get("i64")).isEqualTo(-5L);
            assertThat(m.get("f64")).isEqualTo(2.25);
            assertThat((int[]) m.get("ai32")).containsExactly(1, 2, 3);
            assertThat(m.get("astr")).isEqualTo(List.of("a", "bc"));
            List<?> nested = (List<?>) m.get("nested");
            assertThat((float[]) nested.get(0)).containsExactly(0.5f);
            assertThat(nested.get(1)).isEqualTo(List.of("x"));
            assertThat(f.alignment()).isEqualTo(64);
            assertThat(f.dataStart() % 64).isZero();
            assertThat(f.tensors()).singleElement().satisfies(t -> assertThat(t.elementCount()).isEqualTo(8));
        }
    }

    @Test
    void rejectsBadMagic() throws IOException {
        Path p = tmp.resolve("bad.gguf");
        Files.write(p, "{\"not\": \"gguf\"}".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("bad magic").hasMessageContaining("not a GGUF file");
    }

    @Test
    void rejectsEmptyFile() throws IOException {
        Path p = Files.write(tmp.resolve("empty.gguf"), new byte[0]);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class).hasMessageContaining("too short");
    }

    @Test
    void rejectsUnsupportedVersions() throws IOException {
        Path v1 = new Writer(1).write(tmp.resolve("v1.gguf"), 32, 0);
        assertThatThrownBy(() -> GgufFile.open(v1)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("unsupported GGUF version 1").hasMessageContaining("versions 2 and 3");
        Path v2 = new Writer(2).write(tmp.resolve("v2.gguf"), 32, 0);
        try (GgufFile f = GgufFile.open(v2)) {
            assertThat(f.version()).isEqualTo(2);
        }
        Path be = new Writer(Integer.reverseBytes(3)).write(tmp.resolve("be.gguf"), 32, 0);
        assertThatThrownBy(() -> GgufFile.open(be)).hasMessageContaining("big-endian");
    }

    @Test
    void rejectsTruncatedFile() throws IOException {
        Writer w = new Writer(3);
        w.kv("general.name", 8).str("truncated model");
        w.tensor("t", new long[] {8}, 0, 0);
        byte[] full = Files.readAllBytes(w.write(tmp.resolve("full.gguf"), 32, 32));
        for (int cut : new int[] {6, 20, 30, 45, full.length - 33}) {
            Path p = Files.write(tmp.resolve("cut" + cut + ".gguf"), Arrays.copyOf(full, cut));
            assertThatThrownBy(() -> GgufFile.open(p)).as("cut at %d", cut).isInstanceOf(GgufFormatException.class)
                    .hasMessageContaining(p.toString()).hasMessageMatching("(?s).*(truncated|corrupt).*");
        }
    }

    @Test
    void rejectsTensorDataOutOfBounds() throws IOException {
        Writer w = new Writer(3);
        w.tensor("big", new long[] {1024, 1024}, 0, 0);
        Path p = w.write(tmp.resolve("oob.gguf"), 32, 64);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("tensor 'big'").hasMessageContaining("outside the data section");
    }

    @Test
    void rejectsUnknownTensorType() throws IOException {
        Writer w = new Writer(3);
        w.tensor("weird", new long[] {32}, 4, 0);
        Path p = w.write(tmp.resolve("type.gguf"), 32, 128);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("tensor 'weird'").hasMessageContaining("unknown ggml type id 4");
    }

    @Test
    void rejectsMisalignedTensorOffset() throws IOException {
        Writer w = new Writer(3);
        w.tensor("t", new long[] {4}, 0, 3);
        Path p = w.write(tmp.resolve("align.gguf"), 32, 64);
        assertThatThrownBy(() -> GgufFile.open(p)).hasMessageContaining("not a multiple of the alignment");
    }

    @Test
    void rejectsAbsurdCountsAndLengths() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x46554747).putInt(3).putLong(1L << 50).putLong(0);
        Path tensors = Files.write(tmp.resolve("count.gguf"), b.array());
        assertThatThrownBy(() -> GgufFile.open(tensors)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("tensor count");

        Writer w = new Writer(3);
        w.kv("s", 8).u64(Long.MAX_VALUE);
        Path str = w.write(tmp.resolve("strlen.gguf"), 32, 0);
        assertThatThrownBy(() -> GgufFile.open(str)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("string length of value of s");

        Writer a = new Writer(3);
        a.kv("arr", 9).u32(5).u64(1L << 40);
        Path arr = a.write(tmp.resolve("arrlen.gguf"), 32, 0);
        assertThatThrownBy(() -> GgufFile.open(arr)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("'arr' claims 1099511627776 elements");

        Writer t = new Writer(3);
        t.kv("x", 77).u32(0);
        Path type = t.write(tmp.resolve("vtype.gguf"), 32, 0);
        assertThatThrownBy(() -> GgufFile.open(type)).hasMessageContaining("unknown value type 77");

        Writer d = new Writer(3);
        d.tensor("dims", new long[] {1, 1, 1, 1, 1}, 0, 0);
        Path dims = d.write(tmp.resolve("dims.gguf"), 32, 64);
        assertThatThrownBy(() -> GgufFile.open(dims)).hasMessageContaining("5 dimensions");
    }

    /** Writes small GGUF files, well-formed or not, for the tests above. */
    private static final class Writer {
        private final int version;
        private final ByteArrayOutputStream kvs = new ByteArrayOutputStream();
        private final ByteArrayOutputStream infos = new ByteArrayOutputStream();
        private int kvCount;
        private int tensorCount;
        private ByteArrayOutputStream cur = kvs;

        Writer(int version) {
            this.version = version;
        }

        Writer kv(String key, int type) {
            cur = kvs;
            kvCount++;
            return str(key).u32(type);
        }

        Writer tensor(String name, long[] dims, int type, long offset) {
            cur = infos;
            tensorCount++;
            str(name).u32(dims.length);
            for (long d : dims) {
                u64(d);
            }
            return u32(type).u64(offset);
        }

        Writer u8(int v) {
            cur.write(v);
            return this;
        }

        Writer u16(int v) {
            return bytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) v).array());
        }

        Writer u32(int v) {
            return bytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
        }

        Writer u64(long v) {
            return bytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        }

        Writer f32(float v) {
            return u32(Float.floatToIntBits(v));
        }

        Writer f64(double v) {
            return u64(Double.doubleToLongBits(v));
        }

        Writer str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            return u64(b.length).bytes(b);
        }

        Writer bytes(byte[] b) {
            cur.writeBytes(b);
            return this;
        }

        Path write(Path p, int alignment, int dataBytes) throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer h = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(0x46554747).putInt(version).putLong(tensorCount).putLong(kvCount);
            out.writeBytes(h.array());
            out.writeBytes(kvs.toByteArray());
            out.writeBytes(infos.toByteArray());
            while (out.size() % alignment != 0) {
                out.write(0);
            }
            out.writeBytes(new byte[dataBytes]);
            return Files.write(p, out.toByteArray());
        }
    }
}
