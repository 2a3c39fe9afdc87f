package io.github.transformerslm.serving;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The serving metrics, named after vLLM's where vLLM has one (Prometheus names in brackets):
 * time to first token [lm_time_to_first_token_seconds], time per output token
 * [lm_time_per_output_token_seconds], end-to-end latency [lm_e2e_request_latency_seconds] and queue time
 * [lm_request_queue_time_seconds] as histograms; prompt and generated tokens [lm_prompt_tokens_total,
 * lm_generation_tokens_total]; requests by outcome [lm_requests_total]; running and waiting requests
 * [lm_num_requests_running, lm_num_requests_waiting]; KV cache bytes [lm_kv_cache_bytes]; model load
 * time [lm_model_load_time_seconds]. Requests by endpoint and status are Spring's http_server_requests.
 */
final class ServingMetrics {
    private final MeterRegistry registry;
    private final Timer timeToFirstToken;
    private final Timer timePerOutputToken;
    private final Timer endToEnd;
    private final Timer queueTime;
    private final Counter promptTokens;
    private final Counter generationTokens;

    ServingMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.timeToFirstToken = histogram("lm.time_to_first_token", "from arrival to the first generated token",
                Duration.ofMillis(5), Duration.ofSeconds(120));
        this.timePerOutputToken = histogram("lm.time_per_output_token", "between consecutive tokens of a request",
                Duration.ofMillis(1), Duration.ofSeconds(5));
        this.endToEnd = histogram("lm.e2e_request_latency", "from arrival to the last token",
                Duration.ofMillis(5), Duration.ofSeconds(600));
        this.queueTime = histogram("lm.request_queue_time", "from arrival until the scheduler takes the request",
                Duration.ofMillis(1), Duration.ofSeconds(600));
        this.promptTokens = Counter.builder("lm.prompt_tokens").description("prompt tokens of admitted requests")
                .register(registry);
        this.generationTokens = Counter.builder("lm.generation_tokens").description("tokens generated")
                .register(registry);
    }

    private Timer histogram(String name, String description, Duration min, Duration max) {
        return Timer.builder(name).description(description).publishPercentileHistogram()
                .minimumExpectedValue(min).maximumExpectedValue(max).register(registry);
    }

    void gauges(Supplier<Number> running, Supplier<Number> waiting, Supplier<Number> kvCacheBytes) {
        Gauge.builder("lm.num_requests_running", running).description("requests in the running batch").register(registry);
        Gauge.builder("lm.num_requests_waiting", waiting).description("requests admitted and waiting for the batch")
                .register(registry);
        Gauge.builder("lm.kv_cache.bytes", kvCacheBytes).baseUnit("bytes")
                .description("native memory held by the KV cache (it grows with the longest sequence, shrinks when idle)")
                .register(registry);
    }

    void modelLoaded(Duration loadTime) {
        Gauge.builder("lm.model_load_time", loadTime, d -> d.toNanos() / 1e9).baseUnit("seconds")
                .description("time to load the model, before the warm-up").register(registry);
    }

    void admitted(Submission s) {
        queueTime.record(System.nanoTime() - s.submittedNanos, TimeUnit.NANOSECONDS);
        promptTokens.increment(s.row.prompt().length);
    }

    void token(Submission s) {
        long now = System.nanoTime();
        if (s.firstTokenNanos == 0) {
            s.firstTokenNanos = now;
            timeToFirstToken.record(now - s.submittedNanos, TimeUnit.NANOSECONDS);
        }
    }

    void finished(Submission s, int tokens) {
        long now = System.nanoTime();
        endToEnd.record(now - s.submittedNanos, TimeUnit.NANOSECONDS);
        generationTokens.increment(tokens);
        if (tokens > 1 && s.firstTokenNanos != 0) {
            timePerOutputToken.record((now - s.firstTokenNanos) / (tokens - 1), TimeUnit.NANOSECONDS);
        }
        registry.counter("lm.requests", "outcome", "finished").increment();
    }

    void failed(String outcome) {
        registry.counter("lm.requests", "outcome", outcome).increment();
    }
}
