package io.github.transformerslm.openai;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.web.JsonBodies;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * The request bodies of /v1/completions and /v1/chat/completions: each endpoint's own keys, bound by
 * Jackson. The sampling keys both share (temperature, max_tokens, ...) are read from the same body by
 * {@link SamplingParameters}, which refuses any other key. A field of the wrong type is refused naming it.
 */
final class OpenAiRequests {
    private OpenAiRequests() {}

    /** {@code json}: the service's mapper, which binds scalars strictly (web.StrictRequestBodies). */
    static <T> T bind(ObjectMapper json, JsonNode body, Class<T> type) {
        OpenAiException.requireObject(body);
        return JsonBodies.bind(json, body, type);
    }

    /** {@code prompt}: a string, strings, token ids, or lists of token ids, told apart by {@link CompletionsController}. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Completion(JsonNode prompt, Boolean stream, @JsonProperty("stream_options") StreamOptions streamOptions,
            Integer logprobs, Boolean echo, JsonNode suffix, @JsonProperty("best_of") Integer bestOf) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    record Chat(List<Message> messages, Boolean stream, @JsonProperty("stream_options") StreamOptions streamOptions,
            Boolean logprobs, @JsonProperty("top_logprobs") Integer topLogprobs,
            @JsonProperty("response_format") ResponseFormat responseFormat, JsonNode tools) {}

    /** {@code content}: a string, or a list of text parts. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Message(String role, JsonNode content, String name) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    record StreamOptions(@JsonProperty("include_usage") Boolean includeUsage) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    record ResponseFormat(String type) {}

    static boolean isTrue(Boolean flag) {
        return flag != null && flag;
    }

    static boolean includeUsage(StreamOptions options) {
        return options != null && isTrue(options.includeUsage());
    }
}
