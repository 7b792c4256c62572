package org.redhare.server;

import com.fasterxml.jackson.databind.JsonNode;

/** Checks of nested fields that {@link Params} does not reach. */
final class JsonCheck {
    private JsonCheck() {}

    static void bool(JsonNode parent, String path) {
        String leaf = path.substring(path.lastIndexOf('.') + 1);
        JsonNode n = parent.get(leaf);
        if (n != null && !n.isNull() && !n.isBoolean()) {
            throw ApiException.invalid(path, "'" + path + "' must be true or false, got " + Params.kind(n));
        }
    }
}
