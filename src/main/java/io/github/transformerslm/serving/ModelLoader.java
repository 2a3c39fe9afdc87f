package io.github.transformerslm.serving;

import io.github.transformerslm.runtime.MatmulPool;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.model.ArchitectureRegistry;
import io.github.transformerslm.model.CausalLanguageModel;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Quantization;
import io.github.transformerslm.tokenizer.TextTokenizer;
import io.github.transformerslm.weights.Checkpoint;
import io.github.transformerslm.weights.CheckpointException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Loads a Hugging Face model directory: config.json, safetensors weights, tokenizer, generation config. */
public final class ModelLoader {
    private static final Logger log = LoggerFactory.getLogger(ModelLoader.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private ModelLoader() {}

    public static LoadedModel load(Path directory, DataType dtype) {
        return load(directory, dtype, Quantization.NONE, Quantization.NONE);
    }

    /**
     * Loads with projections quantized at load as {@code quantization} says and the language-model head as
     * {@code head} says (both NONE: the weights as stored, in {@code dtype}).
     */
    public static LoadedModel load(Path directory, DataType dtype, Quantization quantization, Quantization head) {
        return load(directory, dtype, quantization, head, MatmulPool.CALLER_ONLY);
    }

    /**
     * As {@link #load(Path, DataType, Quantization, Quantization)}, the model's products and attention split
     * across {@code pool}, which the loaded model then owns: closing it stops the pool (also when loading fails).
     */
    public static LoadedModel load(Path directory, DataType dtype, Quantization quantization, Quantization head,
            MatmulPool pool) {
        try {
            return loadOnto(directory, dtype, quantization, head, pool);
        } catch (RuntimeException e) {
            pool.close();
            throw e;
        }
    }

    private static LoadedModel loadOnto(Path directory, DataType dtype, Quantization quantization, Quantization head,
            MatmulPool pool) {
        long start = System.nanoTime();
        if (!Files.isDirectory(directory)) {
            throw new CheckpointException(directory + ": not a directory");
        }
        JsonNode config = readJson(directory.resolve("config.json"), true);
        String modelType = config.path("model_type").asString("");
        if (modelType.isEmpty()) {
            throw new CheckpointException("config.json: model_type is missing");
        }
        ArchitectureRegistry.Loader loader = ArchitectureRegistry.loader(modelType);
        TextTokenizer tokenizer = TextTokenizer.load(directory);
        NDManager manager = NDManager.newBaseManager();
        try (Checkpoint checkpoint = Checkpoint.open(directory)) {
            CausalLanguageModel model = loader.load(config, new ModelWeights(checkpoint, manager, dtype, quantization, head, pool));
            GenerationConfig defaults = generationDefaults(directory, config);
            return new LoadedModel(directory, model, tokenizer, defaults, dtype,
                    Duration.ofNanos(System.nanoTime() - start), manager);
        } catch (RuntimeException e) {
            manager.close();
            tokenizer.close();
            throw e;
        }
    }

    /**
     * The model's generation_config.json, with eos_token_id falling back to config.json's as
     * transformers does. Keys this service does not implement are logged, not fatal: the file is the
     * model author's, not the operator's.
     */
    private static GenerationConfig generationDefaults(Path directory, JsonNode config) {
        JsonNode file = readJson(directory.resolve("generation_config.json"), false);
        List<String> unsupported = new ArrayList<>();
        GenerationConfig layer;
        try {
            layer = GenerationConfigParser.parseModelFile(file, unsupported);
        } catch (InvalidParameterException e) {
            throw new CheckpointException("generation_config.json: " + e.getMessage());
        }
        if (!unsupported.isEmpty()) {
            log.warn("generation_config.json: ignoring keys this service does not implement: {}", unsupported);
        }
        if (layer.eosTokenId() == null && config.has("eos_token_id") && !config.get("eos_token_id").isNull()) {
            JsonNode eos = JSON.createObjectNode().set("eos_token_id", config.get("eos_token_id"));
            layer = layer.overlay(GenerationConfigParser.parse(eos));
        }
        return layer;
    }

    private static JsonNode readJson(Path path, boolean required) {
        if (!Files.isRegularFile(path)) {
            if (required) {
                throw new CheckpointException(path + ": missing");
            }
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(path.toFile());
        } catch (JacksonException e) {
            throw new CheckpointException(path.getFileName() + ": not valid JSON: " + e.getOriginalMessage());
        }
    }
}
