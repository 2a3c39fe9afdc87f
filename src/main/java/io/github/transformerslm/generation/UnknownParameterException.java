package io.github.transformerslm.generation;

/** A key that no layer of the generation config knows. */
public class UnknownParameterException extends InvalidParameterException {
    public UnknownParameterException(String parameter, String message) {
        super(parameter, message);
    }
}
