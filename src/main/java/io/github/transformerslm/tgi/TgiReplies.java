package io.github.transformerslm.tgi;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** TGI's reply bodies, field for field as TGI writes them. */
final class TgiReplies {
    private TgiReplies() {}

    /** One generated token. */
    record Token(int id, String text, float logprob, boolean special) {}

    /** {@code details} of /generate. */
    record Details(@JsonProperty("finish_reason") String finishReason,
            @JsonProperty("generated_tokens") int generatedTokens,
            Long seed,
            List<Token> prefill,
            List<Token> tokens) {}

    /** The body of /generate; {@code details} only when the request asked for them. */
    record Generated(@JsonProperty("generated_text") String generatedText,
            @JsonInclude(JsonInclude.Include.NON_NULL) Details details) {}

    /** {@code details} of a stream's last event. */
    record StreamDetails(@JsonProperty("finish_reason") String finishReason,
            @JsonProperty("generated_tokens") int generatedTokens,
            Long seed) {}

    /** One event of /generate_stream: the whole text and the details come with the last one only (null before). */
    record StreamEvent(int index, Token token,
            @JsonProperty("generated_text") String generatedText,
            StreamDetails details) {}

    /** A stream's error event. */
    record StreamError(String error, @JsonProperty("error_type") String errorType) {}
}
