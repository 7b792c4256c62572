package org.redhare.model.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.redhare.core.NativeMemory;

/**
 * A GGUF file (versions 2 and 3, little-endian), memory-mapped read-only.
 *
 * <p>The whole file is mapped once; {@link #tensorData(GgufTensorInfo)} returns slices of that mapping
 * (no copy). The mapping lives until {@link #close()}; slices must not be used after that.
 *
 * <p>Metadata values are exposed as plain Java objects:
 * <ul>
 *   <li>integer scalars as the smallest boxed type that holds every value of the GGUF type:
 *       INT8 {@code Byte}, UINT8 and INT16 {@code Short}, UINT16 and INT32 {@code Integer},
 *       UINT32 and INT64 {@code Long}, UINT64 {@code Long} (values above 2^63-1 appear negative);
 *       FLOAT32 {@code Float}, FLOAT64 {@code Double}, BOOL {@code Boolean}, STRING {@code String};</li>
 *   <li>arrays of numbers or booleans as primitive arrays of the storage width ({@code byte[]} for
 *       (U)INT8, {@code short[]}, {@code int[]}, {@code long[]}, {@code float[]}, {@code double[]},
 *       {@code boolean[]}); unsigned elements keep their bit pattern;</li>
 *   <li>arrays of strings as an unmodifiable {@code List<String>}, arrays of arrays as a
 *       {@code List<Object>} of the above.</li>
 * </ul>
 * {@link #metadataType(String)} tells the GGUF type of a key when the distinction matters.
 */
public final class GgufFile implements AutoCloseable {

    /** "GGUF" read as a little-endian uint32. */
    private static final int MAGIC = 0x46554747;
    private static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAX_DIMS = 4;
    private static final int MAX_ARRAY_NESTING = 8;

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, GgufValueType> metadataTypes;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> tensorsByName;
    private final int alignment;
    private final long dataStart;

    private GgufFile(Path path, Arena arena, MemorySegment mapping, int version, Map<String, Object> metadata,
                     Map<String, GgufValueType> metadataTypes, List<GgufTensorInfo> tensors, int alignment,
                     long dataStart) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.version = version;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.metadataTypes = Collections.unmodifiableMap(metadataTypes);
        this.tensors = List.copyOf(tensors);
        Map<String, GgufTensorInfo> byName = new HashMap<>();
        for (GgufTensorInfo t : tensors) {
            byName.put(t.name(), t);
        }
        this.tensorsByName = Collections.unmodifiableMap(byName);
        this.alignment = alignment;
        this.dataStart = dataStart;
    }

    /**
     * Maps and parses a GGUF file.
     *
     * @throws GgufFormatException when the content is not a valid GGUF v2/v3 file (the message says what is wrong)
     * @throws IOException         when the file cannot be read
     */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment mapping = size == 0 ? MemorySegment.NULL.reinterpret(0)
                    : NativeMemory.plainView(ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena), arena); // see NativeMemory.plainView
            GgufFile file = new Parser(path, mapping).parse(arena);
            return file;
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** GGUF format version (2 or 3). */
    public int version() {
        return version;
    }

    /** All metadata key/value pairs in file order; see the class comment for the value types. */
    public Map<String, Object> metadata() {
        return metadata;
    }

    /** The GGUF type of a metadata key, or {@code null} when the key is absent. */
    public GgufValueType metadataType(String key) {
        return metadataTypes.get(key);
    }

    /** Tensor descriptions in file order. */
    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    /** The tensor with this name, or {@code null}. */
    public GgufTensorInfo tensor(String name) {
        return tensorsByName.get(name);
    }

    /** Alignment of tensor data ({@code general.alignment}, 32 when absent). */
    public int alignment() {
        return alignment;
    }

    /** File offset where the tensor data section begins. */
    public long dataStart() {
        return dataStart;
    }

    /** The whole mapped file. */
    public MemorySegment mapping() {
        return mapping;
    }

    /** The bytes of one tensor, a slice of the mapping (no copy). */
    public MemorySegment tensorData(GgufTensorInfo tensor) {
        return mapping.asSlice(dataStart + tensor.offset(), tensor.byteSize());
    }

    /** A string metadata value, or {@code def} when absent. */
    public String getString(String key, String def) {
        return metadata.get(key) instanceof String s ? s : def;
    }

    /** An integer metadata value of any integer type, or {@code def} when absent. */
    public long getLong(String key, long def) {
        return metadata.get(key) instanceof Number n && !(n instanceof Float || n instanceof Double) ? n.longValue() : def;
    }

    /** A numeric metadata value as float, or {@code def} when absent. */
    public float getFloat(String key, float def) {
        return metadata.get(key) instanceof Number n ? n.floatValue() : def;
    }

    /** A boolean metadata value, or {@code def} when absent. */
    public boolean getBoolean(String key, boolean def) {
        return metadata.get(key) instanceof Boolean b ? b : def;
    }

    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "GgufFile[" + path + ", v" + version + ", " + metadata.size() + " keys, " + tensors.size() + " tensors]";
    }

    /** Sequential little-endian reader over the mapping with bounds checks. */
    private static final class Parser {
        private final Path path;
        private final MemorySegment seg;
        private final long size;
        private long pos;

        Parser(Path path, MemorySegment seg) {
            this.path = path;
            this.seg = seg;
            this.size = seg.byteSize();
        }

        GgufFile parse(Arena arena) throws GgufFormatException {
            if (size < 4) {
                throw fail("file is " + size + " bytes, too short for a GGUF header; is the download complete?");
            }
            int magic = seg.get(I32, 0);
            if (magic != MAGIC) {
                throw fail(String.format("bad magic 0x%08X (bytes \"%s\"), expected \"GGUF\"; this is not a GGUF file"
                        + " (safetensors checkpoints are loaded from their directory instead)", magic, printable(4)));
            }
            pos = 4;
            int version = u32AsInt("version");
            if (version != 2 && version != 3) {
                if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3) {
                    throw fail("big-endian GGUF files are not supported; convert it to little-endian");
                }
                throw fail("unsupported GGUF version " + Integer.toUnsignedString(version)
                        + "; RedHare reads versions 2 and 3 (re-convert the model with a current llama.cpp)");
            }
            long tensorCount = u64("tensor count");
            long kvCount = u64("metadata count");
            // Each tensor info takes at least 8 (name length) + 4 + 4 + 8 bytes, each key/value at least 8 + 4 + 1.
            checkCount(tensorCount, 24, "tensor count");
            checkCount(kvCount, 13, "metadata key/value count");

            Map<String, Object> metadata = new LinkedHashMap<>();
            Map<String, GgufValueType> types = new HashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = string("metadata key #" + i);
                int typeId = u32AsInt("type of metadata key " + key);
                GgufValueType type = GgufValueType.fromId(typeId);
                if (type == null) {
                    throw fail("metadata key '" + key + "' has unknown value type " + Integer.toUnsignedString(typeId)
                            + " at offset " + (pos - 4) + "; the file is corrupt or from a newer GGUF version");
                }
                Object value = value(type, key, 0);
                if (metadata.put(key, value) != null) {
                    throw fail("metadata key '" + key + "' appears twice; the file is corrupt");
                }
                types.put(key, type);
            }

            int alignment = DEFAULT_ALIGNMENT;
            Object a = metadata.get("general.alignment");
            if (a != null) {
                if (!(a instanceof Number n) || a instanceof Float || a instanceof Double) {
                    throw fail("general.alignment must be an integer, found " + a.getClass().getSimpleName());
                }
                long al = ((Number) a).longValue();
                if (al <= 0 || al > (1 << 20) || Long.bitCount(al) != 1) {
                    throw fail("general.alignment is " + al + "; it must be a power of two (usually 32)");
                }
                alignment = (int) al;
            }

            List<GgufTensorInfo> infos = new ArrayList<>((int) tensorCount);
            List<Integer> typeIds = new ArrayList<>();
            for (long i = 0; i < tensorCount; i++) {
                String name = string("name of tensor #" + i);
                int nDims = u32AsInt("dimension count of tensor " + name);
                if (nDims < 1 || nDims > MAX_DIMS) {
                    throw fail("tensor '" + name + "' has " + Integer.toUnsignedString(nDims)
                            + " dimensions; GGUF allows 1 to " + MAX_DIMS);
                }
                long[] dims = new long[nDims];
                for (int d = 0; d < nDims; d++) {
                    dims[d] = u64("dimension " + d + " of tensor " + name);
                    if (dims[d] < 0 || dims[d] > (1L << 40)) {
                        throw fail("tensor '" + name + "' dimension " + d + " is " + Long.toUnsignedString(dims[d])
                                + ", which is absurd; the file is corrupt");
                    }
                }
                int typeId = u32AsInt("type of tensor " + name);
                long offset = u64("data offset of tensor " + name);
                GgmlType type = GgmlType.fromId(typeId);
                if (type == null) {
                    throw fail("tensor '" + name + "' has unknown ggml type id " + Integer.toUnsignedString(typeId)
                            + "; RedHare knows " + java.util.Arrays.toString(GgmlType.values())
                            + " (re-quantize the model to a supported type)");
                }
                long elements;
                try {
                    elements = 1;
                    for (long d : dims) {
                        elements = Math.multiplyExact(elements, d);
                    }
                } catch (ArithmeticException e) {
                    throw fail("tensor '" + name + "' has an element count that overflows; the file is corrupt");
                }
                if (dims[0] % type.blockSize() != 0) {
                    throw fail("tensor '" + name + "' has first dimension " + dims[0] + ", not a multiple of the "
                            + type + " block size " + type.blockSize() + "; the file is corrupt");
                }
                if (offset < 0 || offset % alignment != 0) {
                    throw fail("tensor '" + name + "' data offset " + Long.toUnsignedString(offset)
                            + " is not a multiple of the alignment " + alignment + "; the file is corrupt");
                }
                infos.add(new GgufTensorInfo(name, dims, type, offset, type.byteSize(elements)));
                typeIds.add(typeId);
            }
            long dataStart = alignUp(pos, alignment);
            if (tensorCount > 0 && dataStart > size) {
                throw fail("file ends at byte " + size + " before the tensor data section (byte " + dataStart
                        + "); the file is truncated, download it again");
            }
            long dataSize = Math.max(0, size - dataStart);
            for (GgufTensorInfo t : infos) {
                if (t.offset() > dataSize || t.byteSize() > dataSize - t.offset()) {
                    throw fail("tensor '" + t.name() + "' data [" + t.offset() + ", " + (t.offset() + t.byteSize())
                            + ") lies outside the data section of " + dataSize
                            + " bytes; the file is truncated or corrupt, download it again");
                }
            }
            return new GgufFile(path, arena, seg, version, metadata, types, infos, alignment, dataStart);
        }

        private Object value(GgufValueType type, String key, int depth) throws GgufFormatException {
            return switch (type) {
                case UINT8 -> (short) (u8(key) & 0xFF);
                case INT8 -> u8(key);
                case UINT16 -> u16(key) & 0xFFFF;
                case INT16 -> u16(key);
                case UINT32 -> Integer.toUnsignedLong(u32AsInt(key));
                case INT32 -> u32AsInt(key);
                case FLOAT32 -> Float.intBitsToFloat(u32AsInt(key));
                case BOOL -> bool(key);
                case STRING -> string("value of " + key);
                case UINT64, INT64 -> u64(key);
                case FLOAT64 -> Double.longBitsToDouble(u64(key));
                case ARRAY -> array(key, depth);
            };
        }

        private Object array(String key, int depth) throws GgufFormatException {
            if (depth >= MAX_ARRAY_NESTING) {
                throw fail("metadata key '" + key + "' nests arrays more than " + MAX_ARRAY_NESTING + " deep; the file is corrupt");
            }
            int typeId = u32AsInt("array element type of " + key);
            GgufValueType et = GgufValueType.fromId(typeId);
            if (et == null) {
                throw fail("metadata key '" + key + "' is an array of unknown type " + Integer.toUnsignedString(typeId)
                        + "; the file is corrupt or from a newer GGUF version");
            }
            long n = u64("array length of " + key);
            if (n < 0 || n > Integer.MAX_VALUE - 8 || n * et.minBytes() > size - pos) {
                throw fail("metadata key '" + key + "' claims " + Long.toUnsignedString(n) + " elements of " + et
                        + " but only " + (size - pos) + " bytes remain; the file is truncated or corrupt");
            }
            int count = (int) n;
            switch (et) {
                case UINT8, INT8 -> {
                    byte[] v = seg.asSlice(pos, count).toArray(ValueLayout.JAVA_BYTE);
                    pos += count;
                    return v;
                }
                case BOOL -> {
                    boolean[] v = new boolean[count];
                    for (int i = 0; i < count; i++) {
                        v[i] = bool(key);
                    }
                    return v;
                }
                case UINT16, INT16 -> {
                    short[] v = new short[count];
                    for (int i = 0; i < count; i++, pos += 2) {
                        v[i] = seg.get(I16, pos);
                    }
                    return v;
                }
                case UINT32, INT32 -> {
                    int[] v = new int[count];
                    for (int i = 0; i < count; i++, pos += 4) {
                        v[i] = seg.get(I32, pos);
                    }
                    return v;
                }
                case FLOAT32 -> {
                    float[] v = new float[count];
                    for (int i = 0; i < count; i++, pos += 4) {
                        v[i] = seg.get(F32, pos);
                    }
                    return v;
                }
                case UINT64, INT64 -> {
                    long[] v = new long[count];
                    for (int i = 0; i < count; i++, pos += 8) {
                        v[i] = seg.get(I64, pos);
                    }
                    return v;
                }
                case FLOAT64 -> {
                    double[] v = new double[count];
                    for (int i = 0; i < count; i++, pos += 8) {
                        v[i] = seg.get(F64, pos);
                    }
                    return v;
                }
                case STRING -> {
                    List<String> v = new ArrayList<>(count);
                    for (int i = 0; i < count; i++) {
                        v.add(string(key + "[" + i + "]"));
                    }
                    return Collections.unmodifiableList(v);
                }
                case ARRAY -> {
                    List<Object> v = new ArrayList<>(count);
                    for (int i = 0; i < count; i++) {
                        v.add(array(key + "[" + i + "]", depth + 1));
                    }
                    return Collections.unmodifiableList(v);
                }
                default -> throw new AssertionError(et);
            }
        }

        private String string(String what) throws GgufFormatException {
            long len = u64("length of " + what);
            if (len < 0 || len > size - pos) {
                throw fail("the string length of " + what + " is " + Long.toUnsignedString(len) + " at offset " + (pos - 8)
                        + " but only " + (size - pos) + " bytes remain; the file is truncated or corrupt");
            }
            if (len > Integer.MAX_VALUE - 8) {
                throw fail("the string length of " + what + " is " + len + ", which is absurd; the file is corrupt");
            }
            byte[] bytes = seg.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
            pos += len;
            return new String(bytes, StandardCharsets.UTF_8);
        }

        private byte u8(String what) throws GgufFormatException {
            need(1, what);
            return seg.get(ValueLayout.JAVA_BYTE, pos++);
        }

        private boolean bool(String what) throws GgufFormatException {
            byte b = u8(what);
            if (b != 0 && b != 1) {
                throw fail("boolean " + what + " has byte value " + (b & 0xFF) + " at offset " + (pos - 1) + "; expected 0 or 1");
            }
            return b == 1;
        }

        private short u16(String what) throws GgufFormatException {
            need(2, what);
            short v = seg.get(I16, pos);
            pos += 2;
            return v;
        }

        private int u32AsInt(String what) throws GgufFormatException {
            need(4, what);
            int v = seg.get(I32, pos);
            pos += 4;
            return v;
        }

        private long u64(String what) throws GgufFormatException {
            need(8, what);
            long v = seg.get(I64, pos);
            pos += 8;
            return v;
        }

        private void need(int bytes, String what) throws GgufFormatException {
            if (size - pos < bytes) {
                throw fail("file ends at byte " + size + " while reading " + what + " (offset " + pos
                        + "); the file is truncated, download it again");
            }
        }

        private void checkCount(long count, int minBytesEach, String what) throws GgufFormatException {
            if (count < 0 || count > (size - pos) / minBytesEach) {
                throw fail("the header claims a " + what + " of " + Long.toUnsignedString(count)
                        + ", more than the " + size + "-byte file can hold; the file is corrupt or truncated");
            }
        }

        private String printable(int n) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) {
                int b = seg.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
                sb.append(b >= 0x20 && b < 0x7F ? String.valueOf((char) b) : String.format("\\x%02X", b));
            }
            return sb.toString();
        }

        private GgufFormatException fail(String problem) {
            return new GgufFormatException(path, problem);
        }

        private static long alignUp(long v, int alignment) {
            return (v + alignment - 1) / alignment * alignment;
        }
    }
}
