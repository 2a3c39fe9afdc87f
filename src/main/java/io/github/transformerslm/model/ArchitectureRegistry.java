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

    /** An architecture builds its model from config.json read with {@code defaults}' entry of config-defaults.json. */
    private record Architecture(String defaults, Builder builder) {}

    @FunctionalInterface
    private interface Builder {
        CausalLanguageModel build(ConfigJson config, ModelWeights weights);
    }

    private static final Map<String, Architecture> ARCHITECTURES = new TreeMap<>(Map.ofEntries(
            Map.entry("bloom", new Architecture("bloom", BloomModel::load)),
            Map.entry("falcon", new Architecture("falcon", FalconModel::load)),
            Map.entry("gpt2", new Architecture("gpt2", Gpt2Model::load)),
            Map.entry("gpt_neox", new Architecture("gpt_neox", GptNeoxModel::load)),
            Map.entry("gptj", new Architecture("gptj", GptjModel::load)),
            Map.entry("llama", new Architecture("llama", LlamaModel::loadLlama)),
            Map.entry("mistral", new Architecture("llama", LlamaModel::loadMistral)),
            Map.entry("phi", new Architecture("phi", PhiModel::load)),
            Map.entry("phi3", new Architecture("phi3", Phi3Model::load)),
            Map.entry("qwen2", new Architecture("llama", LlamaModel::loadQwen2)),
            Map.entry("xglm", new Architecture("xglm", XglmModel::load))));

    private ArchitectureRegistry() {}

    public static Loader loader(String modelType) {
        Architecture architecture = ARCHITECTURES.get(modelType);
        if (architecture == null) {
            throw new CheckpointException("config.json: model_type '" + modelType + "' is not supported (supported: "
                    + String.join(", ", ARCHITECTURES.keySet()) + ")");
        }
        return (config, weights) -> architecture.builder().build(ConfigJson.of(architecture.defaults(), config), weights);
    }

    public static java.util.Set<String> supported() {
        return ARCHITECTURES.keySet();
    }
}
