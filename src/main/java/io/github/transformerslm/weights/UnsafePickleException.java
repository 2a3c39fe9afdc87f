package io.github.transformerslm.weights;

/** A pickle that names a global outside the allowlist: it would run code if Python unpickled it. */
public final class UnsafePickleException extends CheckpointException {
    public UnsafePickleException(String message) {
        super(message);
    }
}
