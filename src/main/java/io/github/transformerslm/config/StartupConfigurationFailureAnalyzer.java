package io.github.transformerslm.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** A configuration mistake is the operator's to fix: say what and where, not 45 lines of stack. */
class StartupConfigurationFailureAnalyzer extends AbstractFailureAnalyzer<StartupConfigurationException> {
    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, StartupConfigurationException cause) {
        return new FailureAnalysis(cause.getMessage(), "Fix the file or the variable named above and start again.", cause);
    }
}
