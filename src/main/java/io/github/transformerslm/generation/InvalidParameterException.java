package io.github.transformerslm.generation;

/** A generation parameter with a value the service refuses; {@link #field()} names the key. */
public class InvalidParameterException extends RequestFieldException {
    public InvalidParameterException(String parameter, String message) {
        super(parameter, message);
    }
}
