package io.github.transformerslm.engine;

import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.GenerationLimits;
import io.github.transformerslm.generation.GenerationPlan;
import io.github.transformerslm.generation.ServiceStops;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.Generator;
import io.github.transformerslm.model.ModelShape;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.event.ApplicationStartedEvent;
import org.springframework.context.ApplicationContext;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Owns the one model instance and the one thread that runs it. Loading starts once the application
 * has started, so liveness answers while a large checkpoint loads; readiness waits for the load and a
 * warm-up generation. Requests queue for the model thread, at most MAX_QUEUE of them.
 */
@Component
public class ModelHost implements DisposableBean {
    private static final Logger log = LoggerFactory.getLogger(ModelHost.class);

    public enum State { LOADING, READY, FAILED }

    private final ServiceProperties properties;
    private final ApplicationContext context;
    private final ThreadPoolExecutor modelThread;
    private volatile State state = State.LOADING;
    private volatile String failure;
    private volatile LoadedModel loaded;
    private volatile Generator generator;

    public ModelHost(ServiceProperties properties, ApplicationContext context) {
        this.properties = properties;
        this.context = context;
        this.modelThread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(properties.maxQueue()), r -> {
                    Thread t = new Thread(r, "model");
                    t.setDaemon(true);
                    return t;
                });
    }

    @EventListener(ApplicationStartedEvent.class)
    public void startLoading() {
        modelThread.execute(this::load);
    }

    private void load() {
        try {
            TorchRuntime.start(properties.threads());
            TorchRuntime.prepareInferenceThread();
            boolean bundled = properties.model().isEmpty();
            Path dir = bundled ? BundledModel.materialize() : Path.of(properties.model()).toAbsolutePath();
            if (bundled) {
                log.warn("PRETRAINED_MODEL_NAME_OR_PATH is not set: serving the bundled tiny GPT-2, whose weights are"
                        + " RANDOM: its text is noise. Set PRETRAINED_MODEL_NAME_OR_PATH to a model directory.");
            }
            DataType dtype = properties.halfPrecision() ? DataType.FLOAT16 : DataType.FLOAT32;
            LoadedModel model = ModelLoader.load(dir, dtype);
            ModelShape shape = model.model().shape();
            log.info("Model loaded: path={} architecture={} parameters={} dtype={} device={} threads={}"
                            + " context={} load_time={}ms",
                    bundled ? "bundled default (random weights)" : dir, shape.modelType(),
                    String.format("%,d", shape.parameterCount()), dtype.name().toLowerCase(), model.manager().getDevice(),
                    properties.threads(),
                    shape.maxPositions(), model.loadTime().toMillis());
            log.info("Limits: max_new_tokens={} max_return_sequences={} default_max_new_tokens={} max_queue={}"
                            + " generative_config={} additional_eos_tokens={} language={}",
                    properties.maxNewTokens(), properties.maxReturnSequences(), properties.defaultMaxNewTokens(),
                    properties.maxQueue(), properties.generativeConfig(), properties.additionalEosTokenList(),
                    properties.language());
            this.loaded = model;
            this.generator = new Generator(model.model(), model.tokenizer());
            long warm = System.nanoTime();
            warmUp(model);
            log.info("Warm-up done in {} ms; ready", (System.nanoTime() - warm) / 1_000_000);
            state = State.READY;
        } catch (RuntimeException | LinkageError e) {
            failure = e.getMessage();
            state = State.FAILED;
            log.error("Cannot serve the model: {}", e.getMessage());
            log.debug("Model load failure", e);
            if (properties.exitOnLoadFailure()) {
                int code = SpringApplication.exit(context, () -> 1);
                System.exit(code);
            }
        }
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
        if (m == null || state == State.FAILED) {
            throw new ModelNotReadyException(state == State.FAILED
                    ? "the model failed to load: " + failure : "the model is still loading");
        }
        return m;
    }

    /** Queues a batch of rows for the model thread. */
    public CompletableFuture<List<List<GeneratedSequence>>> generate(List<GenerationRow> rows) {
        LoadedModel m = model();
        CompletableFuture<List<List<GeneratedSequence>>> result = new CompletableFuture<>();
        try {
            modelThread.execute(() -> {
                try {
                    // Grad mode is per thread; a replacement thread must turn it off too.
                    TorchRuntime.prepareInferenceThread();
                    result.complete(generator.generate(m.manager(), rows));
                } catch (RuntimeException | Error e) {
                    result.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            throw new QueueFullException("more than " + properties.maxQueue() + " requests are waiting for the model");
        }
        return result;
    }

    /** One short greedy generation through the real path, as Dream does before it reports ready. */
    private void warmUp(LoadedModel model) {
        int[] prompt = model.tokenizer().encode("You are a SpaceX Assistant.\nHuman: What is the goal of SpaceX?\nAI:");
        GenerationConfig config = model.generationDefaults().overlay(GenerationConfigParser.parse(
                "{\"max_new_tokens\": 2, \"do_sample\": false, \"num_return_sequences\": 1, \"num_beams\": 1}"));
        int context = model.model().shape().maxPositions();
        if (prompt.length > context - 2) {
            prompt = java.util.Arrays.copyOfRange(prompt, prompt.length - (context - 2), prompt.length);
        }
        GenerationPlan plan = GenerationPlan.resolve(config, prompt.length, context, limits(), ServiceStops.NONE);
        generator.generate(model.manager(), List.of(new GenerationRow(prompt, plan, new SplittableRandom(0))));
    }

    public GenerationLimits limits() {
        return new GenerationLimits(properties.maxNewTokens(), properties.maxReturnSequences(),
                properties.defaultMaxNewTokens());
    }

    @Override
    public void destroy() {
        modelThread.shutdownNow();
        LoadedModel m = loaded;
        if (m != null) {
            try {
                modelThread.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            m.close();
        }
    }
}
