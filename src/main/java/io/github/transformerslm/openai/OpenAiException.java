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
