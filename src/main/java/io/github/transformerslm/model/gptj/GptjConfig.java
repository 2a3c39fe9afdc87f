package io.github.transformerslm.model.gptj;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.nn.Configs;
import java.util.Map;

/** GPT-J's config.json. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record GptjConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("n_positions") Integer nPositions,
        @JsonProperty("n_embd") Integer nEmbd,
        @JsonProperty("n_layer") Integer nLayer,
        @JsonProperty("n_head") Integer nHead,
        @JsonProperty("n_inner") Integer nInner,
        @JsonProperty("rotary_dim") Integer rotaryDim,
        @JsonProperty("activation_function") String activationFunction,
        @JsonProperty("layer_norm_epsilon") Double layerNormEpsilon) {
    /** Hugging Face's defaults for keys a config.json leaves out (those that follow from other keys are below). */
    public static final Map<String, Object> DEFAULTS = Map.ofEntries(
            Map.entry("vocab_size", 50400),
            Map.entry("n_positions", 2048),
            Map.entry("n_embd", 4096),
            Map.entry("n_layer", 28),
            Map.entry("n_head", 16),
            Map.entry("layer_norm_epsilon", 1e-5),
            Map.entry("activation_function", "gelu_new"));

    public GptjConfig {
        nInner = Configs.orDefault(nInner, 4 * nEmbd);
        rotaryDim = Configs.orDefault(rotaryDim, nEmbd / nHead);
    }

    public int headDim() {
        return nEmbd / nHead;
    }
}
