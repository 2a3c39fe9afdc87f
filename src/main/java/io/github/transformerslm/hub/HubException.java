package io.github.transformerslm.hub;

import io.github.transformerslm.weights.CheckpointException;

/** A model that cannot be fetched from the Hub or found in its cache; the message says what to do. */
public class HubException extends CheckpointException {
    public HubException(String message) {
        super(message);
    }

    public HubException(String message, Throwable cause) {
        super(message, cause);
    }
}
