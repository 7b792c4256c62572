package org.redhare.text.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What JSON a constrained generation may write: any JSON object (OpenAI's {@code json_object} response format), or the
 * JSON that a JSON Schema describes ({@code json_schema}), as a grammar {@link JsonMatcher} follows byte by byte.
 *
 * <p>Written here because constrained decoding needs a matcher that can be asked, for each token of the vocabulary,
 * whether its bytes may come next; the Java JSON Schema libraries validate finished documents only.
 *
 * <p>The schema subset: {@code type} (one or a list: object, array, string, number, integer, boolean, null),
 * {@code properties} with {@code required} (properties are written in the schema's order, the optional ones may be left
 * out; unless {@code additionalProperties} is false, other keys with any values may follow them; an object schema
 * without {@code properties} takes any keys), {@code items} with {@code minItems}/{@code maxItems}, strings' {@code minLength}/{@code maxLength} and {@code pattern} ({@link CharAutomaton}) or {@code format} (date,
 * time, date-time, uuid, ipv4, email), numbers' {@code minimum}/{@code maximum} (exclusive ones too; a bounded non-integer is written without an exponent),
 * {@code enum} and {@code const}, {@code anyOf}/{@code oneOf} (options are told apart by their first character, such
 * as a type and null; options that begin alike, such as two object shapes, are loosened into any object unless a first property with values
 * of their own tells the shapes apart, {@link #discriminated}), and {@code $ref} into {@code $defs} or {@code definitions} (recursion allowed). Keywords that only
 * narrow values (other formats, patterns with backreferences or lookaround, {@code multipleOf}, {@code uniqueItems}, ...) are not
 * enforced. Anything else
 * the grammar cannot honour is an {@link IllegalArgumentException} saying which part.
 */
public final class JsonSchemaGrammar {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a value may be. */
    sealed interface Node permits AnyValue, ObjectNode, ArrayNode, StringNode, NumberNode, Literals, Union, Ref, Tagged {}

    /** Any JSON value. */
    record AnyValue() implements Node {}

    /**
     * An object: its properties in order ({@code free}: any keys, any values). With {@code variants}, the second
     * property's value is the variant the first property's value (one of its {@link Literals}) picks: a tool call's
     * arguments, by the tool's name.
     */
    record ObjectNode(List<Property> properties, boolean free, List<Node> variants, boolean additional, List<ObjectNode> shapes,
                      int[] shapeOfValue) implements Node {
        ObjectNode(List<Property> properties, boolean free) {
            this(properties, free, null, false);
        }

        ObjectNode(List<Property> properties, boolean free, List<Node> variants, boolean additional) {
            this(properties, free, variants, additional, null, null);
        }

        /** Whether the declared property {@code name} exists. */
        boolean declares(byte[] quotedName) {
            for (Property p : properties) {
                if (java.util.Arrays.equals(p.quoted(), quotedName)) {
                    return true;
                }
            }
            return false;
        }

        /** The index of the first required property at or after {@code from}, or {@code properties.size()}. */
        int nextRequired(int from) {
            for (int i = from; i < properties.size(); i++) {
                if (properties.get(i).required()) {
                    return i;
                }
            }
            return properties.size();
        }
    }

    record Property(String name, byte[] quoted, Node value, boolean required) {}

    /**
     * A union of object shapes told apart by their first property (a discriminator such as {@code "kind": "cat"}): each
     * begins with the same required key whose values (const or enum) no other shape has. The result is an object whose
     * first property is that key with every shape's values; the value written picks the shape the rest of the object
     * follows ({@code shapes}, {@code shapeOfValue}). Null when the options are not such shapes.
     */
    static ObjectNode discriminated(List<Node> options) {
        List<ObjectNode> shapes = new ArrayList<>();
        for (Node o : options) {
            Node r = o;
            while (r instanceof Ref ref) {
                r = ref.target;
            }
            if (!(r instanceof ObjectNode obj) || obj.free() || obj.variants() != null || obj.shapes() != null || obj.properties().isEmpty()) {
                return null;
            }
            shapes.add(obj);
        }
        Property key = shapes.get(0).properties().get(0);
        List<byte[]> values = new ArrayList<>();
        List<Integer> owners = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) {
            Property first = shapes.get(i).properties().get(0);
            Node v = first.value();
            while (v instanceof Ref ref) {
                v = ref.target;
            }
            if (!first.required() || !java.util.Arrays.equals(first.quoted(), key.quoted()) || !(v instanceof Literals lits)) {
                return null;
            }
            for (byte[] t : lits.texts()) {
                for (byte[] seen : values) {
                    if (java.util.Arrays.equals(seen, t)) {
                        return null; // two shapes share a value: it cannot tell them apart
                    }
                }
                values.add(t);
                owners.add(i);
            }
        }
        return new ObjectNode(List.of(new Property(key.name(), key.quoted(), new Literals(List.copyOf(values)), true)), false, null,
                false, List.copyOf(shapes), owners.stream().mapToInt(Integer::intValue).toArray());
    }

    record ArrayNode(Node items, int minItems, int maxItems) implements Node {}

    /** A string of {@code minLength} to {@code maxLength} characters (an escape counts as one), matching {@code pattern} if not null. */
    record StringNode(int minLength, int maxLength, CharAutomaton pattern) implements Node {
        StringNode() {
            this(0, Integer.MAX_VALUE, null);
        }
    }

    /** The patterns of the formats the grammar holds (RFC 3339 dates and times, the offset optional; UUIDs; IPv4; plain e-mail addresses). */
    private static final Map<String, String> FORMATS = Map.of(
            "date", "^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$",
            "time", "^([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,9})?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)?$",
            "date-time", "^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,9})?"
                    + "(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)?$",
            "uuid", "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            "ipv4", "^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$",
            "email", "^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$");

    /**
     * A number; an integer when {@code integer}, then from {@code min} to {@code max}; otherwise within {@code range}
     * when that is not null (such a number is written without an exponent, so that its digits tell where it can end).
     */
    record NumberNode(boolean integer, long min, long max, Range range) implements Node {
        NumberNode(boolean integer) {
            this(integer, Long.MIN_VALUE, Long.MAX_VALUE, null);
        }

        boolean bounded() {
            return min != Long.MIN_VALUE || max != Long.MAX_VALUE;
        }
    }

    /** An interval of numbers; a null end is unbounded. */
    record Range(java.math.BigDecimal lo, boolean loExclusive, java.math.BigDecimal hi, boolean hiExclusive) {
        /** Whether the interval shares a number with {@code [a, b]} ({@code aOpen}/{@code bOpen}: those ends excluded; null: unbounded). */
        boolean meets(java.math.BigDecimal a, boolean aOpen, java.math.BigDecimal b, boolean bOpen) {
            java.math.BigDecimal low = lo;
            boolean lowOpen = loExclusive;
            if (a != null && (low == null || a.compareTo(low) > 0 || (a.compareTo(low) == 0 && aOpen))) {
                low = a;
                lowOpen = aOpen || (lo != null && a.compareTo(lo) == 0 && loExclusive);
            }
            java.math.BigDecimal high = hi;
            boolean highOpen = hiExclusive;
            if (b != null && (high == null || b.compareTo(high) < 0 || (b.compareTo(high) == 0 && bOpen))) {
                high = b;
                highOpen = bOpen || (hi != null && b.compareTo(hi) == 0 && hiExclusive);
            }
            if (low == null || high == null) {
                return true;
            }
            int c = low.compareTo(high);
            return c < 0 || (c == 0 && !lowOpen && !highOpen);
        }

        boolean contains(java.math.BigDecimal v) {
            return meets(v, false, v, false);
        }
    }

    /** One of these exact JSON texts (enum, const, true/false, null). */
    record Literals(List<byte[]> texts) implements Node {}

    /** One of these, told apart by their first character. */
    record Union(List<Node> options) implements Node {}

    /** Text that is not JSON, one of {@code tags} (none a prefix of another), then the value of the same index. */
    record Tagged(List<byte[]> tags, List<Node> values) implements Node {}

    /** A named definition, resolved when first used (so definitions may refer to themselves). */
    static final class Ref implements Node {
        final String ref;
        Node target;

        Ref(String ref) {
            this.ref = ref;
        }
    }

    static final Node ANY = new AnyValue();
    static final Node BOOLEAN = new Literals(List.of(bytes("true"), bytes("false")));
    static final Node NULL = new Literals(List.of(bytes("null")));
    static final ObjectNode FREE_OBJECT = new ObjectNode(List.of(), true);
    static final ArrayNode FREE_ARRAY = new ArrayNode(ANY, 0, Integer.MAX_VALUE);
    static final Literals KEYWORDS = new Literals(List.of(bytes("true"), bytes("false"), bytes("null")));

    private final Node root;
    private final boolean leadingWhitespace;
    private final byte[] suffix;

    private JsonSchemaGrammar(Node root) {
        this(root, false, null);
    }

    private JsonSchemaGrammar(Node root, boolean leadingWhitespace, byte[] suffix) {
        this.root = root;
        this.leadingWhitespace = leadingWhitespace;
        this.suffix = suffix;
    }

    Node root() {
        return root;
    }

    /**
     * One tool call's JSON, {@code {"name": NAME, "<argumentsKey>": ARGUMENTS}}, NAME one of {@code names} and ARGUMENTS
     * an object of that tool's {@code parameters} schema (any object where the schema is one this grammar cannot
     * follow, or null); whitespace may come first, and {@code suffix} (after optional whitespace) closes it, if not null.
     */
    public static JsonSchemaGrammar toolCall(List<String> names, List<JsonNode> parameters, String argumentsKey, String suffix) {
        return new JsonSchemaGrammar(callNode(names, parameters, argumentsKey), true, suffix != null ? bytes(suffix) : null);
    }

    /**
     * One tool call written as text, then JSON: {@code before + NAME + between}, NAME one of {@code names}, then an
     * object of that tool's {@code parameters} schema, then {@code suffix} (DeepSeek-V3's
     * {@code function<｜tool▁sep｜>NAME\n```json\n{...}\n```<｜tool▁call▁end｜>}). Names must not contain {@code between}.
     */
    public static JsonSchemaGrammar taggedToolCall(List<String> names, List<JsonNode> parameters, String before, String between, String suffix) {
        if (names.isEmpty() || names.size() != parameters.size()) {
            throw new IllegalArgumentException("a tool call needs one parameters schema (or null) per name");
        }
        List<byte[]> tags = new ArrayList<>();
        for (String name : names) {
            tags.add(bytes(before + name + between));
        }
        return new JsonSchemaGrammar(new Tagged(List.copyOf(tags), argumentNodes(parameters)), false, bytes(suffix));
    }

    /** A JSON array of one or more tool calls as {@link #toolCall} describes each (Mistral's {@code [TOOL_CALLS]} list). */
    public static JsonSchemaGrammar toolCallList(List<String> names, List<JsonNode> parameters, String argumentsKey) {
        return new JsonSchemaGrammar(new ArrayNode(callNode(names, parameters, argumentsKey), 1, Integer.MAX_VALUE), true, null);
    }

    private static ObjectNode callNode(List<String> names, List<JsonNode> parameters, String argumentsKey) {
        if (names.isEmpty() || names.size() != parameters.size()) {
            throw new IllegalArgumentException("a tool call needs one parameters schema (or null) per name");
        }
        List<byte[]> quoted = new ArrayList<>();
        for (String name : names) {
            quoted.add(quote(name));
        }
        return new ObjectNode(List.of(new Property("name", quote("name"), new Literals(List.copyOf(quoted)), true),
                new Property(argumentsKey, quote(argumentsKey), ANY, true)), false, argumentNodes(parameters), false);
    }

    /** Each tool's arguments: an object of its parameters schema, or any object where there is none or the grammar cannot follow it. */
    private static List<Node> argumentNodes(List<JsonNode> parameters) {
        List<Node> out = new ArrayList<>();
        for (JsonNode schema : parameters) {
            Node args = FREE_OBJECT;
            if (schema != null && schema.isObject() && !schema.isEmpty()) {
                try {
                    Compiler c = new Compiler(schema);
                    Node n = c.compile(schema, "parameters");
                    c.resolveAll();
                    Node r = n instanceof Ref ref ? ref.target : n;
                    args = r instanceof ObjectNode ? n : FREE_OBJECT;
                } catch (IllegalArgumentException e) {
                    args = FREE_OBJECT; // a schema the grammar cannot follow: the arguments are any object
                }
            }
            out.add(args);
        }
        return List.copyOf(out);
    }

    private static byte[] quote(String s) {
        try {
            return JSON.writeValueAsBytes(s);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Any JSON object: OpenAI's {@code response_format: {"type": "json_object"}}. */
    public static JsonSchemaGrammar anyObject() {
        return new JsonSchemaGrammar(FREE_OBJECT);
    }

    /** The JSON {@code schema} describes; its root must be an object or an array (so that the end is seen). */
    public static JsonSchemaGrammar fromSchema(JsonNode schema) {
        Compiler c = new Compiler(schema);
        Node root = c.compile(schema, "schema");
        c.resolveAll();
        Node r = root instanceof Ref ref ? ref.target : root;
        if (!(r instanceof ObjectNode) && !(r instanceof ArrayNode)) {
            throw new IllegalArgumentException("the schema's root must be an object or an array (the end of a number or string at the top"
                    + " level cannot be told apart from more of it)");
        }
        return new JsonSchemaGrammar(root);
    }

    public static JsonSchemaGrammar fromSchema(String schemaJson) {
        try {
            return fromSchema(JSON.readTree(schemaJson));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("the schema is not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** A matcher at the start of the document. */
    public JsonMatcher matcher() {
        return new JsonMatcher(root, leadingWhitespace, suffix);
    }

    /** A matcher that lets whitespace come first: for a document that follows other text, such as a model's reasoning. */
    public JsonMatcher matcherAfterText() {
        return new JsonMatcher(root, true, suffix);
    }

    static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Turns schema JSON into nodes. */
    private static final class Compiler {
        private final JsonNode document;
        private final Map<String, Ref> refs = new HashMap<>();

        Compiler(JsonNode document) {
            this.document = document;
        }

        Node compile(JsonNode s, String where) {
            if (s == null || s.isNull() || (s.isBoolean() && s.asBoolean()) || (s.isObject() && s.isEmpty())) {
                return ANY;
            }
            if (!s.isObject()) {
                throw new IllegalArgumentException(where + " must be a JSON Schema object, got " + s);
            }
            if (s.has("$ref")) {
                String ref = s.get("$ref").asText();
                return refs.computeIfAbsent(ref, Ref::new);
            }
            if (s.has("const")) {
                return new Literals(List.of(literal(s.get("const"), where + ".const")));
            }
            if (s.has("enum")) {
                JsonNode e = s.get("enum");
                if (!e.isArray() || e.isEmpty()) {
                    throw new IllegalArgumentException(where + ".enum must be a non-empty array");
                }
                List<byte[]> texts = new ArrayList<>();
                for (JsonNode v : e) {
                    texts.add(literal(v, where + ".enum"));
                }
                return new Literals(texts);
            }
            for (String key : new String[] {"anyOf", "oneOf"}) {
                if (s.has(key)) {
                    JsonNode list = s.get(key);
                    if (!list.isArray() || list.isEmpty()) {
                        throw new IllegalArgumentException(where + "." + key + " must be a non-empty array");
                    }
                    List<Node> options = new ArrayList<>();
                    for (int i = 0; i < list.size(); i++) {
                        options.add(compile(list.get(i), where + "." + key + "[" + i + "]"));
                    }
                    return union(options, where + "." + key);
                }
            }
            if (s.has("allOf")) {
                JsonNode list = s.get("allOf");
                if (list.isArray() && list.size() == 1) {
                    return compile(list.get(0), where + ".allOf[0]");
                }
                throw new IllegalArgumentException(where + ".allOf with more than one schema is not supported");
            }
            JsonNode type = s.get("type");
            if (type == null) {
                if (s.has("properties")) {
                    return object(s, where);
                }
                if (s.has("items")) {
                    return array(s, where);
                }
                return ANY;
            }
            if (type.isArray()) {
                List<Node> options = new ArrayList<>();
                for (JsonNode t : type) {
                    options.add(typed(t.asText(), s, where));
                }
                return options.size() == 1 ? options.get(0) : union(options, where + ".type");
            }
            return typed(type.asText(), s, where);
        }

        Node typed(String type, JsonNode s, String where) {
            return switch (type) {
                case "object" -> object(s, where);
                case "array" -> array(s, where);
                case "string" -> string(s, where);
                case "number" -> number(s, where);
                case "integer" -> integer(s, where);
                case "boolean" -> BOOLEAN;
                case "null" -> NULL;
                default -> throw new IllegalArgumentException(where + ".type '" + type + "' is not a JSON Schema type");
            };
        }

        Node object(JsonNode s, String where) {
            JsonNode props = s.get("properties");
            if (props == null || !props.isObject() || props.isEmpty()) {
                return new ObjectNode(List.of(), true);
            }
            Set<String> required = new LinkedHashSet<>();
            JsonNode req = s.get("required");
            if (req != null && req.isArray()) {
                for (JsonNode r : req) {
                    required.add(r.asText());
                }
            }
            List<Property> out = new ArrayList<>();
            var it = props.fields();
            while (it.hasNext()) {
                var e = it.next();
                String name = e.getKey();
                byte[] quoted;
                try {
                    quoted = JSON.writeValueAsBytes(name);
                } catch (com.fasterxml.jackson.core.JsonProcessingException x) {
                    throw new IllegalStateException(x);
                }
                out.add(new Property(name, quoted, compile(e.getValue(), where + ".properties." + name), required.contains(name)));
            }
            for (String r : required) {
                if (!props.has(r)) {
                    throw new IllegalArgumentException(where + ".required names '" + r + "', which is not among its properties");
                }
            }
            // additionalProperties absent or not false: other keys may follow the declared ones (as llama.cpp's grammars)
            JsonNode extra = s.get("additionalProperties");
            boolean additional = extra == null || !(extra.isBoolean() && !extra.asBoolean());
            return new ObjectNode(List.copyOf(out), false, null, additional);
        }

        /** An integer with its bounds: minimum/maximum, and exclusiveMinimum/exclusiveMaximum as numbers (or draft 4's booleans). */
        Node integer(JsonNode s, String where) {
            long min = Long.MIN_VALUE;
            long max = Long.MAX_VALUE;
            JsonNode lo = s.get("minimum");
            JsonNode hi = s.get("maximum");
            JsonNode xlo = s.get("exclusiveMinimum");
            JsonNode xhi = s.get("exclusiveMaximum");
            if (lo != null && lo.isNumber()) {
                boolean open = xlo != null && xlo.isBoolean() && xlo.asBoolean(); // draft 4
                min = open ? bound(Math.floor(lo.asDouble()), 1, where) : bound(Math.ceil(lo.asDouble()), 0, where);
            }
            if (xlo != null && xlo.isNumber()) {
                min = Math.max(min, bound(Math.floor(xlo.asDouble()), 1, where));
            }
            if (hi != null && hi.isNumber()) {
                boolean open = xhi != null && xhi.isBoolean() && xhi.asBoolean();
                max = open ? bound(Math.ceil(hi.asDouble()), -1, where) : bound(Math.floor(hi.asDouble()), 0, where);
            }
            if (xhi != null && xhi.isNumber()) {
                max = Math.min(max, bound(Math.ceil(xhi.asDouble()), -1, where));
            }
            if (min > max) {
                throw new IllegalArgumentException(where + ": the bounds admit no integer (from " + min + " to " + max + ")");
            }
            return new NumberNode(true, min, max, null);
        }

        /** A number with its bounds (minimum/maximum, exclusive ones as numbers or draft 4's booleans), or any number. */
        Node number(JsonNode s, String where) {
            java.math.BigDecimal lo = null;
            java.math.BigDecimal hi = null;
            boolean loOpen = false;
            boolean hiOpen = false;
            JsonNode xlo = s.get("exclusiveMinimum");
            JsonNode xhi = s.get("exclusiveMaximum");
            if (s.path("minimum").isNumber()) {
                lo = s.get("minimum").decimalValue();
                loOpen = xlo != null && xlo.isBoolean() && xlo.asBoolean();
            }
            if (xlo != null && xlo.isNumber() && (lo == null || xlo.decimalValue().compareTo(lo) >= 0)) {
                lo = xlo.decimalValue();
                loOpen = true;
            }
            if (s.path("maximum").isNumber()) {
                hi = s.get("maximum").decimalValue();
                hiOpen = xhi != null && xhi.isBoolean() && xhi.asBoolean();
            }
            if (xhi != null && xhi.isNumber() && (hi == null || xhi.decimalValue().compareTo(hi) <= 0)) {
                hi = xhi.decimalValue();
                hiOpen = true;
            }
            if (lo == null && hi == null) {
                return new NumberNode(false);
            }
            Range r = new Range(lo, loOpen, hi, hiOpen);
            if (lo != null && hi != null && !r.meets(lo, loOpen, hi, hiOpen)) {
                throw new IllegalArgumentException(where + ": the bounds admit no number (from " + lo + " to " + hi + ")");
            }
            return new NumberNode(false, Long.MIN_VALUE, Long.MAX_VALUE, r);
        }

        private static long bound(double v, int shift, String where) {
            if (Math.abs(v) > 1e18) {
                throw new IllegalArgumentException(where + ": an integer bound beyond 10^18 (" + v + ") is not supported");
            }
            return (long) v + shift;
        }

        Node string(JsonNode s, String where) {
            int min = s.path("minLength").asInt(0);
            int max = s.has("maxLength") ? s.get("maxLength").asInt() : Integer.MAX_VALUE;
            if (min < 0 || max < min) {
                throw new IllegalArgumentException(where + ": minLength " + min + " and maxLength " + max + " admit no string");
            }
            CharAutomaton pattern = null;
            String source = s.path("pattern").isTextual() ? s.get("pattern").asText() : FORMATS.get(s.path("format").asText(""));
            if (source != null) {
                try {
                    pattern = CharAutomaton.compile(source);
                } catch (IllegalArgumentException e) {
                    pattern = null; // backreferences, lookaround: a pattern the grammar cannot follow character by character is not enforced
                }
            }
            return new StringNode(min, max, pattern);
        }

        Node array(JsonNode s, String where) {
            int min = s.path("minItems").asInt(0);
            int max = s.has("maxItems") ? s.get("maxItems").asInt() : Integer.MAX_VALUE;
            if (min < 0 || max < min) {
                throw new IllegalArgumentException(where + ": minItems " + min + " and maxItems " + max + " admit no array");
            }
            return new ArrayNode(compile(s.get("items"), where + ".items"), min, max);
        }

        /**
         * One of {@code options}, told apart by the first character. Options that begin alike (two object shapes, an
         * integer and a number) cannot be told apart byte by byte, so they are loosened into one: any object, any
         * array, any number, any string, or all their literals together; anything with a value of any kind makes the
         * whole union any value.
         */
        Node union(List<Node> options, String where) {
            List<Node> flat = new ArrayList<>();
            for (Node o : options) {
                if (o instanceof Union u) {
                    flat.addAll(u.options());
                } else {
                    flat.add(o);
                }
            }
            if (flat.stream().anyMatch(o -> o instanceof AnyValue)) {
                return ANY;
            }
            Map<Character, List<Node>> byFirst = new java.util.LinkedHashMap<>();
            for (Node o : flat) {
                for (char c : firstChars(o).toCharArray()) {
                    byFirst.computeIfAbsent(c, x -> new ArrayList<>()).add(o);
                }
            }
            Set<Node> clashing = new java.util.LinkedHashSet<>();
            for (List<Node> group : byFirst.values()) {
                if (group.size() > 1) {
                    clashing.addAll(group);
                }
            }
            if (clashing.isEmpty()) {
                return flat.size() == 1 ? flat.get(0) : new Union(List.copyOf(flat));
            }
            List<Node> out = new ArrayList<>();
            for (Node o : flat) {
                if (!clashing.contains(o)) {
                    out.add(o);
                }
            }
            List<byte[]> literals = new ArrayList<>();
            List<Node> objectShapes = new ArrayList<>();
            boolean objects = false, arrays = false, strings = false, numbers = false;
            for (Node o : clashing) {
                switch (o) {
                    case ObjectNode x -> {
                        objects = true;
                        objectShapes.add(x);
                    }
                    case ArrayNode x -> arrays = true;
                    case StringNode x -> strings = true;
                    case NumberNode x -> numbers = true;
                    case Literals l -> literals.addAll(l.texts());
                    default -> { return ANY; } // an unresolved reference among clashing options: any value
                }
            }
            if (objects) {
                ObjectNode d = discriminated(objectShapes); // shapes told apart by their first property, else any object
                out.add(d != null ? d : FREE_OBJECT);
            }
            if (arrays) {
                out.add(FREE_ARRAY);
            }
            // literals that begin like a string or a number go with it; the others stay literals, all in one set
            List<byte[]> kept = new ArrayList<>();
            for (byte[] t : literals) {
                boolean quoted = t[0] == '"';
                boolean numeric = t[0] == '-' || (t[0] >= '0' && t[0] <= '9');
                if (!(quoted && strings) && !(numeric && numbers)) {
                    kept.add(t);
                }
            }
            if (strings) {
                out.add(new StringNode());
            }
            if (numbers) {
                out.add(new NumberNode(false));
            }
            if (!kept.isEmpty()) {
                out.add(new Literals(List.copyOf(kept)));
            }
            Set<Character> firsts = new java.util.HashSet<>();
            for (Node o : out) {
                for (char c : firstChars(o).toCharArray()) {
                    if (!firsts.add(c)) {
                        return ANY; // still alike (not expected after loosening): any value
                    }
                }
            }
            return out.size() == 1 ? out.get(0) : new Union(List.copyOf(out));
        }

        private String firstChars(Node n) {
            return switch (n) {
                case AnyValue a -> "{[\"-0123456789tfn";
                case ObjectNode o -> "{";
                case ArrayNode a -> "[";
                case StringNode s -> "\"";
                case NumberNode x -> "-0123456789";
                case Literals l -> {
                    StringBuilder b = new StringBuilder();
                    for (byte[] t : l.texts()) {
                        char c = (char) t[0];
                        if (b.indexOf(String.valueOf(c)) < 0) {
                            b.append(c);
                        }
                    }
                    yield b.toString();
                }
                case Union u -> {
                    StringBuilder b = new StringBuilder();
                    u.options().forEach(o -> b.append(firstChars(o)));
                    yield b.toString();
                }
                case Ref r -> r.target != null ? firstChars(r.target) : ""; // not resolved yet: the matcher takes the first option that fits
                case Tagged t -> {
                    StringBuilder b = new StringBuilder();
                    t.tags().forEach(x -> b.append((char) x[0]));
                    yield b.toString();
                }
            };
        }

        private byte[] literal(JsonNode v, String where) {
            if (v.isObject() || v.isArray()) {
                throw new IllegalArgumentException(where + ": object and array values are not supported, got " + v);
            }
            try {
                return JSON.writeValueAsBytes(v);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        void resolveAll() {
            // definitions may add refs of their own: resolve until none is left
            boolean more = true;
            while (more) {
                more = false;
                for (Ref r : List.copyOf(refs.values())) {
                    if (r.target == null) {
                        r.target = resolve(r.ref);
                        more = true;
                    }
                }
            }
            for (Ref r : refs.values()) {
                Set<Ref> seen = new java.util.HashSet<>();
                Node t = r.target;
                while (t instanceof Ref next) {
                    if (!seen.add(next)) {
                        throw new IllegalArgumentException("$ref " + r.ref + " refers only to itself");
                    }
                    t = next.target;
                }
            }
        }

        private Node resolve(String ref) {
            String path;
            if (ref.startsWith("#/$defs/")) {
                path = "$defs";
            } else if (ref.startsWith("#/definitions/")) {
                path = "definitions";
            } else if (ref.equals("#")) {
                return compile(document, "#");
            } else {
                throw new IllegalArgumentException("$ref " + ref + " is not supported: use #, #/$defs/NAME or #/definitions/NAME");
            }
            String name = ref.substring(path.length() + 3).replace("~1", "/").replace("~0", "~");
            JsonNode def = document.path(path).get(name);
            if (def == null) {
                throw new IllegalArgumentException("$ref " + ref + " names no definition");
            }
            return compile(def, ref);
        }
    }
}
