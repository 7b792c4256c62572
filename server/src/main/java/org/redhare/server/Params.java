package org.redhare.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/** Typed reads of request fields, each failing with a 400 that names the field and what it should be. */
final class Params {
    private final ObjectNode body;

    Params(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiException.invalid(null, "the request body must be a JSON object");
        }
        this.body = (ObjectNode) body;
    }

    ObjectNode body() {
        return body;
    }

    JsonNode get(String name) {
        JsonNode n = body.get(name);
        return n == null || n.isNull() ? null : n;
    }

    boolean has(String name) {
        return get(name) != null;
    }

    Double number(String name, double min, double max) {
        JsonNode n = get(name);
        if (n == null) {
            return null;
        }
        if (!n.isNumber()) {
            throw ApiException.invalid(name, "'" + name + "' must be a number, got " + kind(n));
        }
        double v = n.asDouble();
        if (!(v >= min && v <= max)) {
            throw ApiException.invalid(name, "'" + name + "' must be in [" + fmt(min) + ", " + fmt(max) + "], got " + n);
        }
        return v;
    }

    Integer integer(String name, long min, long max) {
        JsonNode n = get(name);
        if (n == null) {
            return null;
        }
        if (!n.isIntegralNumber() && !(n.isNumber() && n.asDouble() == Math.rint(n.asDouble()))) {
            throw ApiException.invalid(name, "'" + name + "' must be an integer, got " + kind(n));
        }
        if (!n.canConvertToLong() || n.asLong() < min || n.asLong() > max) {
            throw ApiException.invalid(name, "'" + name + "' must be an integer in [" + min + ", " + max + "], got " + n);
        }
        return (int) n.asLong();
    }

    Long longValue(String name) {
        JsonNode n = get(name);
        if (n == null) {
            return null;
        }
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw ApiException.invalid(name, "'" + name + "' must be a 64-bit integer, got " + kind(n));
        }
        return n.asLong();
    }

    boolean bool(String name, boolean dflt) {
        JsonNode n = get(name);
        if (n == null) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw ApiException.invalid(name, "'" + name + "' must be true or false, got " + kind(n));
        }
        return n.asBoolean();
    }

    String string(String name) {
        JsonNode n = get(name);
        if (n == null) {
            return null;
        }
        if (!n.isTextual()) {
            throw ApiException.invalid(name, "'" + name + "' must be a string, got " + kind(n));
        }
        return n.asText();
    }

    ObjectNode object(String name) {
        JsonNode n = get(name);
        if (n == null) {
            return null;
        }
        if (!n.isObject()) {
            throw ApiException.invalid(name, "'" + name + "' must be an object, got " + kind(n));
        }
        return (ObjectNode) n;
    }

    /** {@code stop}: a string or an array of up to 16 non-empty strings. */
    List<String> stop() {
        JsonNode n = get("stop");
        List<String> out = new ArrayList<>();
        if (n == null) {
            return out;
        }
        if (n.isTextual()) {
            out.add(n.asText());
        } else if (n.isArray()) {
            for (JsonNode s : n) {
                if (!s.isTextual()) {
                    throw ApiException.invalid("stop", "'stop' must be a string or an array of strings, found " + kind(s) + " in the array");
                }
                out.add(s.asText());
            }
        } else {
            throw ApiException.invalid("stop", "'stop' must be a string or an array of strings, got " + kind(n));
        }
        if (out.size() > 16) {
            throw ApiException.invalid("stop", "'stop' holds " + out.size() + " strings; at most 16 are allowed");
        }
        if (out.stream().anyMatch(String::isEmpty)) {
            throw ApiException.invalid("stop", "'stop' strings must not be empty");
        }
        return out;
    }

    static String kind(JsonNode n) {
        if (n.isTextual()) return "a string";
        if (n.isBoolean()) return "a boolean";
        if (n.isNumber()) return "the number " + n;
        if (n.isArray()) return "an array";
        if (n.isObject()) return "an object";
        return n.getNodeType().toString().toLowerCase();
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf((long) d) : String.valueOf(d);
    }
}
