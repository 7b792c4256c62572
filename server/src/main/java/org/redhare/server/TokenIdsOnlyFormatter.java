package org.redhare.server;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.redhare.text.Detokenizer;

/**
 * The text side of a model without a tokenizer (random-weight fixtures, bare checkpoints): prompts must be
 * token ids, generated text is empty, and the generated ids are reported through logprobs as
 * {@code "token_id:N"} (the convention of vLLM's --return-tokens-as-token-ids). Guessing a text encoding
 * would hand users text the model never meant, so text in is refused with a 400 that says what to do.
 */
public final class TokenIdsOnlyFormatter implements PromptFormatter {
    private final String modelName;

    public TokenIdsOnlyFormatter(String modelName) {
        this.modelName = modelName;
    }

    @Override
    public boolean hasTokenizer() {
        return false;
    }

    @Override
    public int[] encode(String text) {
        throw ApiException.invalid("prompt", "the model " + modelName + " has no tokenizer (no tokenizer.json), so it cannot read text:"
                + " send the prompt to /v1/completions as an array of token ids, or serve a model directory that includes its tokenizer");
    }

    @Override
    public ChatPrompt renderChat(List<Map<String, Object>> messages, List<Map<String, Object>> tools, Map<String, Object> templateArgs) {
        throw ApiException.invalid("messages", "the model " + modelName + " has no tokenizer (no tokenizer.json), so chat is not available:"
                + " use /v1/completions with a prompt of token ids, or serve a model directory that includes its tokenizer and chat template");
    }

    @Override
    public Detokenizer decoder() {
        return new Detokenizer() {
            @Override
            public String push(int id) {
                return "";
            }

            @Override
            public String flush() {
                return "";
            }
        };
    }

    @Override
    public String decode(int[] ids) {
        throw ApiException.invalid("tokens", "the model " + modelName + " has no tokenizer (no tokenizer.json), so token ids cannot be turned into text");
    }

    @Override
    public String tokenText(int id) {
        return "token_id:" + id;
    }

    @Override
    public byte[] tokenBytes(int id) {
        return tokenText(id).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public Set<Integer> stopTokenIds() {
        return Set.of();
    }

    @Override
    public String describe() {
        return "no tokenizer: token-id prompts only, generated text reported as token ids in logprobs";
    }
}
