package io.github.transformerslm.web;

/** A request body of the wrong shape; {@link #field()} is the JSON path at fault. */
public class InvalidRequestException extends RuntimeException {
    private final String field;

    public InvalidRequestException(String field, String message) {
        super(message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
