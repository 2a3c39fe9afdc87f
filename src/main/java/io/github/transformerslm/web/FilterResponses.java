package io.github.transformerslm.web;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * Errors written by filters, before any controller runs, in the shape of the endpoint family asked:
 * OpenAI's {"error": {...}} under /v1, RFC 9457 problem details elsewhere.
 */
final class FilterResponses {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private FilterResponses() {}

    static void error(HttpServletRequest request, HttpServletResponse response, int status, String title,
            String detail, String type, String openAiCode) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        if (request.getRequestURI().startsWith("/v1/") || request.getRequestURI().equals("/v1")) {
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("message", detail);
            error.put("type", status == 401 ? "invalid_request_error" : status >= 500 ? "server_error" : "invalid_request_error");
            error.put("param", null);
            error.put("code", openAiCode);
            body.put("error", error);
            response.setContentType("application/json");
        } else {
            body.put("type", "https://github.com/transformers-lm/problems/" + type);
            body.put("title", title);
            body.put("status", status);
            body.put("detail", detail);
            body.put("instance", request.getRequestURI());
            response.setContentType("application/problem+json");
        }
        response.setStatus(status);
        response.setCharacterEncoding(StandardCharsets.UTF_8.name());
        response.getOutputStream().write(JSON.writeValueAsBytes(body));
    }
}
