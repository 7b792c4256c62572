package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK as the client: chat (plain, streamed), completions with logprobs, stop, usage, errors. */
class OpenAiSdkTest {
    static TestServer ts;
    static OpenAIClient client;

    @BeforeAll
    static void up() {
        ts = TestServer.fixture(ServerConfig.local("tiny").withApiKey("sekrit"));
        client = OpenAIOkHttpClient.builder().baseUrl(ts.base() + "/v1").apiKey("sekrit").maxRetries(0).build();
    }

    @AfterAll
    static void down() {
        if (ts != null) ts.close();
    }

    private static ChatCompletionCreateParams chat(int maxTokens) {
        return ChatCompletionCreateParams.builder().model("tiny").addSystemMessage("You are terse.").addUserMessage("Hello!")
                .maxCompletionTokens(maxTokens).temperature(0.0).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build();
    }

    @Test
    void plainAndStreamedChatAgree() {
        ChatCompletion c = client.chat().completions().create(chat(10));
        String text = c.choices().get(0).message().content().orElseThrow();
        assertThat(text).isNotEmpty();
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.LENGTH);
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(10);
        assertThat(c.usage().orElseThrow().promptTokens()).isGreaterThan(10);

        StringBuilder streamed = new StringBuilder();
        long[] usage = {-1};
        ChatCompletionCreateParams sp = chat(10).toBuilder()
                .streamOptions(com.openai.models.chat.completions.ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(sp)) {
            s.stream().forEach(chunk -> {
                chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append));
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
            });
        }
        assertThat(streamed.toString()).isEqualTo(text);
        assertThat(usage[0]).isEqualTo(10);
    }

    @Test
    void completionWithTokenIdsLogprobsAndStop() {
        CompletionCreateParams p = CompletionCreateParams.builder().model("tiny")
                .prompt(CompletionCreateParams.Prompt.ofArrayOfTokens(List.of(5L, 17L, 300L, 42L, 1000L, 7L, 99L)))
                .maxTokens(12L).temperature(0.0).logprobs(0L).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build();
        Completion full = client.completions().create(p);
        var choice = full.choices().get(0);
        assertThat(choice.logprobs().orElseThrow().tokens().orElseThrow()).hasSize(12);
        assertThat(full.usage().orElseThrow().completionTokens()).isEqualTo(12);
        assertThat(full.usage().orElseThrow().totalTokens()).isEqualTo(19);

        String text = choice.text();
        String stop = text.substring(text.length() / 2, text.length() / 2 + 3);
        Completion cut = client.completions().create(p.toBuilder().stop(stop).build());
        assertThat(cut.choices().get(0).text()).isEqualTo(text.substring(0, text.indexOf(stop)));
        assertThat(cut.choices().get(0).finishReason().asString()).isEqualTo("stop");
    }

    @Test
    void errorsComeBackTyped() {
        OpenAIClient noKey = OpenAIOkHttpClient.builder().baseUrl(ts.base() + "/v1").apiKey("wrong").maxRetries(0).build();
        assertThatThrownBy(() -> noKey.chat().completions().create(chat(4))).isInstanceOf(UnauthorizedException.class)
                .hasMessageContaining("invalid API key");
        // Prompt longer than the context (512 tokens): 400 naming the fix.
        String longText = "word ".repeat(200);
        assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny")
                .addUserMessage(longText).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("context holds 512");
        assertThatThrownBy(() -> client.chat().completions().create(chat(4).toBuilder().temperature(5.0).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("temperature");
    }
}
