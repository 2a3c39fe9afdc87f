package io.github.transformerslm.web;

import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.serving.ModelHost;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Requests to the model's endpoints that arrive while it loads wait for it, up to their deadline
 * (X-Request-Timeout or REQUEST_TIMEOUT), instead of failing at once: Dream's agent sends as soon as the
 * port opens and does not retry. Readiness stays DOWN meanwhile; /ping and health answer at once.
 */
@Configuration
class ModelLoadWait implements WebMvcConfigurer {
    /** Holds a request to the model while it loads, until the request's own deadline. */
    private final HandlerInterceptor waitForModel;

    ModelLoadWait(ModelHost host, ServiceProperties properties) {
        this.waitForModel = new HandlerInterceptor() {
            @Override
            public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
                if (host.state() == ModelHost.State.LOADING) {
                    host.awaitModel(RequestContexts.of(request, properties.requestTimeout()).deadline());
                }
                return true;
            }
        };
    }

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(waitForModel)
                .addPathPatterns("/respond", "/generate_goals", "/generate", "/generate_stream", "/v1/**");
    }
}
