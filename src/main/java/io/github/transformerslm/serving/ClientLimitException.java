package io.github.transformerslm.serving;

/** One client has more requests in flight than MAX_CLIENT_REQUESTS allows. */
public class ClientLimitException extends RuntimeException {
    public ClientLimitException(String message) {
        super(message);
    }
}
