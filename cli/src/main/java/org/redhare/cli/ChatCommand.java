package org.redhare.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
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
import org.redhare.model.CausalLM;
import org.redhare.model.WarmUp;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Interactive chat in the terminal with the model's own chat template. Tokens stream as they come;
 * a model's reasoning ({@code <think>…</think>}) is shown apart from the answer. {@code /reset} starts a
 * new conversation, {@code /exit} (or end of input) quits.
 */
@Command(name = "chat", mixinStandardHelpOptions = true, description = "Chat with a model in the terminal (/reset, /exit).")
final class ChatCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    @Option(names = "--system", paramLabel = "TEXT", description = "system prompt")
    String system;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "1024", description = "most tokens per reply (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Mixin SamplingOptions samplingOptions;

    @Option(names = "--no-think", description = "ask thinking models (Qwen3) not to think (enable_thinking=false)")
    boolean noThink;

    @Option(names = "--ctx-size", paramLabel = "N", description = "context length (default: the model's, at most 8192 here)")
    Integer ctxSize;

    @Override
    public Integer call() throws Exception {
        SamplingParams sampling = samplingOptions.params(modelOptions.model);
        Supplier<TextCodec> loading = TextCodec.preload(modelOptions.model, "chat");
        try (Parallel pool = modelOptions.pool(); CausalLM model = modelOptions.loadForOneSequence(pool)) {
            TextCodec codec = loading.get();
            int ctx = ctxSize != null ? ctxSize : Math.min(model.config().contextLength(), 8192);
            Set<Integer> stops = new HashSet<>(model.config().eosTokenIds());
            stops.addAll(codec.stopTokenIds());
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            List<Map<String, Object>> messages = new ArrayList<>();
            resetConversation(messages);
            Map<String, Object> extra = new LinkedHashMap<>();
            if (noThink) {
                extra.put("enable_thinking", false);
            }
            // Warm the kernels up (JIT compilation, about 2 s on a fresh JVM) while the user types the first message;
            // the engine only touches the model once a message is submitted, after the warm-up has finished.
            Thread warmUp = Thread.ofPlatform().daemon().name("redhare-warm-up").start(() -> {
                try {
                    WarmUp.run(model, modelOptions.kvDtype(model));
                } catch (RuntimeException e) {
                    // only speed is lost: the first message compiles the kernels instead
                }
            });
            try (Engine engine = new Engine(model, modelOptions.withDrafting(new EngineConfig(ctx, ctx + 16, modelOptions.kvDtype(model), 16, 512, 1, false).withWindowPool(model.kvLayout())))) {
                out.println("chatting with " + modelOptions.model.getFileName() + " — /reset starts over, /exit quits");
                while (true) {
                    out.print("\n> ");
                    out.flush();
                    String line = in.readLine();
                    if (line == null || line.strip().equals("/exit")) {
                        out.println();
                        warmUp.join(); // the model is closed next: let the warm-up finish using it
                        return 0;
                    }
                    if (line.strip().equals("/reset")) {
                        resetConversation(messages);
                        out.println("(new conversation)");
                        continue;
                    }
                    if (line.isBlank()) {
                        continue;
                    }
                    messages.add(message("user", line));
                    String rendered = codec.renderChat(messages, true, extra);
                    int[] prompt = codec.encodeRendered(rendered);
                    if (prompt.length >= ctx) {
                        out.println("(the conversation no longer fits the context of " + ctx + " tokens: /reset to start over)");
                        messages.remove(messages.size() - 1);
                        continue;
                    }
                    warmUp.join();
                    GenerationHandle h = engine.submit(new GenerationRequest(prompt, sampling, Math.min(maxTokens, ctx - prompt.length),
                            stops, false));
                    TextCodec.Stream text = codec.stream();
                    ReasoningView view = new ReasoningView(out, codec.splitter(rendered));
                    GenerationEvent.Finished fin = h.stream(t -> view.append(text.push(t.id())));
                    view.append(text.flush());
                    view.finish();
                    messages.add(message("assistant", view.answer()));
                    if (fin.message() != null) {
                        out.println("\n(" + fin.message() + ")");
                    }
                    Progress.info(String.format("[%d tokens, %.1f tok/s]", fin.usage().completionTokens(), fin.usage().decodeTokensPerSecond()));
                }
            }
        }
    }

    private void resetConversation(List<Map<String, Object>> messages) {
        messages.clear();
        if (system != null) {
            messages.add(message("system", system));
        }
    }

    static Map<String, Object> message(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}
