package io.github.transformerslm.serving;

import io.github.transformerslm.runtime.LibtorchCodePages;
import io.github.transformerslm.runtime.NativeHeap;
import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.generation.ContinuousBatcher;
import io.github.transformerslm.generation.GenerationLimits;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.SequenceListener;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.context.event.ApplicationStartedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Owns the one model instance and the one thread that runs it, from start to shutdown: loading
 * ({@link ModelLoading}) starts once the application has started, so liveness answers while a large
 * checkpoint loads; readiness waits for the load and a warm-up generation; then the thread runs the
 * {@link Scheduler}'s loop until the service stops. Controllers reach the model and the scheduler here.
 */
@Component
public class ModelHost implements DisposableBean {
    private static final Logger log = LoggerFactory.getLogger(ModelHost.class);

    public enum State { LOADING, READY, FAILED, DRAINING }

    private final ServiceProperties properties;
    private final ServingMetrics metrics;
    private final ModelLoading loading;
    private final Scheduler scheduler;
    private final Thread modelThread;
    private volatile boolean stopping;
    private volatile State state = State.LOADING;
    private volatile String failure;
    private volatile LoadedModel loaded;
    /** Opens when loading ends, ready or failed: requests that arrived during the load wait on it. */
    private final java.util.concurrent.CountDownLatch loadSettled = new java.util.concurrent.CountDownLatch(1);

    public ModelHost(ServiceProperties properties, MeterRegistry meters) {
        this.properties = properties;
        this.metrics = new ServingMetrics(meters);
        this.loading = new ModelLoading(properties, metrics);
        this.scheduler = new Scheduler(properties, metrics);
        this.modelThread = new Thread(this::run, "model");
        this.modelThread.setDaemon(true);
    }

    @EventListener(ApplicationStartedEvent.class)
    public void startLoading() {
        if (!modelThread.isAlive() && state == State.LOADING) {
            modelThread.start();
        }
    }

    private void run() {
        LoadedModel model;
        try {
            model = loading.load();
        } catch (RuntimeException | LinkageError e) {
            failure = e.getMessage();
            state = State.FAILED;
            loadSettled.countDown();
            log.error("Cannot serve the model: {}", e.getMessage());
            log.debug("Model load failure", e);
            if (properties.exitOnLoadFailure()) {
                // Exit first: closing the context here would stop Tomcat's threads and let the JVM end with 0
                // before this daemon thread could report the failure. The shutdown hook closes the context.
                System.exit(1);
            }
            return;
        }
        try (ContinuousBatcher batcher = new ContinuousBatcher(model.model(), model.tokenizer(), model.manager(),
                new ContinuousBatcher.Limits(properties.maxBatchSize(), properties.maxBatchTokens()))) {
            scheduler.kvCacheBytes(batcher.kvCacheBytes());
            // Startup's garbage (Spring's context, the loader's and the warm-up's buffers) is collected once
            // now rather than whenever the old generation fills: the heap then starts from its live set, and
            // the image's heap free ratios give the pages above it back; glibc is trimmed likewise (float16,
            // which converts at load, leaves the most behind).
            System.gc();
            log.info("Ready: KV cache {} MB ({}); {}; {}", batcher.kvCacheBytes() >> 20,
                    batcher.kvCacheStorage().name().toLowerCase(),
                    NativeHeap.trim().orElse("native heap not trimmed (no glibc trim command in this JVM)"),
                    loading.released().map(released -> released + ", " + (LibtorchCodePages.residentKb() >> 10)
                            + " MB resident again at ready").orElse("libtorch's code pages left resident"));
            this.loaded = model;
            state = State.READY;
            loadSettled.countDown();
            scheduler.serve(batcher, () -> stopping);
        }
    }

    /** What releasing libtorch's start-up code pages did, if it ran (RELEASE_LIBTORCH_CODE, Linux). */
    Optional<LibtorchCodePages.Released> libtorchCodeReleased() {
        return loading.released();
    }

    /** Requests submitted and not yet finished. */
    public int inFlight() {
        return scheduler.inFlight();
    }

    public GenerationLimits limits() {
        return ModelLoading.limits(properties);
    }

    public State state() {
        return state;
    }

    public String failure() {
        return failure;
    }

    /** The loaded model, or {@link ModelNotReadyException} while it loads. */
    public LoadedModel model() {
        LoadedModel m = loaded;
        if (m == null || (state != State.READY && state != State.DRAINING)) {
            throw new ModelNotReadyException(state == State.FAILED
                    ? "the model failed to load: " + failure : "the model is still loading");
        }
        return m;
    }

    /**
     * The model, once loaded and warmed up. A request that arrives while the model loads waits here, as
     * one sent to Dream's gunicorn service waits in the socket backlog, until loading ends or its deadline
     * passes; only then is it refused with {@link ModelNotReadyException} (503 with Retry-After).
     */
    public LoadedModel awaitModel(Instant deadline) {
        if (state == State.LOADING) {
            long nanos = java.time.Duration.between(Instant.now(), deadline).toNanos();
            try {
                if (nanos <= 0 || !loadSettled.await(nanos, TimeUnit.NANOSECONDS)) {
                    throw new ModelNotReadyException("the model did not finish loading before the request's deadline");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ModelNotReadyException("the model is still loading");
            }
        }
        return model();
    }

    /**
     * Hands a request to the model thread. Refused at once, before any work, when more requests wait than
     * MAX_QUEUE allows beyond a full batch.
     */
    public Submission submit(GenerationRow row, SequenceListener listener, Instant deadline) {
        model();
        return scheduler.submit(row, listener, deadline);
    }

    /** Hands several prompts of one request to the model thread, all or none. */
    public List<Submission> submitAll(List<GenerationRow> rows, List<SequenceListener> listeners, Instant deadline) {
        model();
        return scheduler.submitAll(rows, listeners, deadline);
    }

    /** The most prompts in flight at once: a full batch plus MAX_QUEUE waiting. */
    public int maxPromptsInFlight() {
        return scheduler.maxPromptsInFlight();
    }

    /** What a drain did: requests in flight when it began, and those still running when its time was up. */
    public record DrainReport(int inFlightAtStart, int cutOff, java.time.Duration took) {}

    /**
     * Stops taking requests (new ones get 503 with Retry-After, readiness goes DOWN) and lets those in
     * flight run to their end for up to {@code timeout}; any still running then end with a 503 (a final
     * error event on a stream) rather than a dropped connection.
     */
    public DrainReport drain(java.time.Duration timeout) {
        long start = System.nanoTime();
        scheduler.refuseNew();
        if (state == State.READY) {
            state = State.DRAINING;
        }
        int atStart = scheduler.inFlight();
        long deadline = start + timeout.toNanos();
        while (scheduler.inFlight() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int remaining = scheduler.inFlight();
        if (remaining > 0) {
            scheduler.cutOff(new ModelNotReadyException("the service is shutting down: this request did not finish within"
                    + " DRAIN_TIMEOUT (" + timeout.toSeconds() + " s)"));
            long cutDeadline = System.nanoTime() + 5_000_000_000L;
            while (scheduler.inFlight() > 0 && System.nanoTime() < cutDeadline && modelThread.isAlive()) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return new DrainReport(atStart, remaining, java.time.Duration.ofNanos(System.nanoTime() - start));
    }

    @Override
    public void destroy() {
        stopping = true;
        modelThread.interrupt();
        try {
            modelThread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LoadedModel m = loaded;
        if (m != null) {
            m.close();
        }
    }
}
