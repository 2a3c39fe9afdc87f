package io.github.transformerslm.config;

/**
 * A setting the service cannot start with: a missing or malformed file that a variable names. Its
 * message is one line naming the variable, the file and what is wrong (never the file's contents);
 * {@link StartupConfigurationFailureAnalyzer} reports it without a stack trace.
 */
public class StartupConfigurationException extends IllegalStateException {
    public StartupConfigurationException(String message) {
        super(message);
    }
}
