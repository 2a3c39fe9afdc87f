package io.github.transformerslm.serving;

import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.runtime.LibtorchCodePages;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.config.StartupConfigurationException;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.GenerationLimits;
import io.github.transformerslm.generation.GenerationPlan;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.Generator;
import io.github.transformerslm.generation.ServiceStops;
import io.github.transformerslm.hub.HubModelResolver;
import io.github.transformerslm.model.ModelShape;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Quantization;
import io.github.transformerslm.runtime.MatmulPool;
import io.github.transformerslm.model.nn.VectorBoundsChecks;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loading, the first half of the model's life: libtorch started, its start-up code released, the model
 * resolved (a directory or a Hub id) and loaded, what was decided logged, and a warm-up generation run.
 */
final class ModelLoading {
    private static final Logger log = LoggerFactory.getLogger(ModelLoading.class);

    private final ServiceProperties properties;
    private final ServingMetrics metrics;
    private volatile Optional<LibtorchCodePages.Released> released = Optional.empty();

    ModelLoading(ServiceProperties properties, ServingMetrics metrics) {
        this.properties = properties;
        this.metrics = metrics;
    }

    /** Starts libtorch, resolves and loads the model, logs what was decided, and warms it up. */
    LoadedModel load() {
        TorchRuntime torch = TorchRuntime.start(properties.threads());
        // Before the load and the warm-up, so that they bring back the code pages serving runs and the
        // first requests do not fault them in (LibtorchCodePages).
        released = properties.releaseLibtorchCode() ? LibtorchCodePages.release() : Optional.empty();
        TorchRuntime.prepareInferenceThread();
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
        if (dtype == DataType.FLOAT16 && !Linear.vectorKernels() && !torch.gpu()) {
            // libtorch's CPU float16 products are an order of magnitude slower than its float32 ones for
            // the few rows decoding multiplies: half precision would halve memory but cost most of the speed.
            log.warn("HALF_PRECISION=1 without the vector kernels on a CPU: serving float32 instead, because"
                    + " libtorch's CPU float16 matrix products are far slower (weights take twice the memory)");
            dtype = DataType.FLOAT32;
        }
        Quantization quantization = Quantization.parse(properties.quantize());
        Quantization head = Quantization.parse(properties.quantizeHead());
        if (quantization != Quantization.NONE && torch.gpu()) {
            throw new StartupConfigurationException("QUANTIZE=" + quantization.label() + " runs on the CPU's vector"
                    + " kernels, not on a GPU: serve HALF_PRECISION=1 there, or unset QUANTIZE");
        }
        if (quantization != Quantization.NONE && !Linear.vectorKernels()) {
            throw new StartupConfigurationException("QUANTIZE=" + quantization.label() + " needs the vector kernels,"
                    + " which this JVM cannot run (see the WARN above)");
        }
        LoadedModel model = ModelLoader.load(dir, dtype, quantization, head, new MatmulPool(properties.matmulSplit()));
        ModelShape shape = model.model().shape();
        log.info("Model loaded: path={} architecture={} parameters={} dtype={} quantize={} quantize_head={} device={}"
                        + " threads={} matmul_split={} decode_kernels={} context={} load_time={}ms java_heap_max={}MB",
                bundled ? "bundled default (stories260K)" : dir, shape.modelType(),
                String.format("%,d", shape.parameterCount()), dtype.name().toLowerCase(), quantization.label(),
                quantization == Quantization.NONE ? "none" : head.label(),
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
    }

    /** What releasing libtorch's start-up code pages did, if it ran (RELEASE_LIBTORCH_CODE, Linux). */
    Optional<LibtorchCodePages.Released> released() {
        return released;
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
        GenerationPlan plan = GenerationPlan.resolve(config, prompt.length, context, limits(properties), ServiceStops.NONE);
        new Generator(model.model(), model.tokenizer())
                .generate(model.manager(), List.of(new GenerationRow(prompt, plan, new SplittableRandom(0))));
    }

    static GenerationLimits limits(ServiceProperties properties) {
        return new GenerationLimits(properties.maxNewTokens(), properties.maxReturnSequences(),
                properties.defaultMaxNewTokens());
    }
}
