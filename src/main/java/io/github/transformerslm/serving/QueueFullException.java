package io.github.transformerslm.serving;

/** More requests wait for the model than MAX_QUEUE allows. */
public class QueueFullException extends RuntimeException {
    public QueueFullException(String message) {
        super(message);
    }
}
