package io.github.transformerslm.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * OpenAI's response bodies, field for field and in OpenAI's order. A field OpenAI always sends goes out
 * as null when empty ({@code logprobs}, {@code finish_reason}); one it sends only sometimes is left out.
 */
final class OpenAiBodies {
    private OpenAiBodies() {}

    /** What every completion body and stream chunk of one request shares. */
    record Envelope(String id, String object, long created, String model) {
        Body with(List<?> choices, Usage usage) {
            return new Body(id, object, created, model, choices, usage);
        }

        Envelope as(String otherObject) {
            return new Envelope(id, otherObject, created, model);
        }
    }

    /** A completion, a chat completion, or one chunk of either's stream ({@code usage} on the last only). */
    record Body(String id, String object, long created, String model, List<?> choices,
            @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {}

    record Usage(@JsonProperty("prompt_tokens") int promptTokens,
            @JsonProperty("completion_tokens") int completionTokens,
            @JsonProperty("total_tokens") int totalTokens) {
        Usage(int promptTokens, int completionTokens) {
            this(promptTokens, completionTokens, promptTokens + completionTokens);
        }
    }

    /** /v1/completions: a choice, or its part in a stream chunk. */
    record TextChoice(String text, int index, LegacyLogprobs logprobs,
            @JsonProperty("finish_reason") String finishReason) {}

    /** /v1/completions' logprobs: tokens, their logprobs, the top alternatives and text offsets. */
    record LegacyLogprobs(List<String> tokens, @JsonProperty("token_logprobs") List<Float> tokenLogprobs,
            @JsonProperty("top_logprobs") List<Map<String, Float>> topLogprobs,
            @JsonProperty("text_offset") List<Integer> textOffset) {}

    /** /v1/chat/completions: a whole choice. */
    record ChatChoice(int index, Message message, ChatLogprobs logprobs,
            @JsonProperty("finish_reason") String finishReason) {}

    /** /v1/chat/completions: a choice's part in a stream chunk. */
    record ChatChunkChoice(int index, Delta delta, ChatLogprobs logprobs,
            @JsonProperty("finish_reason") String finishReason) {}

    record Message(String role, String content) {}

    /** The role on a choice's first chunk, text on the others, nothing on its last. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Delta(String role, String content) {}

    record ChatLogprobs(List<TokenLogprob> content) {}

    /** A token with its logprob and UTF-8 bytes; {@code topLogprobs} only on the sampled token, not on alternatives. */
    record TokenLogprob(String token, float logprob, List<Integer> bytes,
            @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("top_logprobs") List<TokenLogprob> topLogprobs) {}

    /** /v1/models. */
    record ModelList(String object, List<ModelCard> data) {}

    record ModelCard(String id, String object, long created, @JsonProperty("owned_by") String ownedBy,
            @JsonProperty("max_model_len") int maxModelLen) {}

    /** OpenAI's error body: {"error": {message, type, param, code}}. */
    record ErrorBody(Error error) {}

    record Error(String message, String type, String param, String code) {}
}
