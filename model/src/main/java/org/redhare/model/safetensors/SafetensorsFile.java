package org.redhare.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.redhare.core.DType;
import org.redhare.core.NativeMemory;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelLoadException;
import org.redhare.model.TensorRef;

/**
 * One {@code .safetensors} file, memory-mapped (no copy). Layout: an 8-byte little-endian header
 * length, a JSON header {@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}},
 * then the raw data; offsets are relative to the end of the header. Every header entry is validated
 * before use: known dtype, size consistent with the shape, inside the file, no overlaps.
 */
public final class SafetensorsFile implements Checkpoint {
    private static final long MAX_HEADER = 256L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final Arena arena;
    private final Map<String, TensorRef> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, Map<String, TensorRef> tensors, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        long size;
        try {
            size = Files.size(path);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException("safetensors file not found: " + path);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + path + ": " + e.getMessage(), e);
        }
        if (size < 8) {
            throw new ModelLoadException(path + " is not a safetensors file: it has " + size
                    + " bytes, fewer than the 8-byte header length. The file is truncated; download it again.");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            // One segment class for every weight the kernels read (NativeMemory.plainView says why).
            MemorySegment all = NativeMemory.plainView(ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena), arena);
            long headerLen = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || headerLen > size - 8) {
                throw new ModelLoadException(path + ": invalid safetensors header length " + headerLen + " (file has " + size
                        + " bytes). The file is truncated or not a safetensors file.");
            }
            byte[] header = all.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            JsonNode root;
            try {
                root = JSON.readTree(new String(header, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new ModelLoadException(path + ": the safetensors header is not valid JSON (" + e.getMessage()
                        + "). The file is corrupt or truncated.");
            }
            if (root == null || !root.isObject()) {
                throw new ModelLoadException(path + ": the safetensors header is not a JSON object");
            }
            long dataStart = 8 + headerLen;
            MemorySegment data = all.asSlice(dataStart);
            Map<String, TensorRef> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            List<long[]> ranges = new ArrayList<>();
            List<String> rangeNames = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode node = e.getValue();
                if (name.equals("__metadata__")) {
                    node.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                DType dtype = parseDtype(path, name, node.path("dtype").asText(null));
                JsonNode shapeNode = node.path("shape");
                JsonNode offs = node.path("data_offsets");
                if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) {
                    throw new ModelLoadException(path + ": tensor '" + name + "' has no valid shape/data_offsets in the header");
                }
                long[] shape = new long[shapeNode.size()];
                long elements = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeNode.get(i).asLong(-1);
                    if (shape[i] < 0) {
                        throw new ModelLoadException(path + ": tensor '" + name + "' has a negative dimension in its shape " + shapeNode);
                    }
                    elements = Math.multiplyExact(elements, shape[i]);
                }
                long begin = offs.get(0).asLong(-1);
                long end = offs.get(1).asLong(-1);
                long dataSize = size - dataStart;
                if (begin < 0 || end < begin || end > dataSize) {
                    throw new ModelLoadException(path + ": tensor '" + name + "' has data offsets [" + begin + ", " + end
                            + "] outside the file's " + dataSize + " data bytes. The file is truncated or corrupt; download it again.");
                }
                long expected = (long) dtype.blockBytes() * elements;
                if (end - begin != expected) {
                    throw new ModelLoadException(path + ": tensor '" + name + "' " + dtype + shapeNode + " needs " + expected
                            + " bytes but its data offsets span " + (end - begin));
                }
                ranges.add(new long[] {begin, end});
                rangeNames.add(name);
                tensors.put(name, new TensorRef(name, dtype, shape, data.asSlice(begin, end - begin), path));
            }
            checkOverlaps(path, ranges, rangeNames);
            return new SafetensorsFile(path, arena, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            arena.close();
            throw new ModelLoadException("cannot map " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static void checkOverlaps(Path path, List<long[]> ranges, List<String> names) {
        Integer[] order = new Integer[ranges.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, Comparator.comparingLong(i -> ranges.get(i)[0]));
        for (int k = 1; k < order.length; k++) {
            long[] prev = ranges.get(order[k - 1]);
            long[] cur = ranges.get(order[k]);
            if (cur[0] < prev[1] && cur[1] > cur[0] && prev[1] > prev[0]) {
                throw new ModelLoadException(path + ": tensors '" + names.get(order[k - 1]) + "' and '" + names.get(order[k])
                        + "' overlap in the data section. The file is corrupt.");
            }
        }
    }

    static DType parseDtype(Path path, String tensor, String s) {
        if (s == null) {
            throw new ModelLoadException(path + ": tensor '" + tensor + "' has no dtype in the header");
        }
        return switch (s) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            case "F8_E4M3" -> DType.F8_E4M3;
            case "F64" -> DType.F64;
            case "I8" -> DType.I8;
            case "U8" -> DType.U8;
            case "I16" -> DType.I16;
            case "I32" -> DType.I32;
            case "I64" -> DType.I64;
            case "BOOL" -> DType.BOOL;
            default -> throw new ModelLoadException(path + ": tensor '" + tensor + "' has dtype '" + s
                    + "', which RedHare does not read (supported: F32, F16, BF16, F8_E4M3, F64, I8, U8, I16, I32, I64, BOOL)");
        };
    }

    public Path path() {
        return path;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public Map<String, TensorRef> tensors() {
        return tensors;
    }

    @Override
    public Collection<String> names() {
        return tensors.keySet();
    }

    @Override
    public Optional<TensorRef> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    @Override
    public String describe() {
        return path.toString();
    }

    @Override
    public void close() {
        arena.close();
    }
}
