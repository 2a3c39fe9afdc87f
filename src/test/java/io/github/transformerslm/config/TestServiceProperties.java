package io.github.transformerslm.config;

import java.util.Map;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/** ServiceProperties for tests, bound the way the service binds them: name only what a test sets. */
public final class TestServiceProperties {
    private TestServiceProperties() {}

    /** {@code of(Map.of("language", "RU"))}: keys are the properties' names under {@code lm.}. */
    public static ServiceProperties of(Map<String, String> values) {
        MapConfigurationPropertySource source = new MapConfigurationPropertySource();
        source.put("lm.threads", "1");
        source.put("lm.matmul-split", "1");
        source.put("lm.release-libtorch-code", "true");
        values.forEach((k, v) -> source.put("lm." + k, v));
        return new Binder(source).bindOrCreate("lm", ServiceProperties.class);
    }

    public static ServiceProperties defaults() {
        return of(Map.of());
    }
}
