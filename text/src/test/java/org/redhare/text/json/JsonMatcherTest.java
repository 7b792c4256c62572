package org.redhare.text.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class JsonMatcherTest {
    static final ObjectMapper JSON = new ObjectMapper();

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Fed one byte at a time: true if every byte was taken and the document is whole. */
    private static boolean whole(JsonSchemaGrammar g, String doc) {
        JsonMatcher m = g.matcher();
        for (byte x : b(doc)) {
            if (!m.accept(new byte[] {x})) {
                return false;
            }
        }
        return m.complete();
    }

    /** Whether the text is a possible beginning (every byte taken). */
    private static boolean prefix(JsonSchemaGrammar g, String text) {
        return g.matcher().accept(b(text));
    }

    @Test
    void anyObjectTakesJsonObjectsAndNothingElse() throws Exception {
        JsonSchemaGrammar g = JsonSchemaGrammar.anyObject();
        for (String ok : new String[] {"{}", "{\"a\":1}", "{\n  \"a\": [1, -2.5e+3, 0, 0.25, true, false, null],\n  \"b\": {\"c\": \"x\\\"y\\\\z\\u00e9\\n\"}\n}",
                "{\"caf\u00e9\": \"\u4e2d\u6587 \uD83D\uDE00\"}", "{\"a\":[],\"b\":{},\"c\":[[]]}", "{\"e\":1E5,\"f\":-0.0}", "{\"a\":1} \n"}) {
            assertThat(whole(g, ok)).as(ok).isTrue();
            assertThat(JSON.readTree(ok).isObject()).isTrue(); // the documents are JSON indeed
        }
        for (String bad : new String[] {"[]", "\"a\"", "1", "{,}", "{\"a\" 1}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":tru}", "{\"a\":-}",
                "{\"a\":1.}", "{\"a\":1e}", "{'a':1}", "{\"a\":\"\u0001\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":[1 2]}", "{a:1}",
                "{\"a\":1}}", "{\"a\":1} x", " {}", "\n{}"}) {
            assertThat(whole(g, bad)).as(bad).isFalse();
        }
        assertThat(prefix(g, "{\"a\": [1, {\"b\": \"unfinished")).isTrue();
        assertThat(g.matcher().complete()).isFalse();
    }

    @Test
    void utf8IsCheckedAcrossSplitsAndTheMatcherOnlyMovesOnAccept() {
        JsonSchemaGrammar g = JsonSchemaGrammar.anyObject();
        JsonMatcher m = g.matcher();
        byte[] e = b("\u00e9"); // C3 A9, written in two tokens
        assertThat(m.accept(b("{\"k\":\""))).isTrue();
        assertThat(m.accept(new byte[] {e[0]})).isTrue();
        assertThat(m.allows(b("\""))).as("a character cut short").isFalse();
        assertThat(m.allows(new byte[] {(byte) 0xC3})).as("a lead byte where a continuation must come").isFalse();
        assertThat(m.accept(new byte[] {e[1]})).isTrue();
        assertThat(m.allows(new byte[] {(byte) 0xA9})).as("a stray continuation").isFalse();
        assertThat(m.allows(new byte[] {(byte) 0xFF})).isFalse();
        assertThat(m.allows(b("\"}"))).isTrue();
        assertThat(m.complete()).as("allows takes nothing").isFalse();
        assertThat(m.accept(b("\"}"))).isTrue();
        assertThat(m.complete()).isTrue();
        assertThat(m.allows(b(" x"))).as("nothing but whitespace after the end").isFalse();
        assertThat(m.allows(b("}"))).isFalse();
    }

    @Test
    void theClosingTokenMayCarryWhitespace() {
        // "}\n\n" is one token in most vocabularies: it closes the document, and the document stays whole after it
        JsonMatcher m = JsonSchemaGrammar.anyObject().matcher();
        assertThat(m.accept(b("{\"a\": [1, 2]"))).isTrue();
        assertThat(m.allows(b("}\n\n"))).isTrue();
        assertThat(m.allows(b("}\n\nNext"))).isFalse();
        assertThat(m.accept(b("}\n\n"))).isTrue();
        assertThat(m.complete()).isTrue();
        assertThat(m.accept(b(" ".repeat(JsonMatcher.MAX_WHITESPACE - 2)))).isTrue();
        assertThat(m.allows(b(" "))).as("bounded like any whitespace run").isFalse();
        assertThat(m.complete()).isTrue();
    }

    @Test
    void stringLengthsAreCountedInCharacters() {
        JsonSchemaGrammar g = JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\","
                + "\"minLength\":2,\"maxLength\":4}},\"required\":[\"code\"],\"additionalProperties\":false}");
        assertThat(whole(g, "{\"code\":\"ab\"}")).isTrue();
        assertThat(whole(g, "{\"code\":\"abcd\"}")).isTrue();
        assertThat(whole(g, "{\"code\":\"a\"}")).as("too short").isFalse();
        assertThat(prefix(g, "{\"code\":\"abcde")).as("too long").isFalse();
        assertThat(whole(g, "{\"code\":\"\u00e9\u20ac\u4e2d\uD83D\uDE00\"}")).as("four characters, twelve bytes").isTrue();
        assertThat(whole(g, "{\"code\":\"\\n\\t\"}")).as("an escape is a character").isTrue();
        assertThat(prefix(g, "{\"code\":\"a\\u00e9bcd")).isFalse();
        assertThat(whole(JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"string\"}}}"),
                "{\"k\":\"" + "x".repeat(5000) + "\"}")).as("no bounds, no limit").isTrue();
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"string\","
                + "\"minLength\":3,\"maxLength\":2}}}")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("admit no string");
    }

    /**
     * Object shapes in a union (Pydantic's, behind $refs or inline) begin alike: told apart by a first property whose
     * values only one shape has, else loosened to any object; never forced to the first shape.
     */
    @Test
    void shapesBehindRefsThatBeginAlikeAreNotForcedToTheFirst() {
        JsonSchemaGrammar g = JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"pet\":{\"anyOf\":[{\"$ref\":\"#/$defs/Cat\"},"
                + "{\"$ref\":\"#/$defs/Dog\"}]}},\"required\":[\"pet\"],\"$defs\":{"
                + "\"Cat\":{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"cat\"},\"meows\":{\"type\":\"boolean\"}},\"required\":[\"kind\",\"meows\"]},"
                + "\"Dog\":{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"dog\"},\"barks\":{\"type\":\"integer\"}},\"required\":[\"kind\",\"barks\"]}}}");
        assertThat(whole(g, "{\"pet\":{\"kind\":\"cat\",\"meows\":true}}")).isTrue();
        assertThat(whole(g, "{\"pet\":{\"kind\":\"dog\",\"barks\":3}}")).as("the second shape").isTrue();
        assertThat(whole(g, "{\"pet\":[1]}")).as("still an object").isFalse();
        assertThat(whole(g, "{\"pet\":{\"kind\":\"dog\",\"meows\":true}}")).as("the kind picks the shape").isFalse();
        assertThat(prefix(g, "{\"pet\":{\"kind\":\"cow")).as("no such kind").isFalse();
        assertThat(prefix(g, "{\"pet\":{\"barks\"")).as("the discriminator first").isFalse();
        // inline shapes, and shapes with no discriminator (loosened)
        JsonSchemaGrammar inline = JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":["
                + "{\"type\":\"object\",\"properties\":{\"t\":{\"enum\":[\"x\",\"y\"]},\"n\":{\"type\":\"integer\"}},\"required\":[\"t\",\"n\"]},"
                + "{\"type\":\"object\",\"properties\":{\"t\":{\"const\":\"z\"},\"s\":{\"type\":\"string\"}},\"required\":[\"t\",\"s\"]}]}},"
                + "\"required\":[\"a\"]}");
        assertThat(whole(inline, "{\"a\":{\"t\":\"y\",\"n\":1}}")).isTrue();
        assertThat(whole(inline, "{\"a\":{\"t\":\"z\",\"s\":\"q\"}}")).isTrue();
        assertThat(whole(inline, "{\"a\":{\"t\":\"z\",\"n\":1}}")).isFalse();
        JsonSchemaGrammar loose = JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":["
                + "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}}},{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\"}}}]}}}");
        assertThat(whole(loose, "{\"a\":{\"anything\":[true]}}")).as("no discriminator: any object").isTrue();
    }

    @Test
    void patternsAndFormatsHoldCharacterByCharacter() {
        JsonSchemaGrammar g = JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{"
                + "\"code\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{3}-\\\\d{3}$\"},"
                + "\"day\":{\"type\":\"string\",\"format\":\"date\"},"
                + "\"id\":{\"type\":\"string\",\"format\":\"uuid\"},"
                + "\"two\":{\"type\":\"string\",\"pattern\":\"^a\\\\nb$\"},"
                + "\"free\":{\"type\":\"string\",\"pattern\":\"(a)\\\\1\"}},\"additionalProperties\":false}");
        assertThat(whole(g, "{\"code\":\"ABC-123\"}")).isTrue();
        assertThat(whole(g, "{\"code\":\"\\u0041BC-123\"}")).as("an escaped character is that character").isTrue();
        assertThat(prefix(g, "{\"code\":\"AB-")).as("a fourth letter must come").isFalse();
        assertThat(prefix(g, "{\"code\":\"ABC-12")).isTrue();
        assertThat(whole(g, "{\"code\":\"ABC-12\"}")).as("the pattern is not whole").isFalse();
        assertThat(whole(g, "{\"day\":\"2026-12-02\"}")).isTrue();
        assertThat(prefix(g, "{\"day\":\"2026-13")).as("no month 13").isFalse();
        assertThat(prefix(g, "{\"day\":\"tomorrow")).isFalse();
        assertThat(whole(g, "{\"id\":\"123e4567-e89b-12d3-a456-426614174000\"}")).isTrue();
        assertThat(prefix(g, "{\"id\":\"123e4567-e89b-12d3-a456-42661417400g")).isFalse();
        assertThat(whole(g, "{\"two\":\"a\\nb\"}")).as("a newline written as an escape").isTrue();
        assertThat(whole(g, "{\"free\":\"anything at all\"}")).as("a backreference cannot be followed: not enforced").isTrue();
    }

    @Test
    void numberBoundsHoldWithoutExponents() {
        JsonSchemaGrammar g = JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{"
                + "\"p\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1},"
                + "\"t\":{\"type\":\"number\",\"exclusiveMinimum\":-2.5,\"exclusiveMaximum\":100}},\"additionalProperties\":false}");
        for (String ok : new String[] {"0", "1", "0.5", "0.999", "1.0", "1.000", "-0", "0.0"}) {
            assertThat(whole(g, "{\"p\":" + ok + "}")).as(ok).isTrue();
        }
        for (String bad : new String[] {"1.01", "2", "-0.1", "10", "1e-3", "0.5e0", ".5", "01"}) {
            assertThat(whole(g, "{\"p\":" + bad + "}")).as(bad).isFalse();
        }
        assertThat(prefix(g, "{\"p\":2")).as("nothing from 2 on fits").isFalse();
        assertThat(prefix(g, "{\"p\":1.0")).isTrue();
        assertThat(prefix(g, "{\"p\":1.1")).isFalse();
        for (String ok : new String[] {"-2.4", "-2.49", "99.99", "0", "42"}) {
            assertThat(whole(g, "{\"t\":" + ok + "}")).as(ok).isTrue();
        }
        for (String bad : new String[] {"-2.5", "-3", "100", "100.0", "-2.50"}) {
            assertThat(whole(g, "{\"t\":" + bad + "}")).as(bad).isFalse();
        }
        assertThat(whole(JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"number\"}}}"),
                "{\"x\":-1.5e+10}")).as("an unbounded number may take an exponent").isTrue();
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"number\","
                + "\"minimum\":1,\"exclusiveMaximum\":1}}}")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("admit no number");
    }

    @Test
    void integerBoundsHoldDigitByDigit() {
        JsonSchemaGrammar g = JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{"
                + "\"score\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10},"
                + "\"t\":{\"type\":\"integer\",\"exclusiveMinimum\":-5,\"exclusiveMaximum\":0}},\"additionalProperties\":false}");
        for (String ok : new String[] {"1", "7", "10"}) {
            assertThat(whole(g, "{\"score\":" + ok + "}")).as(ok).isTrue();
        }
        for (String bad : new String[] {"0", "11", "100", "-1", "01", "1.5", "5e0"}) {
            assertThat(whole(g, "{\"score\":" + bad + "}")).as(bad).isFalse();
        }
        assertThat(prefix(g, "{\"score\":11")).as("no number that begins 11 fits").isFalse();
        assertThat(prefix(g, "{\"score\":1")).as("1 and 10 do").isTrue();
        for (String ok : new String[] {"-4", "-1"}) {
            assertThat(whole(g, "{\"t\":" + ok + "}")).as(ok).isTrue();
        }
        for (String bad : new String[] {"-5", "0", "-0", "3", "-10"}) {
            assertThat(whole(g, "{\"t\":" + bad + "}")).as(bad).isFalse();
        }
        // large bounds: every digit count up to the limit stays possible
        JsonSchemaGrammar big = JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\","
                + "\"minimum\":-1000000,\"maximum\":123456789012}}}");
        assertThat(whole(big, "{\"n\":123456789012}")).isTrue();
        assertThat(whole(big, "{\"n\":123456789013}")).isFalse();
        assertThat(whole(big, "{\"n\":-1000000}")).isTrue();
        assertThat(prefix(big, "{\"n\":-1000001")).isFalse();
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"integer\","
                + "\"minimum\":3,\"maximum\":2}}}")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("admit no integer");
    }

    /** DeepSeek-V3's call: text naming the tool, then that tool's arguments as JSON, then the closing text. */
    @Test
    void taggedCallsPickTheSchemaByTheirName() throws Exception {
        List<JsonNode> params = List.of(JSON.readTree("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                + "\"required\":[\"city\"],\"additionalProperties\":false}"), JSON.readTree("{}"));
        JsonSchemaGrammar g = JsonSchemaGrammar.taggedToolCall(List.of("get_weather", "get_time"), params, "function<sep>", "\n```json\n",
                "```<end>");
        assertThat(whole(g, "function<sep>get_weather\n```json\n{\"city\": \"Paris\"}\n```<end>")).isTrue();
        assertThat(whole(g, "function<sep>get_time\n```json\n{\"zone\": [1, {}]}```<end>")).as("any object for the second").isTrue();
        assertThat(whole(g, "function<sep>get_weather\n```json\n{\"zone\": \"UTC\"}\n```<end>")).as("the first tool's schema").isFalse();
        assertThat(prefix(g, "function<sep>get_wea")).isTrue();
        assertThat(prefix(g, "function<sep>get_wet")).as("no such tool").isFalse();
        assertThat(prefix(g, "function<sep>get_time\n```json\n ")).as("the JSON right after the fence").isFalse();
        assertThat(whole(g, "function<sep>get_time\n```json\n{}\n```")).as("the closing text").isFalse();
        assertThat(whole(g, "function<sep>get_time\n```json\n{}")).isFalse();
        // V3.1's shorter form: the name, the separator, the arguments, the end
        JsonSchemaGrammar v31 = JsonSchemaGrammar.taggedToolCall(List.of("get_weather", "get_time"), params, "", "<sep>", "<end>");
        assertThat(whole(v31, "get_weather<sep>{\"city\":\"Oslo\"}<end>")).isTrue();
        assertThat(whole(v31, "get_weather<sep>{}<end>")).as("city is required").isFalse();
    }

    @Test
    void whitespaceAndDigitsAreBounded() {
        JsonSchemaGrammar g = JsonSchemaGrammar.anyObject();
        assertThat(prefix(g, "{" + " ".repeat(JsonMatcher.MAX_WHITESPACE))).isTrue();
        assertThat(prefix(g, "{" + " ".repeat(JsonMatcher.MAX_WHITESPACE + 1))).isFalse();
        assertThat(prefix(g, "{\"a\":" + "9".repeat(JsonMatcher.MAX_DIGITS))).isTrue();
        assertThat(prefix(g, "{\"a\":" + "9".repeat(JsonMatcher.MAX_DIGITS + 1))).isFalse();
    }

    static final String PERSON = """
            {"type": "object",
             "properties": {
               "name": {"type": "string", "minLength": 1, "maxLength": 40},
               "age": {"type": "integer", "minimum": 0, "maximum": 150},
               "born": {"type": "string", "format": "date"},
               "share": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
               "nick": {"type": ["string", "null"]},
               "role": {"enum": ["admin", "user", 7, null]},
               "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "minItems": 1, "maxItems": 2},
               "boss": {"$ref": "#/$defs/Person"}
             },
             "required": ["name", "age", "tags"],
             "additionalProperties": false,
             "$defs": {"Person": {"type": "object", "properties": {"name": {"type": "string"}, "boss": {"anyOf": [{"$ref": "#/$defs/Person"},
               {"type": "null"}]}}, "required": ["name", "boss"]}}}
            """;

    @Test
    void schemasFixTheKeysTheirOrderAndTheTypes() {
        JsonSchemaGrammar g = JsonSchemaGrammar.fromSchema(PERSON);
        assertThat(whole(g, "{\"name\":\"Ann\",\"age\":41,\"tags\":[\"a\"]}")).isTrue();
        assertThat(whole(g, "{\"name\": \"Ann\", \"age\": 3, \"nick\": null, \"role\": 7, \"tags\": [\"b\", \"a\"],"
                + " \"boss\": {\"name\": \"Bo\", \"boss\": {\"name\": \"Cy\", \"boss\": null}}}")).isTrue();
        assertThat(whole(g, "{\"name\":\"Ann\",\"age\":41,\"role\":\"user\",\"tags\":[\"a\"]}")).isTrue();
        for (String bad : new String[] {
            "{\"age\":41,\"name\":\"Ann\",\"tags\":[\"a\"]}",       // out of order
            "{\"name\":\"Ann\",\"tags\":[\"a\"]}",                  // a required key left out
            "{\"name\":\"Ann\",\"age\":41}",                        // tags required
            "{\"name\":\"Ann\",\"age\":4.5,\"tags\":[\"a\"]}",      // not an integer
            "{\"name\":\"Ann\",\"age\":-3,\"tags\":[\"a\"]}",       // below the minimum
            "{\"name\":\"\",\"age\":3,\"tags\":[\"a\"]}",          // minLength
            "{\"name\":\"Ann\",\"age\":41,\"tags\":[]}",            // minItems
            "{\"name\":\"Ann\",\"age\":41,\"tags\":[\"a\",\"b\",\"a\"]}", // maxItems
            "{\"name\":\"Ann\",\"age\":41,\"tags\":[\"c\"]}",       // enum
            "{\"name\":\"Ann\",\"age\":41,\"role\":\"users\",\"tags\":[\"a\"]}",
            "{\"name\":\"Ann\",\"age\":41,\"role\":70,\"tags\":[\"a\"]}",
            "{\"name\":\"Ann\",\"age\":41,\"tags\":[\"a\"],\"extra\":1}", // no such property
            "{\"name\":\"Ann\",\"age\":41,\"tags\":[\"a\"],\"boss\":{\"name\":\"Bo\"}}", // the boss's boss is required
            "{\"name\":1,\"age\":41,\"tags\":[\"a\"]}",
        }) {
            assertThat(whole(g, bad)).as(bad).isFalse();
        }
    }

    /** Without additionalProperties false, other keys may follow the declared ones (JSON Schema's default), never before or among them. */
    @Test
    void otherKeysFollowTheDeclaredOnesUnlessForbidden() {
        JsonSchemaGrammar open = JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},"
                + "\"b\":{\"type\":\"integer\"}},\"required\":[\"a\"]}");
        assertThat(whole(open, "{\"a\":1,\"x\":[true],\"y\":{\"z\":null}}")).isTrue();
        assertThat(whole(open, "{\"a\":1,\"b\":2,\"x\":\"s\"}")).isTrue();
        assertThat(whole(open, "{\"a\":1,\"x\":1,\"b\":2}")).as("a declared key after another").isFalse();
        assertThat(whole(open, "{\"x\":1,\"a\":1}")).as("before a required key").isFalse();
        assertThat(whole(open, "{\"a\":1,\"a\":2}")).as("a declared key again").isFalse();
        assertThat(whole(open, "{\"a\":1,\"\u00e9t\u00e9\":2}")).isTrue();
        String longKey = "k".repeat(JsonMatcher.MAX_KEY - 2) + "\u4e2d"; // a character begun at the limit may end
        assertThat(whole(open, "{\"a\":1,\"" + longKey + "\":0}")).isTrue();
        assertThat(prefix(open, "{\"a\":1,\"" + longKey + "k")).as("but no new one past it").isFalse();
        JsonSchemaGrammar closed = JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},"
                + "\"additionalProperties\":false}");
        assertThat(whole(closed, "{\"a\":1,\"x\":1}")).isFalse();
        assertThat(whole(closed, "{\"a\":1}")).isTrue();
    }

    /** anyOf options that begin alike (two object shapes, as LangChain4j writes for subtypes; integer or number) are loosened. */
    @Test
    void optionsThatBeginAlikeAreLoosened() {
        JsonSchemaGrammar g = JsonSchemaGrammar.fromSchema("""
                {"type": "object", "properties": {
                  "shape": {"anyOf": [{"type": "object", "properties": {"r": {"type": "number"}}, "required": ["r"]},
                                      {"type": "object", "properties": {"w": {"type": "number"}}, "required": ["w"]}, {"type": "null"}]},
                  "n": {"anyOf": [{"type": "integer"}, {"type": "number"}, {"enum": [1, "x", true]}]},
                  "c": {"anyOf": [{"enum": ["red"]}, {"const": "blue"}]}},
                 "required": ["shape", "n", "c"], "additionalProperties": false}
                """);
        assertThat(whole(g, "{\"shape\":{\"r\":1},\"n\":2.5,\"c\":\"red\"}")).isTrue();
        assertThat(whole(g, "{\"shape\":{\"any\":[1]},\"n\":-3,\"c\":\"blue\"}")).as("any object now").isTrue();
        assertThat(whole(g, "{\"shape\":null,\"n\":\"x\",\"c\":\"blue\"}")).isTrue();
        assertThat(whole(g, "{\"shape\":null,\"n\":true,\"c\":\"red\"}")).isTrue();
        assertThat(whole(g, "{\"shape\":null,\"n\":\"y\",\"c\":\"red\"}")).as("the enum's strings stay exact").isFalse();
        assertThat(whole(g, "{\"shape\":null,\"n\":1,\"c\":\"green\"}")).isFalse();
        assertThat(whole(g, "{\"shape\":[],\"n\":1,\"c\":\"red\"}")).isFalse();
    }

    /** The trie's bulk answer is the per-token answer, token for token, along random walks through a grammar. */
    @Test
    void theTrieAllowsWhatEachTokenIsAllowed() {
        Random rnd = new Random(9);
        String alphabet = "{}[]\":,. -0123456789eEtrufalsn\\u/abcxyz\n\t";
        byte[][] vocab = new byte[3000][];
        for (int id = 0; id < vocab.length; id++) {
            if (id % 97 == 5) {
                continue; // holes: special tokens have no text
            }
            int len = 1 + rnd.nextInt(id < 300 ? 1 : 6);
            java.io.ByteArrayOutputStream t = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < len; i++) {
                if (rnd.nextInt(12) == 0) {
                    t.write(0x80 + rnd.nextInt(0x75)); // continuation and lead bytes, some of them not UTF-8
                } else {
                    t.write(alphabet.charAt(rnd.nextInt(alphabet.length())));
                }
            }
            vocab[id] = t.toByteArray();
        }
        vocab[7] = vocab[8].clone(); // two ids with the same bytes
        TokenTrie trie = TokenTrie.of(vocab);
        assertThat(trie.nodes()).isLessThan(3000 * 6);
        for (JsonSchemaGrammar g : new JsonSchemaGrammar[] {JsonSchemaGrammar.anyObject(), JsonSchemaGrammar.fromSchema(PERSON)}) {
            for (int walk = 0; walk < 20; walk++) {
                JsonMatcher m = g.matcher();
                boolean[] got = new boolean[vocab.length];
                for (int step = 0; step < 60 && !m.complete(); step++) {
                    int n = m.allowed(trie, got);
                    List<Integer> ok = new ArrayList<>();
                    for (int id = 0; id < vocab.length; id++) {
                        boolean want = vocab[id] != null && m.allows(vocab[id]);
                        assertThat(got[id]).as("token %d at step %d", id, step).isEqualTo(want);
                        if (want) {
                            ok.add(id);
                        }
                    }
                    assertThat(n).isEqualTo(ok.size());
                    if (ok.isEmpty()) {
                        break;
                    }
                    assertThat(m.accept(vocab[ok.get(rnd.nextInt(ok.size()))])).isTrue();
                }
            }
        }
    }

    @Test
    void schemasTheGrammarCannotHonourAreClearErrors() {
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("{\"type\": \"string\"}")).hasMessageContaining("root must be an object or an array");
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("{\"type\": \"obj\"}")).hasMessageContaining("schema.type 'obj' is not a JSON Schema type");
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"a\":{}},\"required\":[\"b\"]}"))
                .hasMessageContaining("required names 'b'");
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/X\"}}}"))
                .hasMessageContaining("$ref #/$defs/X names no definition");
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"other.json\"}}}"))
                .hasMessageContaining("is not supported");
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("{\"type\": ")).hasMessageContaining("not valid JSON");
    }

    /**
     * Random walks through the grammar (each step one of the bytes it allows, drawn at random, leaning towards closing
     * after a while): every whole document parses as JSON and fits the schema.
     */
    @Test
    void everyDocumentTheMatcherLetsThroughIsValid() throws Exception {
        JsonSchemaGrammar person = JsonSchemaGrammar.fromSchema(PERSON);
        JsonSchemaGrammar any = JsonSchemaGrammar.anyObject();
        Random rnd = new Random(42);
        int finished = 0;
        for (int walk = 0; walk < 400; walk++) {
            JsonSchemaGrammar g = walk % 2 == 0 ? person : any;
            JsonMatcher m = g.matcher();
            StringBuilder raw = new StringBuilder();
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (int step = 0; step < 3000 && !m.complete(); step++) {
                List<Integer> allowed = new ArrayList<>();
                for (int x = 0; x < 256; x++) {
                    if (m.allows(new byte[] {(byte) x})) {
                        allowed.add(x);
                    }
                }
                assertThat(allowed).as("a dead end after %s", raw).isNotEmpty();
                int pick = allowed.get(rnd.nextInt(allowed.size()));
                if (step > 60) { // lean towards the bytes that close things
                    for (int x : new int[] {'"', '}', ']', '0', 'n'}) {
                        if (allowed.contains(x) && rnd.nextInt(3) > 0) {
                            pick = x;
                            break;
                        }
                    }
                }
                assertThat(m.accept(new byte[] {(byte) pick})).isTrue();
                out.write(pick);
                raw.append((char) pick);
            }
            if (!m.complete()) {
                continue;
            }
            finished++;
            String doc = out.toString(StandardCharsets.UTF_8);
            assertThat(b(doc)).as("well-formed UTF-8").isEqualTo(out.toByteArray());
            JsonNode n = JSON.readTree(doc);
            assertThat(n.isObject()).as(doc).isTrue();
            if (g == person) {
                checkPerson(n, doc);
            }
        }
        assertThat(finished).isGreaterThan(300);
    }

    private static void checkPerson(JsonNode n, String doc) {
        List<String> keys = new ArrayList<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            keys.add(it.next());
        }
        List<String> order = List.of("name", "age", "born", "share", "nick", "role", "tags", "boss");
        assertThat(keys).as(doc).containsSubsequence("name", "age", "tags");
        assertThat(keys.stream().map(order::indexOf).toList()).as(doc).isSorted().doesNotContain(-1);
        assertThat(n.get("name").isTextual()).isTrue();
        assertThat(n.get("name").asText().codePointCount(0, n.get("name").asText().length())).as(doc).isBetween(1, 40);
        assertThat(n.get("age").isIntegralNumber()).as(doc).isTrue();
        assertThat(n.get("age").asLong()).as(doc).isBetween(0L, 150L);
        if (n.has("share")) {
            assertThat(n.get("share").decimalValue()).as(doc).isGreaterThanOrEqualTo(java.math.BigDecimal.ZERO).isLessThan(java.math.BigDecimal.ONE);
        }
        if (n.has("born")) {
            assertThat(n.get("born").asText()).as(doc).matches("\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])");
        }
        assertThat(n.get("tags").size()).isBetween(1, 2);
        n.get("tags").forEach(t -> assertThat(t.asText()).isIn("a", "b"));
        if (n.has("role")) {
            assertThat(n.get("role").toString()).isIn("\"admin\"", "\"user\"", "7", "null");
        }
        if (n.has("nick")) {
            assertThat(n.get("nick").isTextual() || n.get("nick").isNull()).isTrue();
        }
        for (JsonNode boss = n.get("boss"); boss != null && !boss.isNull(); boss = boss.get("boss")) {
            assertThat(boss.get("name").isTextual()).as(doc).isTrue();
            assertThat(boss.has("boss")).as(doc).isTrue();
        }
    }
}
