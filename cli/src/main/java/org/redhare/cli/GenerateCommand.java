package org.redhare.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.concurrent.Callable;
import org.redhare.core.Parallel;
import org.redhare.engine.Engine;
import org.redhare.engine.EngineConfig;
import org.redhare.engine.GenerationEvent;
import org.redhare.engine.GenerationHandle;
import org.redhare.engine.GenerationRequest;
import org.redhare.engine.SamplingParams;
import org.redhare.engine.TokenConstraint;
import org.redhare.server.JsonConstraint;
import org.redhare.server.ModelTextFormatter;
import org.redhare.text.json.JsonSchemaGrammar;
import org.redhare.text.template.ReasoningParser;
import org.redhare.model.CausalLM;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generate a continuation of a prompt.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    static final class Input {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "prompt text (tokenized with the model's tokenizer)")
        String prompt;

        @Option(names = "--tokens", paramLabel = "IDS", description = "prompt as token ids, used exactly as given (no BOS added): 1,2,3")
        String tokens;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Option(names = "--chat", description = "wrap --prompt as one user message in the model's chat template (reasoning is reported apart)")
    boolean chat;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "128", description = "most tokens to generate (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Mixin SamplingOptions samplingOptions;

    @Option(names = "--ignore-eos", description = "keep generating past the end-of-sequence token")
    boolean ignoreEos;

    @Option(names = "--ctx-size", paramLabel = "N", description = "context length (default: the model's)")
    Integer ctxSize;

    @Option(names = "--json", description = "print one JSON object: token ids, text, finish reason, timings")
    boolean json;

    @Option(names = "--json-schema", paramLabel = "FILE|object",
            description = "constrain the output to JSON: 'object' for any JSON object, or a file holding a JSON Schema (as the API's"
                    + " response_format; generation ends when the JSON is whole)")
    String jsonSchema;

    /** The grammar --json-schema asks for, or null; read before the model loads, so a bad schema fails at once. */
    private JsonSchemaGrammar grammar() {
        if (jsonSchema == null) {
            return null;
        }
        try {
            return jsonSchema.equals("object") ? JsonSchemaGrammar.anyObject() : JsonSchemaGrammar.fromSchema(Files.readString(Path.of(jsonSchema)));
        } catch (java.io.IOException e) {
            throw CliException.usage("--json-schema " + jsonSchema + ": cannot read it (" + e.getMessage() + "); give 'object' or a schema file");
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--json-schema " + jsonSchema + ": " + e.getMessage());
        }
    }

    /** A constraint for {@code grammar} (null: none). */
    private static TokenConstraint constraint(JsonSchemaGrammar grammar, TextCodec codec, CausalLM model, String rendered) {
        if (grammar == null) {
            return null;
        }
        if (codec.text() == null) {
            throw CliException.usage("--json-schema needs the model's tokenizer, and this model has none");
        }
        ModelTextFormatter f = new ModelTextFormatter(codec.text());
        // a chat prompt: the model may reason first (the template opened <think>, or the reply opens it)
        return rendered != null ? new JsonConstraint(grammar, f, model.vocabSize(), ReasoningParser.forPrompt(rendered))
                : new JsonConstraint(grammar, f, model.vocabSize(), false);
    }

    @Override
    public Integer call() throws Exception {
        SamplingParams sampling = samplingOptions.params(modelOptions.model);
        JsonSchemaGrammar format = grammar();
        if (maxTokens < 1) {
            throw CliException.usage("--max-tokens must be at least 1, got " + maxTokens);
        }
        Supplier<TextCodec> loading = TextCodec.preload(modelOptions.model, input.prompt != null ? "--prompt" : null);
        try (Parallel pool = modelOptions.pool(); CausalLM model = modelOptions.loadForOneSequence(pool)) {
            TextCodec codec = loading.get();
            if (chat && input.prompt == null) {
                throw CliException.usage("--chat needs --prompt TEXT (token ids are used exactly as given)");
            }
            String rendered = chat ? codec.renderChat(List.of(ChatCommand.message("user", input.prompt)), true, Map.of()) : null;
            int[] prompt = input.tokens != null ? TokenIds.parse(input.tokens)
                    : chat ? codec.encodeRendered(rendered) : codec.encodePrompt(input.prompt);
            int ctx = ctxSize != null ? ctxSize : model.config().contextLength();
            if (ctx > model.config().contextLength()) {
                throw CliException.usage("--ctx-size " + ctx + " exceeds the model's context length " + model.config().contextLength());
            }
            Set<Integer> stops = new HashSet<>(model.config().eosTokenIds());
            stops.addAll(codec.stopTokenIds());
            int needed = Math.min(ctx, prompt.length + maxTokens + 1);
            try (Engine engine = new Engine(model, modelOptions.withDrafting(EngineConfig.single(Math.max(needed, 2), modelOptions.kvDtype(model)).withWindowPool(model.kvLayout())))) {
                if (prompt.length >= needed && prompt.length >= ctx) {
                    throw new org.redhare.engine.InvalidRequestException("the prompt has " + prompt.length + " tokens but the context holds "
                            + ctx + ": shorten the prompt or raise --ctx-size");
                }
                GenerationHandle h = engine.submit(new GenerationRequest(prompt, sampling, maxTokens, stops, ignoreEos, 0, false, false,
                        constraint(format, codec, model, rendered)));
                List<Integer> ids = new ArrayList<>();
                PrintStream out = System.out;
                TextCodec.Stream text = codec.stream();
                GenerationEvent.Finished fin = h.stream(t -> {
                    ids.add(t.id());
                    if (!json) {
                        String delta = text.push(t.id());
                        out.print(delta != null ? delta : (ids.size() > 1 ? "," : "") + t.id());
                        out.flush();
                    }
                });
                String tail = text.flush();
                if (!json) {
                    if (tail != null) {
                        out.print(tail);
                    }
                    out.println();
                    if (fin.message() != null) {
                        Progress.info("stopped: " + fin.message());
                    }
                    Progress.info(String.format("prompt: %d tokens, %.1f tok/s | generated: %d tokens, %.1f tok/s | finish: %s",
                            fin.usage().promptTokens(), fin.usage().promptTokensPerSecond(), fin.usage().completionTokens(),
                            fin.usage().decodeTokensPerSecond(), fin.reason().name().toLowerCase()));
                } else {
                    ObjectMapper m = new ObjectMapper();
                    ObjectNode o = m.createObjectNode();
                    o.putArray("prompt_tokens").addAll(java.util.Arrays.stream(prompt).mapToObj(m.getNodeFactory()::numberNode).toList());
                    var arr = o.putArray("tokens");
                    ids.forEach(arr::add);
                    String full = codec.decode(ids.stream().mapToInt(Integer::intValue).toArray());
                    if (full != null) {
                        o.put("text", full);
                    } else {
                        o.putNull("text");
                    }
                    if (chat) {
                        var split = org.redhare.text.template.ReasoningParser.forPrompt(rendered).parse(full);
                        o.put("reasoning_content", split.reasoning());
                        o.put("content", split.content());
                    }
                    o.put("finish_reason", fin.reason().name().toLowerCase());
                    if (fin.message() != null) {
                        o.put("message", fin.message());
                    }
                    ObjectNode tm = o.putObject("timings");
                    tm.put("prompt_tokens", fin.usage().promptTokens());
                    tm.put("prompt_ms", fin.usage().promptNanos() / 1e6);
                    tm.put("prompt_tokens_per_second", fin.usage().promptTokensPerSecond());
                    tm.put("generated_tokens", fin.usage().completionTokens());
                    tm.put("decode_ms", fin.usage().decodeNanos() / 1e6);
                    tm.put("decode_tokens_per_second", fin.usage().decodeTokensPerSecond());
                    if (engine.config().draftTokens() > 0) {
                        tm.put("draft_tokens", engine.stats().draftTokens());
                        tm.put("draft_accepted", engine.stats().draftAccepted());
                    }
                    out.println(m.writeValueAsString(o));
                }
                return fin.reason() == org.redhare.engine.FinishReason.ERROR ? 1 : 0;
            }
        }
    }
}
