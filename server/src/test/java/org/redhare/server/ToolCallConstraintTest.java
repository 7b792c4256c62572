package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hermes tool calls under their grammar, token by token through the Qwen3 tokenizer: free text until {@code <tool_call>},
 * then only a call to a request's tool with arguments of its schema, then free text again. (A malformed call that the
 * model nonetheless wrote, with another format, stays text: {@code ToolCallParserTest}.)
 */
class ToolCallConstraintTest {
    static PromptFormatter f;
    static PromptFormatter.ChatPrompt prompt;
    static final int VOCAB = 151936;

    static final List<Map<String, Object>> TOOLS = List.of(
            Map.of("type", "function", "function", Map.of("name", "get_weather", "parameters", Map.of("type", "object",
                    "properties", ordered("city", Map.of("type", "string"), "days", Map.of("type", "integer")),
                    "required", List.of("city"), "additionalProperties", false))),
            Map.of("type", "function", "function", Map.of("name", "get_time", "parameters", Map.of("type", "object",
                    "properties", Map.of("zone", Map.of("enum", List.of("UTC", "CET")))))));

    /** Properties in order, as a client's JSON has them (Map.of has no order). */
    private static Map<String, Object> ordered(String k1, Object v1, String k2, Object v2) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put(k1, v1);
        m.put(k2, v2);
        return m;
    }

    @BeforeAll
    static void load() {
        f = PromptFormatters.forModel(TextModels.qwen3(), "tiny");
        prompt = f.renderChat(List.of(Map.of("role", "user", "content", "Weather?")), TOOLS, Map.of());
        assertThat(prompt.toolCallGrammar()).isNotNull();
    }

    private static ToolCallConstraint constraint(String prefill) {
        return new ToolCallConstraint(prompt.toolCallGrammar(), JsonConstraint.vocabulary(f, VOCAB), prefill);
    }

    /** Feeds the text's tokens; returns the text of the first one refused, or null if all were taken. */
    private static String feed(ToolCallConstraint c, String text) {
        return feed(f, c, text);
    }

    private static String feed(PromptFormatter f, ToolCallConstraint c, String text) {
        int[] ids = f.encode(text);
        if (ids.length > 0 && !text.startsWith(f.tokenText(ids[0]))) {
            ids = java.util.Arrays.copyOfRange(ids, 1, ids.length); // a BOS the tokenizer adds (DeepSeek's) is not part of the reply
        }
        for (int t : ids) {
            if (!c.allows(t)) {
                return f.tokenText(t);
            }
            c.accept(t);
        }
        return null;
    }

    private static int id(String special) {
        int[] ids = f.encode(special);
        assertThat(ids).hasSize(1);
        return ids[0];
    }

    @Test
    void callsFollowTheToolsAndTheirSchemas() {
        ToolCallConstraint c = constraint(null);
        assertThat(feed(c, "Sure, let me look that up.\n")).isNull();
        assertThat(c.allows(id("<|im_end|>"))).as("free text may end").isTrue();
        assertThat(feed(c, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}\n</tool_call>")).isNull();
        assertThat(feed(c, "\nAnd the time: <tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\", \"extra\": [1]}}</tool_call>"))
                .as("a second call; the second tool's schema allows more keys").isNull();
        assertThat(c.allows(id("<|im_end|>"))).isTrue();

        assertThat(feed(constraint(null), "<tool_call>\n{\"name\": \"get_wether\"")).as("an unknown tool").isNotNull();
        ToolCallConstraint d = constraint(null);
        assertThat(feed(d, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": ")).isNull();
        assertThat(d.allows(id("<|im_end|>"))).as("no end of turn inside a call").isFalse();
        assertThat(feed(d, "}")).as("a value must come").isNotNull();
        assertThat(feed(constraint(null), "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"days\": 2}}"))
                .as("city is required and comes first").isNotNull();
        assertThat(feed(constraint(null), "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"x\", \"unit\": 1}}"))
                .as("no other keys: additionalProperties false").isNotNull();
        assertThat(feed(constraint(null), "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"PST\"}}")).isNotNull();
    }

    /** Mistral's format: after [TOOL_CALLS], a JSON list of calls; free text again after the list. */
    @Test
    void mistralListsOfCalls() {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<com.fasterxml.jackson.databind.JsonNode> params = TOOLS.stream()
                .map(t -> json.valueToTree(((Map<?, ?>) t.get("function")).get("parameters"))).map(n -> (com.fasterxml.jackson.databind.JsonNode) n)
                .toList();
        PromptFormatter.ToolCallGrammar g = new PromptFormatter.ToolCallGrammar(
                org.redhare.text.json.JsonSchemaGrammar.toolCallList(List.of("get_weather", "get_time"), params, "arguments"), "[TOOL_CALLS]", "");
        ToolCallConstraint c = new ToolCallConstraint(g, JsonConstraint.vocabulary(f, VOCAB), null);
        assertThat(feed(c, "Checking. [TOOL_CALLS][{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}, "
                + "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}]")).isNull();
        assertThat(c.allows(id("<|im_end|>"))).as("free after the list").isTrue();
        ToolCallConstraint forced = new ToolCallConstraint(g, JsonConstraint.vocabulary(f, VOCAB), "[TOOL_CALLS][{\"name\": \"");
        assertThat(c.allows(id("<|im_end|>"))).isTrue();
        assertThat(forced.allows(id("<|im_end|>"))).isFalse();
        assertThat(feed(forced, "get_weather\", \"arguments\": {\"days\": 1}}]")).as("city first").isNotNull();
        assertThat(feed(new ToolCallConstraint(g, JsonConstraint.vocabulary(f, VOCAB), null), "[TOOL_CALLS][]")).as("at least one call").isNotNull();
    }

    /**
     * Llama 3.1's JSON calls have no marker: the template asks for {"name": ..., "parameters": {...}} as the reply, so an
     * answer that begins with "{" is a call and held to the tools; one that begins otherwise is free text throughout.
     */
    /** A formatter over a shared tokenizer, with another chat template when {@code template} names one of the conformance set. */
    private static PromptFormatter formatter(java.nio.file.Path dir, String tokenizer, String template) throws Exception {
        java.nio.file.Path tok = org.redhare.core.testing.SharedFiles.require("tokenizers/" + tokenizer);
        java.nio.file.Files.copy(tok.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode cfg = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(
                tok.resolve("tokenizer_config.json").toFile());
        if (template != null) {
            cfg.put("chat_template", java.nio.file.Files.readString(org.redhare.core.testing.SharedFiles.require(
                    "conformance/chat-templates/templates/" + template + ".jinja")));
        }
        json.writeValue(dir.resolve("tokenizer_config.json").toFile(), cfg);
        return PromptFormatters.forModel(dir, tokenizer);
    }

    /**
     * DeepSeek-V3's calls: from each call's opening token, "function", the separator token, one of the tools' names, the
     * fenced JSON of its schema, and the closing token; free text around them.
     */
    @Test
    void deepSeekV3CallsNameAToolAndFenceItsArguments(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        PromptFormatter df = formatter(dir, "deepseek_v3", null);
        PromptFormatter.ChatPrompt p = df.renderChat(List.of(Map.of("role", "user", "content", "Weather?")), TOOLS, Map.of());
        assertThat(p.toolCallGrammar()).isNotNull();
        JsonConstraint.Vocabulary vocab = JsonConstraint.vocabulary(df, df.vocabularySize());
        java.util.function.Function<String, ToolCallConstraint> fresh = prefill -> new ToolCallConstraint(p.toolCallGrammar(), vocab, prefill,
                p.reasoning());
        int eos = df.encode("<｜end▁of▁sentence｜>")[0];
        String call = "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\", \"days\": 2}\n```<｜tool▁call▁end｜>";

        ToolCallConstraint c = fresh.apply(null);
        assertThat(feed(df, c, "Let me check.<｜tool▁calls▁begin｜>" + call)).isNull();
        assertThat(c.allows(eos)).as("the call is whole").isTrue();
        assertThat(feed(df, c, "\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{\"zone\": \"UTC\"}\n```<｜tool▁call▁end｜>"
                + "<｜tool▁calls▁end｜>")).as("a second call").isNull();
        assertThat(c.allows(eos)).isTrue();
        ToolCallConstraint open = fresh.apply(null);
        assertThat(feed(df, open, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"")).isNull();
        assertThat(open.allows(eos)).as("no end of the reply inside a call").isFalse();
        assertThat(feed(df, fresh.apply(null), "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_wether")).as("an unknown tool").isNotNull();
        assertThat(feed(df, fresh.apply(null), "<｜tool▁call▁begin｜>get_weather")).as("V3 writes the type first").isNotNull();
        assertThat(feed(df, fresh.apply(null), "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"days\": 1}"))
                .as("city first").isNotNull();
        assertThat(feed(df, fresh.apply(null), "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"x\"}\n"
                + "<｜tool▁call▁end｜>")).as("the fence closes first").isNotNull();
        // tool_choice naming the function: the prompt ends inside the call, at its arguments
        assertThat(p.toolCalls()).isNotNull();
        String prefill = org.redhare.text.tools.ToolCallFormat.DEEPSEEK_V3.prefill("get_weather");
        assertThat(feed(df, fresh.apply(prefill), "{\"city\": \"Rome\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>")).isNull();
        assertThat(feed(df, fresh.apply(prefill), "Rome")).isNotNull();

        // the bulk answer inside a call (the trie, then the call's special tokens) is the per-token one
        ToolCallConstraint b = fresh.apply(null);
        boolean[] out = new boolean[df.vocabularySize()];
        for (String part : new String[] {"<｜tool▁call▁begin｜>", "function", "<｜tool▁sep｜>", "get_weather\n```json\n{\"city\": \"P",
                "aris\"}\n```"}) {
            feed(df, b, part);
            int n = b.allowed(out, out.length);
            int count = 0;
            for (int t = 0; t < out.length; t++) {
                assertThat(out[t]).as("token %d after %s", t, part).isEqualTo(b.allows(t));
                count += out[t] ? 1 : 0;
            }
            assertThat(n).isEqualTo(count).isPositive();
        }
    }

    @Test
    void llama3JsonCallsBeginTheAnswer(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        PromptFormatter lf = formatter(dir, "llama3", "meta-llama-Llama-3.1-8B-Instruct");
        PromptFormatter.ChatPrompt p = lf.renderChat(List.of(Map.of("role", "user", "content", "Weather?")), TOOLS, Map.of());
        assertThat(p.toolCallGrammar()).isNotNull();
        assertThat(p.toolCallGrammar().atReplyStart()).isTrue();
        JsonConstraint.Vocabulary vocab = JsonConstraint.vocabulary(lf, lf.vocabularySize());
        java.util.function.Function<String, ToolCallConstraint> fresh = prefill -> new ToolCallConstraint(p.toolCallGrammar(), vocab, prefill,
                p.reasoning());
        int eot = lf.encode("<|eot_id|>")[0];

        ToolCallConstraint c = fresh.apply(null);
        assertThat(feed(lf, c, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"days\": 2}}")).isNull();
        assertThat(c.allows(eot)).as("the call is whole: the reply may end").isTrue();
        ToolCallConstraint open = fresh.apply(null);
        assertThat(feed(lf, open, "{\"name\": \"get_weather\", \"parameters\": {")).isNull();
        assertThat(open.allows(eot)).as("not inside a call").isFalse();
        assertThat(feed(lf, fresh.apply(null), " \n{\"name\": \"get_time\", \"parameters\": {\"zone\": \"UTC\"}}")).as("whitespace first").isNull();
        assertThat(feed(lf, fresh.apply(null), "{\"name\": \"get_wether\"")).as("an unknown tool").isNotNull();
        assertThat(feed(lf, fresh.apply(null), "{\"city\": \"Paris\"}")).as("JSON that is no call").isNotNull();
        assertThat(feed(lf, fresh.apply(null), "{\"name\": \"get_weather\", \"parameters\": {\"days\": 2}}")).as("city first").isNotNull();
        ToolCallConstraint text = fresh.apply(null);
        assertThat(feed(lf, text, "It is sunny. {\"name\": anything goes in text}")).as("an answer that begins as text is free").isNull();
        assertThat(text.allows(eot)).isTrue();
        // a forced tool_choice: the prompt ends with the call's start, the reply continues inside it
        assertThat(feed(lf, fresh.apply("{\"name\": \""), "get_weather\", \"parameters\": {\"city\": \"Rome\"}}")).isNull();
        assertThat(feed(lf, fresh.apply("{\"name\": \""), "Hello")).isNotNull();
    }

    /** The bulk answer (through the vocabulary's trie inside a call) is the per-token one, in and out of calls. */
    @Test
    void allowedMatchesAllowsTokenByToken() {
        ToolCallConstraint c = constraint(null);
        boolean[] out = new boolean[VOCAB];
        for (String part : new String[] {"Sure. ", "<tool_call>", "\n{\"name\": \"get_", "weather\", \"arguments\": {\"city\": \"Pa",
                "ris\"}}\n", "</tool_call>"}) {
            assertThat(feed(c, part)).isNull();
            int n = c.allowed(out, VOCAB);
            int want = 0;
            for (int t = 0; t < VOCAB; t++) {
                assertThat(out[t]).as("token %d after %s", t, part).isEqualTo(c.allows(t));
                want += out[t] ? 1 : 0;
            }
            assertThat(n).isEqualTo(want);
        }
    }

    @Test
    void aPromptThatOpenedTheCallStartsInsideIt() {
        ToolCallConstraint c = constraint("<tool_call>\n{\"name\": \"");
        assertThat(c.allows(id("<|im_end|>"))).isFalse();
        assertThat(feed(c, "Hello")).as("not a tool's name").isNotNull();
        c = constraint("<tool_call>\n{\"name\": \"");
        assertThat(feed(c, "get_time\", \"arguments\": {}}\n</tool_call>")).isNull();
        assertThat(c.allows(id("<|im_end|>"))).isTrue();
        ToolCallConstraint named = constraint("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ");
        assertThat(feed(named, "{\"zone\": \"UTC\"}")).as("the named tool's arguments, not another's").isNotNull();
    }
}
