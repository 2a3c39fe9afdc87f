package io.github.transformerslm.config;

import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;

/** The service's defaults as a bean, for @WebMvcTest slices, which do not bind configuration properties. */
@TestConfiguration
public class TestServicePropertiesConfig {
    @Bean
    ServiceProperties serviceProperties() {
        return TestServiceProperties.defaults();
    }
}
