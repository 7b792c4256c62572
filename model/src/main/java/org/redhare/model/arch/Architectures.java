package org.redhare.model.arch;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelLoadException;

/** The model families RedHare runs, looked up by config.json's {@code architectures}. */
public final class Architectures {
    private static final List<Architecture> ALL = List.of(new LlamaFamily(), new MoeFamily(), new DeepseekFamily(), new GlmFamily(), new Glm4MoeFamily(), new GemmaFamily());

    private Architectures() {}

    public static List<String> supportedNames() {
        return ALL.stream().flatMap(a -> a.names().stream()).sorted().toList();
    }

    public static Optional<Architecture> find(String name) {
        return ALL.stream().filter(a -> a.names().contains(name)).findFirst();
    }

    public static Architecture forConfig(ModelConfig c) {
        return find(c.architecture()).orElseThrow(() -> new ModelLoadException("architecture '" + c.architecture()
                + "' is not supported. RedHare runs: " + supportedNames().stream().collect(Collectors.joining(", "))));
    }
}
