package io.github.transformerslm.engine;

import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.runtime.LibtorchCodePages;
import io.github.transformerslm.runtime.NativeHeap;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.generation.ContinuousBatcher;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.GenerationLimits;
import io.github.transformerslm.generation.GenerationPlan;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.Generator;
import io.github.transformerslm.generation.SequenceListener;
import io.github.transformerslm.generation.ServiceStops;
import io.github.transformerslm.hub.HubModelResolver;
import io.github.transformerslm.model.ModelShape;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.MatmulPool;
import io.github.transformerslm.model.nn.VectorBoundsChecks;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.context.event.ApplicationStartedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Owns the one model instance and the one thread that runs it. Loading starts once the application has
 * started, so liveness answers while a large checkpoint loads; readiness waits for the load and a
 * warm-up generation. Then the thread runs the continuous batcher: every endpoint's requests arrive
 * here, join the running batch between decode steps, and leave when done, cancelled or out of time.
 */
@Component
public class ModelHost implements DisposableBean {
    private static final Logger log = LoggerFactory.getLogger(ModelHost.class);
    /** How long the batch stays empty before the KV cache's growth is given back. */
    private static final long IDLE_RELEASE_NANOS = 10_000_000_000L;

    public enum State { LOADING, READY, FAILED, DRAINING }

    private final ServiceProperties properties;
    private final BlockingQueue<Submission> incoming = new LinkedBlockingQueue<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Thread modelThread;
    private volatile boolean stopping;
    private volatile boolean draining;
    /** Set when the drain's time is up: the model thread ends every request still running with it. */
    private volatile RuntimeException cutOff;
    private volatile State state = State.LOADING;
    private volatile String failure;
    private volatile LoadedModel loaded;
    private volatile Optional<LibtorchCodePages.Released> libtorchCodeReleased = Optional.empty();
    /** Opens when loading ends, ready or failed: requests that arrived during the load wait on it. */
    private final java.util.concurrent.CountDownLatch loadSettled = new java.util.concurrent.CountDownLatch(1);

    private final ServingMetrics metrics;
    private volatile int runningRequests;
    private volatile long kvCacheBytes;

    public ModelHost(ServiceProperties properties, MeterRegistry meters) {
        this.properties = properties;
        this.metrics = new ServingMetrics(meters);
        metrics.gauges(() -> runningRequests, () -> Math.max(0, inFlight.get() - runningRequests), () -> kvCacheBytes);
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
        LoadedModel model = load();
        if (model == null) {
            return;
        }
        try (ContinuousBatcher batcher = new ContinuousBatcher(model.model(), model.tokenizer(), model.manager(),
                new ContinuousBatcher.Limits(properties.maxBatchSize(), properties.maxBatchTokens()))) {
            kvCacheBytes = batcher.kvCacheBytes();
            // Startup's garbage (Spring's context, the loader's and the warm-up's buffers) is collected once
            // now rather than whenever the old generation fills: the heap then starts from its live set, and
            // the image's heap free ratios give the pages above it back; glibc is trimmed likewise (float16,
            // which converts at load, leaves the most behind).
            System.gc();
            log.info("Ready: KV cache {} MB ({}); {}; {}", kvCacheBytes >> 20, batcher.kvCacheStorage().name().toLowerCase(),
                    NativeHeap.trim().orElse("native heap not trimmed (no glibc trim command in this JVM)"),
                    libtorchCodeReleased.map(released -> released + ", " + (LibtorchCodePages.residentKb() >> 10)
                            + " MB resident again at ready").orElse("libtorch's code pages left resident"));
            this.loaded = model;
            state = State.READY;
            loadSettled.countDown();
            serve(batcher);
        }
    }

    private LoadedModel load() {
        try {
            TorchRuntime.start(properties.threads());
            // Before the load and the warm-up, so that they bring back the code pages serving runs and the
            // first requests do not fault them in (LibtorchCodePages).
            libtorchCodeReleased = properties.releaseLibtorchCode() ? LibtorchCodePages.release() : Optional.empty();
            TorchRuntime.prepareInferenceThread();
            MatmulPool.configure(properties.matmulSplit());
            boolean bundled = properties.model().isEmpty();
            Path dir = bundled ? BundledModel.materialize()
                    : new HubModelResolver(properties.hub()).resolve(properties.model()).toAbsolutePath();
            if (bundled) {
                log.info("PRETRAINED_MODEL_NAME_OR_PATH is not set: serving the bundled stories260K, a 260K-parameter"
                        + " Llama trained on TinyStories (Andrej Karpathy, llama2.c, MIT licence): it writes short"
                        + " children's stories. Set PRETRAINED_MODEL_NAME_OR_PATH to a Hub id or a model directory.");
            }
            if (!Linear.vectorKernels()) {
                log.warn("decode_kernels=libtorch: decoding runs many times slower (GPT-2-small float16: about 4 tokens/s"
                        + " against 100-140). Fix: start Java 17 with --add-modules jdk.incubator.vector (java -jar adds it"
                        + " itself; elsewhere set JDK_JAVA_OPTIONS=\"--add-modules jdk.incubator.vector\") and the"
                        + " optimizing JIT (no -XX:TieredStopAtLevel below 4, no -Xint). This JVM: Java {}, {}",
                        Runtime.version().feature(), Linear.optimizingCompiler() ? "optimizing compiler on" : "optimizing compiler off");
            }
            DataType dtype = properties.halfPrecision() ? DataType.FLOAT16 : DataType.FLOAT32;
            if (dtype == DataType.FLOAT16 && !Linear.vectorKernels() && !TorchRuntime.gpu()) {
                // libtorch's CPU float16 products are an order of magnitude slower than its float32 ones for
                // the few rows decoding multiplies: half precision would halve memory but cost most of the speed.
                log.warn("HALF_PRECISION=1 without the vector kernels on a CPU: serving float32 instead, because"
                        + " libtorch's CPU float16 matrix products are far slower (weights take twice the memory)");
                dtype = DataType.FLOAT32;
            }
            LoadedModel model = ModelLoader.load(dir, dtype);
            ModelShape shape = model.model().shape();
            log.info("Model loaded: path={} architecture={} parameters={} dtype={} device={} threads={}"
                            + " matmul_split={} decode_kernels={} context={} load_time={}ms java_heap_max={}MB",
                    bundled ? "bundled default (stories260K)" : dir, shape.modelType(),
                    String.format("%,d", shape.parameterCount()), dtype.name().toLowerCase(),
                    model.manager().getDevice(), properties.threads(), properties.matmulSplit(),
                    Linear.vectorKernels() ? (VectorBoundsChecks.on() ? "vector(bounds-checked)" : "vector") : "libtorch",
                    shape.maxPositions(),
                    model.loadTime().toMillis(), Runtime.getRuntime().maxMemory() / (1024 * 1024));
            log.info("Limits: max_batch_size={} max_batch_tokens={} max_queue={} max_client_requests={}"
                            + " request_timeout={}s max_new_tokens={} max_return_sequences={} default_max_new_tokens={}"
                            + " generative_config={} additional_eos_tokens={} language={}",
                    properties.maxBatchSize(), properties.maxBatchTokens(), properties.maxQueue(),
                    properties.maxClientRequests(), properties.requestTimeoutSeconds(), properties.maxNewTokens(),
                    properties.maxReturnSequences(), properties.defaultMaxNewTokens(), properties.generativeConfig(),
                    properties.additionalEosTokenList(), properties.language());
            metrics.modelLoaded(model.loadTime());
            long warm = System.nanoTime();
            warmUp(model);
            log.info("Warm-up done in {} ms", (System.nanoTime() - warm) / 1_000_000);
            return model;
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
            return null;
        }
    }

    /** The scheduler loop: take new requests, enforce cancellations and deadlines, step the batch. */
    private void serve(ContinuousBatcher batcher) {
        List<Submission> active = new ArrayList<>();
        long idleSince = System.nanoTime();
        boolean released = true;
        while (!stopping) {
            try {
                Submission next = batcher.hasWork() ? incoming.poll() : incoming.poll(100, TimeUnit.MILLISECONDS);
                while (next != null) {
                    Submission s = next;
                    next = incoming.poll();
                    SequenceListener listener = new SequenceListener() {
                        @Override
                        public void onToken(int sequence, int token, float logprob, List<TokenLogprob> top) {
                            metrics.token(s);
                            s.listener.onToken(sequence, token, logprob, top);
                        }

                        @Override
                        public void onFinish(List<GeneratedSequence> sequences) {
                            inFlight.decrementAndGet();
                            active.remove(s);
                            metrics.finished(s, sequences.stream().mapToInt(q -> q.tokens().length).sum());
                            s.listener.onFinish(sequences);
                        }

                        @Override
                        public void onError(Throwable error) {
                            inFlight.decrementAndGet();
                            active.remove(s);
                            metrics.failed(outcome(error));
                            s.listener.onError(error);
                        }
                    };
                    try {
                        s.handle = batcher.submit(s.row, listener);
                        metrics.admitted(s);
                        active.add(s);
                    } catch (RuntimeException e) {
                        // A request the batcher refuses fails alone, never the batch.
                        active.add(s);
                        listener.onError(e);
                    }
                }
                Instant now = Instant.now();
                RuntimeException cut = cutOff;
                for (Iterator<Submission> it = List.copyOf(active).iterator(); it.hasNext(); ) {
                    Submission s = it.next();
                    if (cut != null) {
                        s.handle.cancel(cut);
                    } else if (s.cancellation() != null) {
                        s.handle.cancel(s.cancellation());
                    } else if (now.isAfter(s.deadline)) {
                        s.handle.cancel(new RequestTimeoutException("the request did not finish before its deadline"));
                    }
                }
                if (batcher.hasWork()) {
                    batcher.step();
                    idleSince = System.nanoTime();
                    released = false;
                } else if (!released && System.nanoTime() - idleSince > IDLE_RELEASE_NANOS) {
                    // Not at once: back-to-back requests would pay the cache's regrowth every time.
                    batcher.releaseIdleMemory();
                    released = true;
                }
                runningRequests = active.size() - batcher.waitingCount();
                kvCacheBytes = batcher.kvCacheBytes();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException | OutOfMemoryError e) {
                log.error("Generation step failed; failing the requests of this batch", e);
                batcher.failAll(e);
            }
        }
    }

    private static String outcome(Throwable error) {
        if (error instanceof RequestTimeoutException) {
            return "timeout";
        }
        return error instanceof java.util.concurrent.CancellationException ? "cancelled" : "failed";
    }

    /** What releasing libtorch's start-up code pages did, if it ran (RELEASE_LIBTORCH_CODE, Linux). */
    Optional<LibtorchCodePages.Released> libtorchCodeReleased() {
        return libtorchCodeReleased;
    }

    /** Requests submitted and not yet finished. */
    public int inFlight() {
        return inFlight.get();
    }

    /**
     * One short greedy generation through the real path, as Dream does before it reports ready. Eight
     * tokens rather than one or two: the decode kernels are compiled by the JIT while they run, and the
     * first requests should not pay for that.
     */
    private void warmUp(LoadedModel model) {
        int[] prompt = model.tokenizer().encode("You are a SpaceX Assistant.\nHuman: What is the goal of SpaceX?\nAI:");
        GenerationConfig config = model.generationDefaults().overlay(GenerationConfigParser.parse(
                "{\"max_new_tokens\": 8, \"do_sample\": false, \"num_return_sequences\": 1, \"num_beams\": 1}"));
        int context = model.model().shape().maxPositions();
        int keep = Math.max(1, context - 8);
        if (prompt.length > keep) {
            prompt = java.util.Arrays.copyOfRange(prompt, prompt.length - keep, prompt.length);
        }
        GenerationPlan plan = GenerationPlan.resolve(config, prompt.length, context, limits(), ServiceStops.NONE);
        new Generator(model.model(), model.tokenizer())
                .generate(model.manager(), List.of(new GenerationRow(prompt, plan, new SplittableRandom(0))));
    }

    public GenerationLimits limits() {
        return new GenerationLimits(properties.maxNewTokens(), properties.maxReturnSequences(),
                properties.defaultMaxNewTokens());
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
        return submitAll(List.of(row), List.of(listener), deadline).get(0);
    }

    /**
     * Hands several prompts of one request to the model thread, all or none: their places are reserved
     * together, so that a request refused for a full queue leaves nothing behind to crowd out others.
     */
    public List<Submission> submitAll(List<GenerationRow> rows, List<SequenceListener> listeners, Instant deadline) {
        model();
        if (stopping || draining) {
            throw new ModelNotReadyException("the service is shutting down");
        }
        int limit = maxPromptsInFlight();
        int count = rows.size();
        while (true) {
            int now = inFlight.get();
            if (now + count > limit) {
                throw new QueueFullException("the model is busy: " + properties.maxQueue()
                        + " requests already wait for a place in the batch");
            }
            if (inFlight.compareAndSet(now, now + count)) {
                break;
            }
        }
        List<Submission> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Submission s = new Submission(rows.get(i), listeners.get(i), deadline);
            out.add(s);
            incoming.add(s);
        }
        return out;
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
        draining = true;
        if (state == State.READY) {
            state = State.DRAINING;
        }
        int atStart = inFlight.get();
        long deadline = start + timeout.toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int remaining = inFlight.get();
        if (remaining > 0) {
            cutOff = new ModelNotReadyException("the service is shutting down: this request did not finish within"
                    + " DRAIN_TIMEOUT (" + timeout.toSeconds() + " s)");
            long cutDeadline = System.nanoTime() + 5_000_000_000L;
            while (inFlight.get() > 0 && System.nanoTime() < cutDeadline && modelThread.isAlive()) {
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

    /** The most prompts in flight at once: a full batch plus MAX_QUEUE waiting. */
    public int maxPromptsInFlight() {
        return properties.maxBatchSize() + properties.maxQueue();
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
