package org.redhare.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The reference data of one fixture in ../shared/fixtures: prompts, logits, greedy continuations, NLL. */
public record FixtureReference(String name, Path dir, List<Case> cases) {

    public record Case(String name, int[] promptIds, float[][] logits, int[] greedy, double promptNll) {}

    public static FixtureReference load(Path dir) throws IOException {
        JsonNode root = new ObjectMapper().readTree(dir.resolve("reference/cases.json").toFile());
        List<Case> cases = new ArrayList<>();
        for (JsonNode c : root.path("cases")) {
            int[] ids = toInts(c.path("prompt_ids"));
            int vocab = c.path("logits_shape").get(1).asInt();
            byte[] raw = Files.readAllBytes(dir.resolve("reference").resolve(c.path("logits_file").asText()));
            ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            float[][] logits = new float[ids.length][vocab];
            for (int i = 0; i < ids.length; i++) {
                for (int v = 0; v < vocab; v++) {
                    logits[i][v] = bb.getFloat();
                }
            }
            cases.add(new Case(c.path("name").asText(), ids, logits, toInts(c.path("greedy").path("new_tokens")),
                    c.path("prompt_nll").path("mean").asDouble()));
        }
        return new FixtureReference(dir.getFileName().toString(), dir, cases);
    }

    static int[] toInts(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asInt();
        }
        return out;
    }
}
