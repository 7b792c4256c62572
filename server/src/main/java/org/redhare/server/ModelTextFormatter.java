package org.redhare.server;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.redhare.text.Detokenizer;
import org.redhare.text.ModelText;
import org.redhare.text.TokenizerException;
import org.redhare.text.template.TemplateException;
import org.redhare.text.json.JsonSchemaGrammar;
import org.redhare.text.tools.ToolArguments;
import org.redhare.text.tools.ToolCallFormat;
import org.redhare.text.tools.ToolCallParser;

/** The text side over a model's own tokenizer and chat template ({@link ModelText}). */
public final class ModelTextFormatter implements PromptFormatter {
    private static final int[] BYTE_OF_CHAR = byteLevelInverse();

    private final ModelText text;

    public ModelTextFormatter(ModelText text) {
        this.text = text;
    }

    public ModelText text() {
        return text;
    }

    @Override
    public boolean hasTokenizer() {
        return true;
    }

    @Override
    public int[] encode(String prompt) {
        return text.encodePrompt(prompt);
    }

    @Override
    public ChatPrompt renderChat(List<Map<String, Object>> messages, List<Map<String, Object>> tools, Map<String, Object> templateArgs) {
        return renderChat(messages, tools, templateArgs, ToolChoice.AUTO);
    }

    @Override
    public ChatPrompt renderChat(List<Map<String, Object>> messages, List<Map<String, Object>> tools, Map<String, Object> templateArgs,
                                 ToolChoice toolChoice) {
        boolean withTools = tools != null && !tools.isEmpty() && toolChoice.mode() != ToolChoice.Mode.NONE;
        ToolCallParser parser = null;
        ToolCallGrammar grammar = null;
        if (withTools) {
            ToolCallFormat format = text.toolCallFormat().orElse(null);
            if (format == ToolCallFormat.HERMES && !names(tools).isEmpty()) {
                grammar = new ToolCallGrammar(JsonSchemaGrammar.toolCall(names(tools), parameters(tools), "arguments", "</tool_call>"),
                        "<tool_call>", "</tool_call>");
            } else if (format == ToolCallFormat.MISTRAL && !names(tools).isEmpty()) {
                grammar = new ToolCallGrammar(JsonSchemaGrammar.toolCallList(names(tools), parameters(tools), "arguments"), "[TOOL_CALLS]", "");
            } else if (format == ToolCallFormat.LLAMA3_JSON && !names(tools).isEmpty()) {
                // the template asks for {"name": ..., "parameters": {...}} as the whole reply: an answer that opens with
                // "{" is a call, as the parser judges it
                grammar = new ToolCallGrammar(JsonSchemaGrammar.toolCall(names(tools), parameters(tools), "parameters", null), "{", "", true);
            } else if (format == ToolCallFormat.DEEPSEEK_V3 && !names(tools).isEmpty()) {
                // each call from its opening token: V3/R1 write "function<sep>NAME\n```json\n{...}\n```<end>", V3.1 "NAME<sep>{...}<end>"
                boolean fenced = text.toolTemplateSource().map(t -> t.contains("```json")).orElse(true);
                String sep = ToolCallFormat.DEEPSEEK_SEP;
                String end = ToolCallFormat.DEEPSEEK_CALL_END;
                JsonSchemaGrammar g = fenced
                        ? JsonSchemaGrammar.taggedToolCall(names(tools), parameters(tools), "function" + sep, "\n```json\n", "```" + end)
                        : JsonSchemaGrammar.taggedToolCall(names(tools), parameters(tools), "", sep, end);
                grammar = new ToolCallGrammar(g, ToolCallFormat.DEEPSEEK_CALL_BEGIN, end, false, List.of(sep));
            }
            if (format != null) {
                parser = new ToolCallParser(format, names(tools), stringArguments(tools));
                if (toolChoice.forces()) {
                    parser = parser.withPrefill(format.prefill(toolChoice.function()));
                }
            } else if (toolChoice.forces()) {
                throw ApiException.invalid("tool_choice", "this model's chat template shows no tool-call format RedHare reads"
                        + " (Hermes/Qwen <tool_call>, Llama 3 JSON, Mistral [TOOL_CALLS], DeepSeek-V3, GLM-4.5), so a call cannot be required:"
                        + " use tool_choice \"auto\"");
            }
        }
        String rendered = render(messages, withTools ? tools : null, templateArgs);
        if (parser != null) {
            rendered += parser.prefill(); // the reply continues a call the prompt has begun
        }
        return new ChatPrompt(text.encodeRendered(rendered), rendered, text.reasoning(rendered), parser, grammar);
    }

    /** Each named tool's {@code parameters} schema (null where it has none), in the order of {@link #names}. */
    private static List<com.fasterxml.jackson.databind.JsonNode> parameters(List<Map<String, Object>> tools) {
        List<com.fasterxml.jackson.databind.JsonNode> out = new java.util.ArrayList<>();
        for (Map<String, Object> t : tools) {
            if (t.get("function") instanceof Map<?, ?> fn && fn.get("name") instanceof String) {
                out.add(fn.get("parameters") == null ? null : JSON.valueToTree(fn.get("parameters")));
            }
        }
        return out;
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    @SuppressWarnings("unchecked")
    /** Per tool name, the arguments its schema types as strings ({@link ToolArguments#stringTyped}). */
    private static Map<String, Set<String>> stringArguments(List<Map<String, Object>> tools) {
        Map<String, Set<String>> out = new java.util.HashMap<>();
        for (Map<String, Object> t : tools) {
            if (t.get("function") instanceof Map<?, ?> fn && fn.get("name") instanceof String n && fn.get("parameters") != null) {
                out.put(n, ToolArguments.stringTyped(JSON.valueToTree(fn.get("parameters"))));
            }
        }
        return out;
    }

    private static List<String> names(List<Map<String, Object>> tools) {
        List<String> out = new java.util.ArrayList<>();
        for (Map<String, Object> t : tools) {
            if (t.get("function") instanceof Map<?, ?> fn && fn.get("name") instanceof String n) {
                out.add(n);
            }
        }
        return out;
    }

    private String render(List<Map<String, Object>> messages, List<Map<String, Object>> tools, Map<String, Object> templateArgs) {
        String rendered;
        try {
            rendered = text.renderChat(messages, tools, true, templateArgs);
        } catch (TokenizerException e) {
            // no chat template: the message says so and what to use instead
            throw ApiException.invalid("messages", e.getMessage() + " (or use /v1/completions with a plain prompt)");
        } catch (TemplateException e) {
            // the template rejected the conversation (roles out of order, unsupported content): the client's to fix
            throw ApiException.invalid("messages", "the model's chat template could not render these messages: " + e.getMessage());
        }
        return rendered;
    }

    @Override
    public Detokenizer decoder() {
        return text.tokenizer().detokenizer(true);
    }

    @Override
    public Detokenizer decoder(List<String> keepSpecial) {
        return text.detokenizer(keepSpecial);
    }

    @Override
    public String decode(int[] ids) {
        return text.tokenizer().decode(ids, true);
    }

    @Override
    public String tokenText(int id) {
        return text.tokenizer().decode(new int[] {id}, false);
    }

    @Override
    public boolean isSpecial(int id) {
        return text.tokenizer().isSpecial(id);
    }

    @Override
    public int vocabularySize() {
        return text.tokenizer().vocabSize();
    }

    @Override
    public byte[] tokenBytes(int id) {
        String t = tokenText(id);
        if (t.indexOf('\uFFFD') < 0) {
            return t.getBytes(StandardCharsets.UTF_8);
        }
        // The token holds part of a UTF-8 character: recover its bytes from the raw vocabulary entry.
        String raw = text.tokenizer().tokenString(id);
        if (raw.length() == 6 && raw.startsWith("<0x") && raw.endsWith(">")) { // SentencePiece byte fallback, e.g. <0xE4>
            try {
                return new byte[] {(byte) Integer.parseInt(raw.substring(3, 5), 16)};
            } catch (NumberFormatException ignored) {
                // not a byte token after all
            }
        }
        byte[] out = new byte[raw.length()];
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            int b = c < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[c] : -1;
            if (b < 0) {
                return t.getBytes(StandardCharsets.UTF_8); // not a byte-level entry: the text is the best we have
            }
            out[i] = (byte) b;
        }
        return out;
    }

    /**
     * The inverse of the byte-level BPE alphabet (GPT-2, Qwen, Llama 3): printable bytes stand for
     * themselves, the other 68 bytes are shifted to U+0100 and up in byte order. -1 for other chars.
     */
    private static int[] byteLevelInverse() {
        int[] inv = new int[256 + 68];
        java.util.Arrays.fill(inv, -1);
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            inv[printable ? b : 256 + shifted++] = b;
        }
        return inv;
    }

    @Override
    public Set<Integer> stopTokenIds() {
        return text.stopTokenIds();
    }

    @Override
    public String describe() {
        return "tokenizer with " + text.tokenizer().vocabSize() + " tokens, "
                + (text.templates().isPresent() ? "chat template" : "no chat template (completions only)");
    }
}
