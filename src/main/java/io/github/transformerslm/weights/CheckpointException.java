package io.github.transformerslm.weights;

/**
 * A checkpoint that cannot be served. The message is one line naming the file and, where one is at
 * fault, the tensor, because it is what the operator reads in the startup log.
 */
public class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
