package io.github.transformerslm.model;

import io.github.transformerslm.model.gpt2.Gpt2Model;
import io.github.transformerslm.model.llama.LlamaModel;
import io.github.transformerslm.weights.CheckpointException;
import java.util.Map;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;

/** Architectures by Hugging Face {@code model_type}. Adding one is one entry here and one package. */
public final class ArchitectureRegistry {
    /** Builds a model from its config.json and weights. */
    @FunctionalInterface
    public interface Loader {
        CausalLanguageModel load(JsonNode config, ModelWeights weights);
    }

    private static final Map<String, Loader> LOADERS = new TreeMap<>(Map.of(
            "gpt2", Gpt2Model::load,
            "llama", LlamaModel::loadLlama,
            "mistral", LlamaModel::loadMistral,
            "qwen2", LlamaModel::loadQwen2));

    private ArchitectureRegistry() {}

    public static Loader loader(String modelType) {
        Loader loader = LOADERS.get(modelType);
        if (loader == null) {
            throw new CheckpointException("config.json: model_type '" + modelType + "' is not supported (supported: "
                    + String.join(", ", LOADERS.keySet()) + ")");
        }
        return loader;
    }

    public static java.util.Set<String> supported() {
        return LOADERS.keySet();
    }
}
