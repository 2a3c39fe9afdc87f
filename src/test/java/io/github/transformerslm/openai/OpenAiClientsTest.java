package io.github.transformerslm.openai;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import io.github.transformerslm.web.ServiceClient;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;

/** Real OpenAI clients against the service: the official Java SDK and LangChain4j, streaming and not. */
@Tag("integration")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {"lm.model=src/test/resources/gpt2-random", "lm.exit-on-load-failure=false", "lm.threads=1"})
class OpenAiClientsTest {
    @LocalServerPort
    int port;

    OpenAIClient sdk;

    @BeforeEach
    void ready() {
        new ServiceClient(base()).awaitReady(Duration.ofSeconds(60));
        sdk = OpenAIOkHttpClient.builder().baseUrl(base() + "/v1").apiKey("unused").build();
    }

    String base() {
        return "http://localhost:" + port;
    }

    @Test
    void officialSdkChatCompletion() {
        ChatCompletion c = sdk.chat().completions().create(ChatCompletionCreateParams.builder().model("any")
                .addSystemMessage("You are terse.").addUserMessage("Hello!").maxCompletionTokens(6).seed(3).build());
        assertThat(c.choices()).hasSize(1);
        assertThat(c.choices().get(0).message().content()).isPresent();
        assertThat(c.usage()).isPresent();
        assertThat(c.usage().get().completionTokens()).isBetween(1L, 6L);
        assertThat(c.usage().get().totalTokens()).isEqualTo(c.usage().get().promptTokens() + c.usage().get().completionTokens());
    }

    @Test
    void officialSdkStreamsTheSameTextItReturnsWhole() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("any").addUserMessage("Hi")
                .maxCompletionTokens(8).temperature(0.0).build();
        String whole = sdk.chat().completions().create(params).choices().get(0).message().content().orElse("");
        StringBuilder streamed = new StringBuilder();
        String finish = null;
        try (StreamResponse<ChatCompletionChunk> stream = sdk.chat().completions().createStreaming(params)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                for (ChatCompletionChunk.Choice choice : chunk.choices()) {
                    choice.delta().content().ifPresent(streamed::append);
                    if (choice.finishReason().isPresent()) {
                        finish = choice.finishReason().get().asString();
                    }
                }
            }
        }
        // The non-streamed answer is cut at the transcript's next speaker; streaming stops there too.
        assertThat(streamed.toString().strip()).isEqualTo(whole);
        assertThat(finish).isIn("stop", "length");
    }

    @Test
    void streamsAreByteCompatibleWithOpenAis() {
        io.github.transformerslm.web.ServiceClient.Response r = new io.github.transformerslm.web.ServiceClient(base())
                .post("/v1/completions", "{\"model\": \"any\", \"prompt\": \"Hi\", \"max_tokens\": 3, \"stream\": true}");
        assertThat(r.status()).isEqualTo(200);
        // "data: " with its space before every event, and OpenAI's terminator, as OpenAI, vLLM and llama.cpp send.
        assertThat(r.body()).matches("(data: \\{[^\n]*\\}\n\n)+data: \\[DONE\\]\n\n");
    }

    @Test
    void officialSdkCompletionsAndModels() {
        Completion c = sdk.completions().create(CompletionCreateParams.builder()
                .model(CompletionCreateParams.Model.of("any")).prompt("Once upon a time").maxTokens(5).n(2).seed(1).build());
        assertThat(c.choices()).hasSize(2);
        assertThat(c.usage().get().completionTokens()).isEqualTo(10);
        assertThat(sdk.models().list().data()).hasSize(1);
    }

    @Test
    void langChain4jChatModelStreamingAndNot() throws Exception {
        OpenAiChatModel chat = OpenAiChatModel.builder().baseUrl(base() + "/v1").apiKey("unused").modelName("any")
                .maxTokens(6).temperature(0.0).build();
        String answer = chat.chat("Hello there");
        assertThat(answer).isNotNull();

        OpenAiStreamingChatModel streaming = OpenAiStreamingChatModel.builder().baseUrl(base() + "/v1").apiKey("unused")
                .modelName("any").maxTokens(6).temperature(0.0).build();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        StringBuilder partial = new StringBuilder();
        streaming.chat("Hello there", new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String token) {
                partial.append(token);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse response = done.get(60, TimeUnit.SECONDS);
        assertThat(response.aiMessage().text()).isEqualTo(partial.toString());
        assertThat(partial.toString().strip()).isEqualTo(answer);
    }

    @Test
    void errorsUseOpenAisShape() {
        ServiceClient client = new ServiceClient(base());
        ServiceClient.Response unknown = client.post("/v1/chat/completions",
                "{\"model\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"temprature\": 1}");
        assertThat(unknown.status()).isEqualTo(400);
        JsonNode error = unknown.json().get("error");
        assertThat(error.get("param").asString()).isEqualTo("temprature");
        assertThat(error.get("type").asString()).isEqualTo("invalid_request_error");
        assertThat(client.post("/v1/chat/completions", "{\"model\": \"x\", \"messages\": [{\"role\": \"user\","
                + " \"content\": \"hi\"}], \"temperature\": 3}").json().get("error").get("param").asString())
                .isEqualTo("temperature");
        assertThat(client.post("/v1/chat/completions", "{\"model\": \"x\", \"messages\": [{\"role\": \"user\","
                + " \"content\": \"hi\"}], \"response_format\": {\"type\": \"json_schema\"}}").status()).isEqualTo(400);
        ServiceClient.Response json = client.post("/v1/chat/completions", "{\"model\": \"x\", \"messages\": [{\"role\":"
                + " \"user\", \"content\": \"hi\"}], \"max_tokens\": 2, \"response_format\": {\"type\": \"json_object\"}}");
        assertThat(json.status()).isEqualTo(200);
        assertThat(client.post("/v1/completions", "{\"model\": \"x\", \"prompt\": [99999999]}").json()
                .get("error").get("param").asString()).isEqualTo("prompt");
    }
}
