package io.github.transformerslm.serving;

/** The request's deadline (X-Request-Timeout or the default) passed before it finished. */
public class RequestTimeoutException extends RuntimeException {
    public RequestTimeoutException(String message) {
        super(message);
    }
}
