package io.github.transformerslm.web;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.responses.ApiResponse;
import java.util.Map;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The OpenAPI description (/v3/api-docs, Swagger UI at /docs), with the errors every endpoint may answer. */
@Configuration
class OpenApiConfig {
    private static final Map<String, String> ERRORS = Map.of(
            "400", "Malformed body, a wrong type, or an unknown parameter (RFC 9457 problem naming the field; OpenAI's error shape under /v1)",
            "401", "API_KEY is set and the request has no valid key",
            "413", "The body is larger than MAX_REQUEST_BYTES",
            "422", "A parameter out of range, or a prompt that does not fit the context (the problem names the field)",
            "429", "The client has MAX_CLIENT_REQUESTS requests in flight (Retry-After)",
            "503", "The model failed to load, the queue is full, or the service is shutting down (Retry-After)",
            "504", "The request's deadline (X-Request-Timeout or REQUEST_TIMEOUT) passed");

    @Bean
    OpenAPI serviceDescription() {
        return new OpenAPI().info(new Info().title("transformers-lm").description(
                "Serves one Hugging Face causal language model: Dream's /respond and /generate_goals, TGI's /generate,"
                        + " and the OpenAI API under /v1."));
    }

    @Bean
    OpenApiCustomizer errorResponses() {
        return api -> api.getPaths().forEach((path, item) -> item.readOperations().forEach(operation -> {
            if (!path.startsWith("/ping")) {
                ERRORS.forEach((status, text) -> operation.getResponses().putIfAbsent(status, new ApiResponse().description(text)));
            }
        }));
    }
}
