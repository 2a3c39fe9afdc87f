package io.github.transformerslm.web;

import io.github.transformerslm.generation.RequestFieldException;

/** A request body of the wrong shape; {@link #field()} is the JSON path at fault. */
public class InvalidRequestException extends RequestFieldException {
    public InvalidRequestException(String field, String message) {
        super(field, message);
    }
}
