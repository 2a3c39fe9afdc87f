package io.github.transformerslm.generation;

/**
 * A value in a client's request that the service refuses; {@link #field()} names it, as a generation
 * parameter or a JSON path. Each API maps the subclasses to its own status and error body.
 */
public abstract class RequestFieldException extends RuntimeException {
    private final String field;

    protected RequestFieldException(String field, String message) {
        super(message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
