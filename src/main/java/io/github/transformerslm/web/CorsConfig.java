package io.github.transformerslm.web;

import io.github.transformerslm.config.ServiceProperties;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.config.annotation.CorsRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/** CORS_ALLOWED_ORIGINS: the origins whose browser pages may call the API; none unless an operator says so. */
@Configuration
class CorsConfig implements WebMvcConfigurer {
    private final ServiceProperties properties;

    CorsConfig(ServiceProperties properties) {
        this.properties = properties;
    }

    @Override
    public void addCorsMappings(CorsRegistry registry) {
        if (properties.corsOrigins().isEmpty()) {
            return;
        }
        registry.addMapping("/**").allowedOrigins(properties.corsOrigins().toArray(String[]::new))
                .allowedMethods("GET", "POST", "OPTIONS").allowedHeaders("*")
                .exposedHeaders("Retry-After", "X-Dialog-Truncated-Turns").maxAge(600);
    }
}
