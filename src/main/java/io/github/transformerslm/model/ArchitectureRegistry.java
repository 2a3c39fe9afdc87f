package io.github.transformerslm.model;

import io.github.transformerslm.model.bloom.BloomConfig;
import io.github.transformerslm.model.bloom.BloomModel;
import io.github.transformerslm.model.falcon.FalconConfig;
import io.github.transformerslm.model.falcon.FalconModel;
import io.github.transformerslm.model.gpt2.Gpt2Config;
import io.github.transformerslm.model.gpt2.Gpt2Model;
import io.github.transformerslm.model.gptj.GptjConfig;
import io.github.transformerslm.model.gptj.GptjModel;
import io.github.transformerslm.model.gptneox.GptNeoxConfig;
import io.github.transformerslm.model.gptneox.GptNeoxModel;
import io.github.transformerslm.model.phi.PhiConfig;
import io.github.transformerslm.model.phi.PhiModel;
import io.github.transformerslm.model.phi3.Phi3Config;
import io.github.transformerslm.model.phi3.Phi3Model;
import io.github.transformerslm.model.xglm.XglmConfig;
import io.github.transformerslm.model.xglm.XglmModel;
import io.github.transformerslm.model.llama.LlamaConfig;
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

    /**
     * An architecture: the entry of config-defaults.json its config.json is read with, the record of the
     * fields only it has, and how its model is built from both.
     */
    private record Architecture<C>(String defaults, Class<C> config, Builder<C> builder) {
        CausalLanguageModel load(JsonNode json, ModelWeights weights) {
            ConfigJson config = ConfigJson.of(defaults, json);
            return builder.build(config.decoder(), config.bind(this.config), weights);
        }
    }

    @FunctionalInterface
    private interface Builder<C> {
        CausalLanguageModel build(DecoderConfig decoder, C config, ModelWeights weights);
    }

    private static final Map<String, Architecture<?>> ARCHITECTURES = new TreeMap<>(Map.ofEntries(
            Map.entry("bloom", new Architecture<>("bloom", BloomConfig.class, BloomModel::new)),
            Map.entry("falcon", new Architecture<>("falcon", FalconConfig.class, FalconModel::new)),
            Map.entry("gpt2", new Architecture<>("gpt2", Gpt2Config.class, Gpt2Model::new)),
            Map.entry("gpt_neox", new Architecture<>("gpt_neox", GptNeoxConfig.class, GptNeoxModel::new)),
            Map.entry("gptj", new Architecture<>("gptj", GptjConfig.class, GptjModel::new)),
            Map.entry("llama", new Architecture<>("llama", LlamaConfig.class,
                    (d, c, w) -> new LlamaModel("llama", d, c, w))),
            Map.entry("mistral", new Architecture<>("llama", LlamaConfig.class,
                    (d, c, w) -> new LlamaModel("mistral", d, c.asMistral(), w))),
            Map.entry("phi", new Architecture<>("phi", PhiConfig.class, PhiModel::new)),
            Map.entry("phi3", new Architecture<>("phi3", Phi3Config.class, Phi3Model::new)),
            Map.entry("qwen2", new Architecture<>("llama", LlamaConfig.class,
                    (d, c, w) -> new LlamaModel("qwen2", d.withoutSlidingWindow(), c.asQwen2(), w))),
            Map.entry("xglm", new Architecture<>("xglm", XglmConfig.class, XglmModel::new))));

    private ArchitectureRegistry() {}

    public static Loader loader(String modelType) {
        Architecture<?> architecture = ARCHITECTURES.get(modelType);
        if (architecture == null) {
            throw new CheckpointException("config.json: model_type '" + modelType + "' is not supported (supported: "
                    + String.join(", ", ARCHITECTURES.keySet()) + ")");
        }
        return architecture::load;
    }

    public static java.util.Set<String> supported() {
        return ARCHITECTURES.keySet();
    }
}
