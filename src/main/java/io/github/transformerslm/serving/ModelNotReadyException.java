package io.github.transformerslm.serving;

/** The model is still loading (or failed to): the request may be retried later. */
public class ModelNotReadyException extends RuntimeException {
    public ModelNotReadyException(String message) {
        super(message);
    }
}
