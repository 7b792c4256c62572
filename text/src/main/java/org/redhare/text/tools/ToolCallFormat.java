package org.redhare.text.tools;

import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * The ways models write tool calls, each recognised by what its chat template (or vocabulary) mentions, as vLLM's
 * and llama.cpp's servers pick theirs.
 */
public enum ToolCallFormat {
    /** {@code <tool_call>{"name", "arguments"}</tool_call>}: Hermes 2 Pro, Qwen2.5, Qwen3. */
    HERMES(new HermesSyntax(), List.of(HermesSyntax.OPEN, HermesSyntax.CLOSE)),
    /** A reply that is {@code {"name", "parameters"}}, optionally after {@code <|python_tag|>}: Llama 3.1, 3.2. */
    LLAMA3_JSON(new Llama3JsonSyntax(), List.of(Llama3JsonSyntax.PYTHON_TAG)),
    /** {@code [TOOL_CALLS] [{"name", "arguments"}]}: Mistral. */
    MISTRAL(new MistralSyntax(), List.of(MistralSyntax.MARKER, MistralSyntax.ARGS)),
    /** {@code <｜tool▁calls▁begin｜>...}: DeepSeek-V3, R1. */
    DEEPSEEK_V3(new DeepSeekV3Syntax(), List.of(DeepSeekV3Syntax.CALLS_BEGIN, DeepSeekV3Syntax.CALLS_END, DeepSeekV3Syntax.CALL_BEGIN,
            DeepSeekV3Syntax.CALL_END, DeepSeekV3Syntax.SEP)),
    /** {@code <tool_call>NAME<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>}: GLM-4.5, 4.6, 4.7. */
    GLM45(new Glm45Syntax(), List.of(Glm45Syntax.OPEN, Glm45Syntax.CLOSE, Glm45Syntax.KEY_OPEN, Glm45Syntax.KEY_CLOSE,
            Glm45Syntax.VALUE_OPEN, Glm45Syntax.VALUE_CLOSE));

    private static final String ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /** DeepSeek-V3's markers, for a grammar of its calls: each call's opening and closing token and the name separator. */
    public static final String DEEPSEEK_CALL_BEGIN = DeepSeekV3Syntax.CALL_BEGIN;
    public static final String DEEPSEEK_CALL_END = DeepSeekV3Syntax.CALL_END;
    public static final String DEEPSEEK_SEP = DeepSeekV3Syntax.SEP;

    final Syntax syntax;
    private final List<String> markers;

    ToolCallFormat(Syntax syntax, List<String> markers) {
        this.syntax = syntax;
        this.markers = markers;
    }

    /**
     * The format a chat template writes calls in, judged from its source; failing that, from the special markers the
     * vocabulary holds. Empty when neither says (the reply is then left as text).
     *
     * @param templateSource the template used with tools (tool_use when the model has one), or null
     * @param vocabularyHas  whether a string is a single token of the model's vocabulary
     */
    public static Optional<ToolCallFormat> detect(String templateSource, Predicate<String> vocabularyHas) {
        String t = templateSource == null ? "" : templateSource;
        // Most specific first: a Hermes-style template for a Llama 3 model (Hermes 2 Pro) names <tool_call>, not ipython.
        if (t.contains("tool▁calls▁begin")) return Optional.of(DEEPSEEK_V3);
        if (t.contains("[TOOL_CALLS]")) return Optional.of(MISTRAL);
        if (t.contains("<arg_key>")) return Optional.of(GLM45); // names <tool_call> too, with XML arguments instead of JSON
        if (t.contains("<tool_call>")) return Optional.of(HERMES);
        if (t.contains("<|python_tag|>") || t.contains("ipython")) return Optional.of(LLAMA3_JSON);
        if (vocabularyHas.test(DeepSeekV3Syntax.CALLS_BEGIN)) return Optional.of(DEEPSEEK_V3);
        if (vocabularyHas.test(MistralSyntax.MARKER)) return Optional.of(MISTRAL);
        if (vocabularyHas.test(HermesSyntax.OPEN)) return Optional.of(HERMES);
        return Optional.empty();
    }

    /** The markers of this format; the decoder must keep them even where the vocabulary counts them as special tokens. */
    public List<String> markers() {
        return markers;
    }

    /**
     * Text that, appended to the prompt, makes the model write a call: to {@code function} when it is not null, else to
     * any tool. The parser for that reply must start from the same text ({@link ToolCallParser#withPrefill}).
     */
    public String prefill(String function) {
        String q = function == null ? null : CallJson.JSON.getNodeFactory().textNode(function).toString();
        return switch (this) {
            case HERMES -> function == null ? "<tool_call>\n{\"name\": \"" : "<tool_call>\n{\"name\": " + q + ", \"arguments\": ";
            case LLAMA3_JSON -> function == null ? "{\"name\": \"" : "{\"name\": " + q + ", \"parameters\": ";
            case MISTRAL -> function == null ? "[TOOL_CALLS][{\"name\": \"" : "[TOOL_CALLS][{\"name\": " + q + ", \"arguments\": ";
            case DEEPSEEK_V3 -> DeepSeekV3Syntax.CALLS_BEGIN + DeepSeekV3Syntax.CALL_BEGIN + "function" + DeepSeekV3Syntax.SEP
                    + (function == null ? "" : function + "\n```json\n");
            case GLM45 -> Glm45Syntax.OPEN + (function == null ? "" : function + "\n");
        };
    }

    /**
     * A fresh id for a call. Mistral's template only accepts ids of exactly nine letters and digits when the call comes
     * back in the next request; the others get OpenAI's {@code call_} form.
     */
    public String newCallId(RandomGenerator random) {
        int n = this == MISTRAL ? 9 : 24;
        StringBuilder sb = new StringBuilder(this == MISTRAL ? "" : "call_");
        for (int i = 0; i < n; i++) {
            sb.append(ALPHANUMERIC.charAt(random.nextInt(ALPHANUMERIC.length())));
        }
        return sb.toString();
    }
}
