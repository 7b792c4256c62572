package org.redhare.text.tools;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashSet;
import java.util.Set;

/** What a tool's JSON-schema {@code parameters} say about its arguments, for the formats that need it. */
public final class ToolArguments {
    private ToolArguments() {}

    /**
     * The arguments {@code parameters} (a tool's JSON schema, null when it has none) types as strings alone:
     * {@code "type": "string"} under {@code properties}. A union such as {@code ["string", "null"]} is left out: there
     * the written text {@code null} may be either, and reading values by what they look like keeps null a null.
     */
    public static Set<String> stringTyped(JsonNode parameters) {
        Set<String> out = new LinkedHashSet<>();
        if (parameters == null || !parameters.path("properties").isObject()) {
            return out;
        }
        parameters.path("properties").properties().forEach(e -> {
            JsonNode type = e.getValue().path("type");
            if (type.isTextual() && type.asText().equals("string")) {
                out.add(e.getKey());
            }
        });
        return out;
    }
}
