package io.github.transformerslm.serving;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/** Readiness: UP only once the model is loaded and warmed up. */
@Component("model")
class ModelHealthIndicator implements HealthIndicator {
    private final ModelHost host;

    ModelHealthIndicator(ModelHost host) {
        this.host = host;
    }

    @Override
    public Health health() {
        return switch (host.state()) {
            case READY -> Health.up().withDetail("model", host.model().name()).build();
            case LOADING -> Health.outOfService().withDetail("state", "loading").build();
            case FAILED -> Health.down().withDetail("error", String.valueOf(host.failure())).build();
            case DRAINING -> Health.outOfService().withDetail("state", "draining: shutting down").build();
        };
    }
}
