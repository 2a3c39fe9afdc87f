package io.github.transformerslm.openai;

/** A request the OpenAI-compatible API refuses, with the parameter at fault. */
class OpenAiException extends RuntimeException {
    private final int status;
    private final String param;
    private final String code;

    OpenAiException(int status, String param, String code, String message) {
        super(message);
        this.status = status;
        this.param = param;
        this.code = code;
    }

    /** OpenAI's endpoints take a JSON object and nothing else. */
    static void requireObject(tools.jackson.databind.JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new OpenAiException(400, null, "invalid_request", "the request body must be a JSON object");
        }
    }

    int status() {
        return status;
    }

    String param() {
        return param;
    }

    String code() {
        return code;
    }
}
