package io.github.transformerslm.serving;

import java.util.concurrent.CancellationException;

/**
 * The client closed its connection while its request was generating: the request's sequences are
 * cancelled (counted as {@code lm.requests{outcome=cancelled}}) and nothing is answered.
 */
public class ClientDisconnectedException extends CancellationException {
    public ClientDisconnectedException() {
        super("the client closed the connection");
    }
}
