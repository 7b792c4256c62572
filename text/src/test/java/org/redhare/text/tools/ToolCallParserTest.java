package org.redhare.text.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Each format's calls parsed from whole replies, and the same replies streamed one character at a time and in random
 * chunks: the streamed deltas must add up to exactly the one-shot result.
 */
class ToolCallParserTest {
    static final List<String> TOOLS = List.of("get_weather", "get_time");

    static ToolCallParser parser(ToolCallFormat f) {
        return new ToolCallParser(f, TOOLS);
    }

    /** Parses {@code reply} at once, char by char and in random chunks; checks they agree and returns the result. */
    static ToolCallParser.Result parse(ToolCallParser p, String reply) {
        ToolCallParser.Result once = p.parse(reply);
        List<Integer> cuts = new ArrayList<>();
        for (int i = 1; i < reply.length(); i++) {
            cuts.add(i);
        }
        assertThat(streamed(p, reply, cuts)).as("one char at a time").isEqualTo(once);
        Random r = new Random(reply.hashCode());
        for (int trial = 0; trial < 20; trial++) {
            List<Integer> some = new ArrayList<>();
            for (int i = 1; i < reply.length(); i++) {
                if (r.nextInt(4) == 0) some.add(i);
            }
            assertThat(streamed(p, reply, some)).as("random chunks %s", some).isEqualTo(once);
        }
        return once;
    }

    static ToolCallParser.Result streamed(ToolCallParser p, String reply, List<Integer> cuts) {
        ToolCallParser.Stream s = p.stream();
        StringBuilder content = new StringBuilder();
        List<ToolCall> calls = new ArrayList<>();
        int from = 0;
        List<Integer> ends = new ArrayList<>(cuts);
        ends.add(reply.length());
        for (int to : ends) {
            ToolCallParser.Delta d = s.feed(reply.substring(from, to));
            content.append(d.content());
            calls.addAll(d.calls());
            from = to;
        }
        ToolCallParser.Delta d = s.finish();
        content.append(d.content());
        calls.addAll(d.calls());
        return new ToolCallParser.Result(content.toString(), calls);
    }

    static ToolCall call(String name, String args) {
        return new ToolCall(name, args);
    }

    @Test
    void hermesSingleAndSeveralCalls() {
        ToolCallParser p = parser(ToolCallFormat.HERMES);
        var r = parse(p, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}\n</tool_call>");
        assertThat(r.content()).isEmpty();
        assertThat(r.calls()).containsExactly(call("get_weather", "{\"city\":\"Paris\",\"days\":3}"));

        r = parse(p, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"北京\"}}\n</tool_call>\n"
                + "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"a}\\\"{b\"}}\n</tool_call>");
        assertThat(r.content()).isEmpty();
        assertThat(r.calls()).containsExactly(call("get_weather", "{\"city\":\"北京\"}"), call("get_time", "{\"tz\":\"a}\\\"{b\"}"));
    }

    @Test
    void hermesTextBeforeAndAfterTheCallIsContent() {
        ToolCallParser p = parser(ToolCallFormat.HERMES);
        var r = parse(p, "Let me look that up.\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>\nDone.");
        assertThat(r.content()).isEqualTo("Let me look that up.Done.");
        assertThat(r.calls()).containsExactly(call("get_weather", "{}"));
        // No call: every character is content, whitespace and near-miss markers included.
        String plain = "  A <tool reply> with <tool_cal and trailing space \n";
        assertThat(parse(p, plain)).isEqualTo(new ToolCallParser.Result(plain, List.of()));
    }

    @Test
    void hermesMalformedCallsStayTextAndNothingIsLost() {
        ToolCallParser p = parser(ToolCallFormat.HERMES);
        String bad = "Hi \n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": }\n</tool_call>";
        assertThat(parse(p, bad)).isEqualTo(new ToolCallParser.Result(bad, List.of()));
        String noName = "<tool_call>{\"arguments\": {}}</tool_call>";
        assertThat(parse(p, noName)).isEqualTo(new ToolCallParser.Result(noName, List.of()));
        String arrayArgs = "<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>";
        assertThat(parse(p, arrayArgs)).isEqualTo(new ToolCallParser.Result(arrayArgs, List.of()));
        String cut = "<tool_call>\n{\"name\": \"get_weather\", \"argu";
        assertThat(parse(p, cut)).isEqualTo(new ToolCallParser.Result(cut, List.of()));
        // a good call after a bad one is still a call
        var r = parse(p, "<tool_call>oops</tool_call><tool_call>{\"name\": \"get_time\"}</tool_call>");
        assertThat(r.content()).isEqualTo("<tool_call>oops</tool_call>");
        assertThat(r.calls()).containsExactly(call("get_time", "{}"));
    }

    @Test
    void hermesUnclosedLastBlockWithCompleteJsonIsACall() {
        var r = parse(parser(ToolCallFormat.HERMES), "<tool_call>\n{\"name\": \"get_time\", \"arguments\": \"{\\\"tz\\\": \\\"UTC\\\"}\"}\n");
        assertThat(r.calls()).containsExactly(call("get_time", "{\"tz\":\"UTC\"}")); // arguments given as a JSON string are read
        assertThat(r.content()).isEmpty();
    }

    @Test
    void llamaJsonReplyWithOrWithoutPythonTag() {
        ToolCallParser p = parser(ToolCallFormat.LLAMA3_JSON);
        var r = parse(p, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}");
        assertThat(r).isEqualTo(new ToolCallParser.Result("", List.of(call("get_weather", "{\"city\":\"Paris\"}"))));
        r = parse(p, "<|python_tag|>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}; {\"name\": \"get_time\", \"parameters\": {}}");
        assertThat(r).isEqualTo(new ToolCallParser.Result("", List.of(call("get_weather", "{\"city\":\"Rome\"}"), call("get_time", "{}"))));
        r = parse(p, "\n {\"name\": \"get_time\", \"parameters\": {}}\n");
        assertThat(r).isEqualTo(new ToolCallParser.Result("", List.of(call("get_time", "{}"))));
    }

    @Test
    void llamaJsonThatIsNoCallOfARequestToolIsContent() {
        ToolCallParser p = parser(ToolCallFormat.LLAMA3_JSON);
        for (String s : List.of(
                "{\"name\": \"Alice\", \"parameters\": {\"age\": 3}}",        // a JSON answer, not one of the tools
                "{\"name\": \"get_time\", \"parameters\": {}} and more",      // trailing text
                "The answer is {\"name\": \"get_time\", \"parameters\": {}}", // not at the start of the reply
                "{\"name\": \"get_time\", \"parameters\": {",                  // cut off
                "<|python_tag|>brave_search.call(query=\"x\")",               // built-in tool syntax, not JSON
                "<|python_ta",
                "  ")) {
            assertThat(parse(p, s)).as(s).isEqualTo(new ToolCallParser.Result(s, List.of()));
        }
    }

    @Test
    void mistralArrayAndNameArgsForms() {
        ToolCallParser p = parser(ToolCallFormat.MISTRAL);
        var r = parse(p, "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, {\"name\": \"get_time\", \"arguments\": {}}]");
        assertThat(r).isEqualTo(new ToolCallParser.Result("", List.of(call("get_weather", "{\"city\":\"Paris\"}"), call("get_time", "{}"))));
        r = parse(p, "Sure.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Oslo\"}[TOOL_CALLS]get_time[ARGS]{}");
        assertThat(r).isEqualTo(new ToolCallParser.Result("Sure.", List.of(call("get_weather", "{\"city\":\"Oslo\"}"), call("get_time", "{}"))));
        String bad = "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}]";
        assertThat(parse(p, bad)).isEqualTo(new ToolCallParser.Result(bad, List.of()));
        String cut = "[TOOL_CALLS] [{\"name\": \"get_weather\"";
        assertThat(parse(p, cut)).isEqualTo(new ToolCallParser.Result(cut, List.of()));
    }

    static final String DS_BEGIN = "<｜tool▁calls▁begin｜>";
    static final String DS_END = "<｜tool▁calls▁end｜>";
    static final String DS_CALL = "<｜tool▁call▁begin｜>";
    static final String DS_CALL_END = "<｜tool▁call▁end｜>";
    static final String DS_SEP = "<｜tool▁sep｜>";

    @Test
    void deepSeekV3CallsAsTheTemplateWritesThem() {
        ToolCallParser p = parser(ToolCallFormat.DEEPSEEK_V3);
        String reply = "I'll check." + DS_BEGIN + DS_CALL + "function" + DS_SEP + "get_weather\n```json\n{\"city\": \"Paris\"}\n```" + DS_CALL_END
                + "\n" + DS_CALL + "function" + DS_SEP + "get_time\n```json\n{}\n```" + DS_CALL_END + DS_END;
        var r = parse(p, reply);
        assertThat(r).isEqualTo(new ToolCallParser.Result("I'll check.", List.of(call("get_weather", "{\"city\":\"Paris\"}"), call("get_time", "{}"))));
        // V3.1's shorter form
        r = parse(p, DS_BEGIN + DS_CALL + "get_time" + DS_SEP + "{\"tz\": \"UTC\"}" + DS_CALL_END + DS_END);
        assertThat(r).isEqualTo(new ToolCallParser.Result("", List.of(call("get_time", "{\"tz\":\"UTC\"}"))));
        String bad = DS_BEGIN + DS_CALL + "function" + DS_SEP + "get_time\n```json\n{nope}\n```" + DS_CALL_END + DS_END;
        assertThat(parse(p, bad)).isEqualTo(new ToolCallParser.Result(bad, List.of()));
        String cut = DS_BEGIN + DS_CALL + "function" + DS_SEP + "get_time\n```json\n{}";
        assertThat(parse(p, cut)).isEqualTo(new ToolCallParser.Result(cut, List.of()));
    }

    /**
     * GLM-4.5's calls: the name after {@code <tool_call>}, then key/value pairs; a value that is a whole JSON value other
     * than a string is that value, anything else a string (as the template writes strings unquoted), except that an argument
     * the tool's schema types as a string is always the text written. Detected ahead of Hermes, whose marker its template
     * names too.
     */
    @Test
    void glm45CallsWithTypedArguments() throws Exception {
        ToolCallParser p = parser(ToolCallFormat.GLM45);
        String reply = "Let me look.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>New York, NY</arg_value>\n"
                + "<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n<arg_key>units</arg_key>\n<arg_value>{\"temp\": \"C\"}</arg_value>\n"
                + "<arg_key>hourly</arg_key><arg_value>true</arg_value></tool_call><tool_call>get_time</tool_call>";
        assertThat(parse(p, reply)).isEqualTo(new ToolCallParser.Result("Let me look.", List.of(
                call("get_weather", "{\"city\":\"New York, NY\",\"days\":3,\"units\":{\"temp\":\"C\"},\"hourly\":true}"),
                call("get_time", "{}"))));
        // a value in quotes stays the string as written; text that is not JSON is a string
        assertThat(parse(p, "<tool_call>get_time<arg_key>tz</arg_key><arg_value>\"UTC\"</arg_value><arg_key>fmt</arg_key>"
                + "<arg_value>24h clock</arg_value></tool_call>").calls()).containsExactly(call("get_time", "{\"tz\":\"\\\"UTC\\\"\",\"fmt\":\"24h clock\"}"));
        for (String bad : List.of("<tool_call>{\"name\": \"get_time\"}</tool_call>", "<tool_call>get_time<arg_key>tz</arg_key></tool_call>",
                "<tool_call>\n</tool_call>", "<tool_call>get_time<arg_key>tz")) {
            assertThat(parse(p, bad)).as(bad).isEqualTo(new ToolCallParser.Result(bad, List.of()));
        }
        // arguments the tool's schema types as strings are the text written, whatever it looks like
        ToolCallParser typed = new ToolCallParser(ToolCallFormat.GLM45, TOOLS, java.util.Map.of("get_time",
                ToolArguments.stringTyped(CallJson.JSON.readTree("{\"type\": \"object\", \"properties\": {\"tz\": {\"type\": \"string\"},"
                        + " \"offset\": {\"type\": \"integer\"}, \"label\": {\"type\": [\"string\", \"null\"]}}}"))));
        assertThat(parse(typed, "<tool_call>get_time<arg_key>tz</arg_key><arg_value>2024</arg_value><arg_key>offset</arg_key><arg_value>2"
                + "</arg_value><arg_key>label</arg_key><arg_value>null</arg_value></tool_call>").calls())
                .containsExactly(call("get_time", "{\"tz\":\"2024\",\"offset\":2,\"label\":null}"));
        assertThat(parse(typed, "<tool_call>get_weather<arg_key>tz</arg_key><arg_value>2024</arg_value></tool_call>").calls())
                .as("another tool's arguments keep the value reading").containsExactly(call("get_weather", "{\"tz\":2024}"));
        String template = "{% for tc in m.tool_calls %}<tool_call>{{ tc.name }}\n<arg_key>{{ k }}</arg_key>\n<arg_value>{{ v }}</arg_value>{% endfor %}";
        assertThat(ToolCallFormat.detect(template, s -> false)).contains(ToolCallFormat.GLM45);
        assertThat(ToolCallFormat.detect("<tool_call>{{ tc | tojson }}</tool_call>", s -> false)).contains(ToolCallFormat.HERMES);
    }

    @Test
    void prefilledReplyContinuesTheForcedCall() {
        for (ToolCallFormat f : ToolCallFormat.values()) {
            ToolCallParser named = parser(f).withPrefill(f.prefill("get_weather"));
            String rest = switch (f) {
                case HERMES -> "{\"city\": \"Paris\"}}\n</tool_call>";
                case LLAMA3_JSON, MISTRAL -> "{\"city\": \"Paris\"}}" + (f == ToolCallFormat.MISTRAL ? "]" : "");
                case DEEPSEEK_V3 -> "{\"city\": \"Paris\"}\n```" + DS_CALL_END + DS_END;
                case GLM45 -> "<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>";
            };
            assertThat(parse(named, rest)).as(f.name()).isEqualTo(new ToolCallParser.Result("", List.of(call("get_weather", "{\"city\":\"Paris\"}"))));
            ToolCallParser any = parser(f).withPrefill(f.prefill(null));
            String anyRest = switch (f) {
                case HERMES -> "get_time\", \"arguments\": {}}\n</tool_call>";
                case LLAMA3_JSON -> "get_time\", \"parameters\": {}}";
                case MISTRAL -> "get_time\", \"arguments\": {}}]";
                case DEEPSEEK_V3 -> "get_time\n```json\n{}\n```" + DS_CALL_END + DS_END;
                case GLM45 -> "get_time\n</tool_call>";
            };
            assertThat(parse(any, anyRest)).as(f.name()).isEqualTo(new ToolCallParser.Result("", List.of(call("get_time", "{}"))));
        }
    }

    @Test
    void callIdsHaveTheShapeTheTemplatesAccept() {
        Random r = new Random(1);
        assertThat(ToolCallFormat.MISTRAL.newCallId(r)).matches("[A-Za-z0-9]{9}");
        assertThat(ToolCallFormat.HERMES.newCallId(r)).matches("call_[A-Za-z0-9]{24}");
    }
}
