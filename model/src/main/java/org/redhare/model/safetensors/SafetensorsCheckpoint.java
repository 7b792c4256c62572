package org.redhare.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelLoadException;
import org.redhare.model.TensorRef;

/**
 * The safetensors files of a Hugging Face model directory: {@code model.safetensors}, or the shards
 * named by {@code model.safetensors.index.json}, or (failing both) every {@code *.safetensors} file.
 */
public final class SafetensorsCheckpoint implements Checkpoint {
    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, TensorRef> tensors;

    private SafetensorsCheckpoint(Path dir, List<SafetensorsFile> files, Map<String, TensorRef> tensors) {
        this.dir = dir;
        this.files = files;
        this.tensors = tensors;
    }

    public static SafetensorsCheckpoint open(Path dir) {
        List<Path> paths = shardPaths(dir);
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        try {
            for (Path p : paths) {
                SafetensorsFile f = SafetensorsFile.open(p);
                files.add(f);
                for (TensorRef t : f.tensors().values()) {
                    TensorRef prev = tensors.putIfAbsent(t.name(), t);
                    if (prev != null) {
                        throw new ModelLoadException("tensor '" + t.name() + "' appears in both " + prev.file().getFileName()
                                + " and " + p.getFileName() + " in " + dir);
                    }
                }
            }
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
        return new SafetensorsCheckpoint(dir, files, tensors);
    }

    static List<Path> shardPaths(Path dir) {
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(index.toFile());
            } catch (IOException e) {
                throw new ModelLoadException(index + " is not valid JSON: " + e.getMessage());
            }
            JsonNode map = root.path("weight_map");
            if (!map.isObject() || map.isEmpty()) {
                throw new ModelLoadException(index + " has no weight_map; the index file is corrupt");
            }
            TreeSet<String> names = new TreeSet<>();
            map.fields().forEachRemaining(e -> names.add(e.getValue().asText()));
            List<Path> out = new ArrayList<>();
            for (String n : names) {
                Path p = dir.resolve(n);
                if (!Files.isRegularFile(p)) {
                    throw new ModelLoadException("shard " + n + " listed in " + index.getFileName() + " is missing from " + dir
                            + ". The download is incomplete; fetch the missing shard.");
                }
                out.add(p);
            }
            return out;
        }
        if (Files.isRegularFile(single)) {
            return List.of(single);
        }
        try (var s = Files.list(dir)) {
            List<Path> out = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            if (out.isEmpty()) {
                throw new ModelLoadException("no .safetensors files in " + dir
                        + ": expected model.safetensors or model.safetensors.index.json with its shards");
            }
            return out;
        } catch (IOException e) {
            throw new ModelLoadException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    public List<SafetensorsFile> files() {
        return files;
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
        return dir.toString();
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
