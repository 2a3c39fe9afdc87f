package io.github.transformerslm.model;

import io.github.transformerslm.model.bloom.BloomModel;
import io.github.transformerslm.model.falcon.FalconModel;
import io.github.transformerslm.model.gpt2.Gpt2Model;
import io.github.transformerslm.model.gptj.GptjModel;
import io.github.transformerslm.model.gptneox.GptNeoxModel;
import io.github.transformerslm.model.phi.PhiModel;
import io.github.transformerslm.model.phi3.Phi3Model;
import io.github.transformerslm.model.xglm.XglmModel;
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

    private static final Map<String, Loader> LOADERS = new TreeMap<>(Map.ofEntries(
            Map.entry("bloom", BloomModel::load),
            Map.entry("falcon", FalconModel::load),
            Map.entry("gpt2", Gpt2Model::load),
            Map.entry("gpt_neox", GptNeoxModel::load),
            Map.entry("gptj", GptjModel::load),
            Map.entry("llama", LlamaModel::loadLlama),
            Map.entry("mistral", LlamaModel::loadMistral),
            Map.entry("phi", PhiModel::load),
            Map.entry("phi3", Phi3Model::load),
            Map.entry("qwen2", LlamaModel::loadQwen2),
            Map.entry("xglm", XglmModel::load)));

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
