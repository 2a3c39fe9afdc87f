package io.github.transformerslm.generation;

/** A generation parameter with a value the service refuses; {@link #field()} names the key. */
public class InvalidParameterException extends RequestFieldException {
    public InvalidParameterException(String parameter, String message) {
        super(parameter, message);
    }

    /** Refuses {@code parameter} with {@code message} unless {@code valid}: a processor's check of its argument. */
    public static void require(boolean valid, String parameter, String message) {
        if (!valid) {
            throw new InvalidParameterException(parameter, message);
        }
    }
}
