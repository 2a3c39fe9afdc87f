package io.github.transformerslm.generation;

/** A generation parameter with a value the service refuses; {@link #parameter()} names the key. */
public class InvalidParameterException extends RuntimeException {
    private final String parameter;

    public InvalidParameterException(String parameter, String message) {
        super(message);
        this.parameter = parameter;
    }

    public String parameter() {
        return parameter;
    }
}
