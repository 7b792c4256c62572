package org.redhare.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.redhare.text.template.ChatTemplate;
import org.redhare.text.template.ChatTemplates;
import org.redhare.text.template.TemplateException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "template", mixinStandardHelpOptions = true,
        description = "Render a conversation with a chat template and print the prompt exactly (no newline added).")
final class TemplateCommand implements Callable<Integer> {
    static final class Source {
        @Option(names = {"-m", "--model"}, paramLabel = "PATH", description = "use the model's own chat template (folder or .gguf)")
        Path model;

        @Option(names = "--template", paramLabel = "FILE.jinja", description = "a template file")
        Path template;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--messages", required = true, paramLabel = "FILE.json",
            description = "the conversation: a JSON array of messages, or an object with \"messages\" (and \"tools\")")
    Path messages;

    @Option(names = "--tools", paramLabel = "FILE.json", description = "tool definitions: a JSON array")
    Path tools;

    @Option(names = "--no-generation-prompt", description = "do not open the assistant's turn (add_generation_prompt=false)")
    boolean noGenerationPrompt;

    @Option(names = "--var", paramLabel = "NAME=JSON",
            description = "set a template variable to a JSON value, e.g. --var enable_thinking=false --var bos_token='\"<s>\"'; "
                    + "a value that is not JSON is taken as a string")
    List<String> vars = List.of();

    @Override
    public Integer call() throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode conv = readJson(json, messages, "--messages");
        JsonNode msgs = conv.isObject() ? conv.path("messages") : conv;
        if (!msgs.isArray()) {
            throw CliException.usage(messages + ": expected a JSON array of messages or an object with a \"messages\" array");
        }
        JsonNode toolNode = tools != null ? readJson(json, tools, "--tools") : conv.isObject() ? conv.get("tools") : null;
        if (toolNode != null && !toolNode.isNull() && !toolNode.isArray()) {
            throw CliException.usage("tools must be a JSON array");
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        ChatTemplate template;
        try {
            if (source.model != null) {
                ChatTemplates ts = ChatTemplates.load(source.model).orElseThrow(() -> CliException.usage(source.model
                        + " has no chat template (no chat_template in tokenizer_config.json or the GGUF metadata); pass one with --template"));
                template = ts.select(toolNode != null && toolNode.size() > 0);
                extra.putAll(ts.specialTokens());
            } else {
                if (!Files.isRegularFile(source.template)) {
                    throw CliException.usage("--template " + source.template + " is not a file");
                }
                template = ChatTemplate.compile(Files.readString(source.template));
            }
            for (String v : vars) {
                int eq = v.indexOf('=');
                if (eq <= 0) {
                    throw CliException.usage("--var expects NAME=JSON, got '" + v + "'");
                }
                String value = v.substring(eq + 1);
                Object parsed;
                try {
                    parsed = json.readValue(value, Object.class);
                } catch (IOException notJson) {
                    parsed = value;
                }
                extra.put(v.substring(0, eq), parsed);
            }
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> messageList = json.convertValue(msgs, List.class);
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> toolList = toolNode == null || toolNode.isNull() ? null : json.convertValue(toolNode, List.class);
            String rendered = template.render(messageList, toolList, !noGenerationPrompt, extra);
            PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
            out.print(rendered);
            out.flush();
            return 0;
        } catch (TemplateException e) {
            throw CliException.failure("the chat template failed: " + e.getMessage());
        }
    }

    private static JsonNode readJson(ObjectMapper json, Path file, String option) {
        if (!Files.isRegularFile(file)) {
            throw CliException.usage(option + " " + file + " is not a file");
        }
        try {
            return json.readTree(file.toFile());
        } catch (IOException e) {
            throw CliException.usage(option + " " + file + " is not valid JSON: " + e.getMessage());
        }
    }
}
