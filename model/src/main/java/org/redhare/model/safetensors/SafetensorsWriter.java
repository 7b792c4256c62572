package org.redhare.model.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.redhare.core.DType;

/**
 * Writes a {@code .safetensors} file in the layout the Hugging Face library writes: 8-byte header
 * length, JSON header padded with spaces to a multiple of 8, then each tensor's bytes in order. Tensor
 * contents are streamed from a {@link Filler}, so checkpoints larger than memory can be written.
 */
public final class SafetensorsWriter {

    /** Fills {@code buf} (little-endian, positioned at 0) with the next {@code buf.remaining()} bytes of the tensor. */
    @FunctionalInterface
    public interface Filler {
        void fill(ByteBuffer buf, long byteOffset) throws IOException;
    }

    public record Entry(String name, DType dtype, long[] shape, Filler filler) {
        long bytes() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return dtype.bytesFor(n);
        }
    }

    private static final String[] NAMES = {"F32", "F16", "BF16", "F8_E4M3", "I8", "I16", "I32", "I64", "F64", "BOOL", "U8"};

    private SafetensorsWriter() {}

    static String dtypeName(DType d) {
        return NAMES[d.ordinal()];
    }

    /** Writes the entries to {@code file}; {@code progress} (may be null) gets bytes written and the total. */
    public static void write(Path file, List<Entry> entries, Map<String, String> metadata, java.util.function.BiConsumer<Long, Long> progress)
            throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        ObjectNode meta = header.putObject("__metadata__");
        new java.util.TreeMap<>(metadata).forEach(meta::put); // sorted: a Map.of's order changes from run to run, the file must not
        long offset = 0;
        List<long[]> ranges = new ArrayList<>();
        for (Entry e : entries) {
            ObjectNode t = header.putObject(e.name());
            t.put("dtype", dtypeName(e.dtype()));
            ArrayNode shape = t.putArray("shape");
            for (long d : e.shape()) {
                shape.add(d);
            }
            long end = offset + e.bytes();
            t.putArray("data_offsets").add(offset).add(end);
            ranges.add(new long[] {offset, end});
            offset = end;
        }
        byte[] h = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(h);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        long total = offset;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            while (head.hasRemaining()) {
                ch.write(head);
            }
            ByteBuffer buf = ByteBuffer.allocateDirect(4 << 20).order(ByteOrder.LITTLE_ENDIAN);
            long written = 0;
            for (Entry e : entries) {
                long size = e.bytes();
                for (long pos = 0; pos < size; pos += buf.capacity()) {
                    int len = (int) Math.min(buf.capacity(), size - pos);
                    buf.clear().limit(len);
                    e.filler().fill(buf, pos);
                    if (buf.position() != 0 && buf.position() != len) {
                        throw new IOException("filler for " + e.name() + " wrote " + buf.position() + " of " + len + " bytes");
                    }
                    buf.position(0).limit(len);
                    while (buf.hasRemaining()) {
                        ch.write(buf);
                    }
                    written += len;
                    if (progress != null) {
                        progress.accept(written, total);
                    }
                }
            }
        }
    }
}
