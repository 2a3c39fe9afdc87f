package io.github.transformerslm.serving;

import io.github.transformerslm.config.ServiceProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationListener;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.stereotype.Component;

/**
 * On SIGTERM (the context closing), before the web server stops accepting connections: readiness DOWN,
 * new requests 503 with Retry-After, and the requests in flight run on for up to DRAIN_TIMEOUT (set the
 * orchestrator's grace period above it: compose's stop_grace_period, Kubernetes'
 * terminationGracePeriodSeconds). The context-closed event comes before the lifecycle stop in which the
 * web server shuts down; a paused lifecycle (Spring's test context cache does that) is not a shutdown.
 */
@Component
class GracefulDrain implements ApplicationListener<ContextClosedEvent> {
    private static final Logger log = LoggerFactory.getLogger(GracefulDrain.class);

    private final ModelHost host;
    private final ServiceProperties properties;

    GracefulDrain(ModelHost host, ServiceProperties properties) {
        this.host = host;
        this.properties = properties;
    }

    @Override
    public void onApplicationEvent(ContextClosedEvent event) {
        if (host.state() != ModelHost.State.READY) {
            return;
        }
        log.info("Shutting down: draining {} request(s) in flight, for up to {} s", host.inFlight(),
                properties.drainTimeout().toSeconds());
        ModelHost.DrainReport report = host.drain(properties.drainTimeout());
        if (report.cutOff() > 0) {
            log.warn("Drain: {} request(s) finished, {} still running after DRAIN_TIMEOUT were ended with 503 ({} ms)",
                    report.inFlightAtStart() - report.cutOff(), report.cutOff(), report.took().toMillis());
        } else {
            log.info("Drain: {} request(s) finished in {} ms", report.inFlightAtStart(), report.took().toMillis());
        }
    }
}
