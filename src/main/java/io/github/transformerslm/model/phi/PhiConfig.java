package io.github.transformerslm.model.phi;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.nn.Configs;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** Phi's config.json (phi-1.5, phi-2). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record PhiConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("intermediate_size") Integer intermediateSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
        @JsonProperty("hidden_act") String hiddenAct,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("layer_norm_eps") Double layerNormEps,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("rope_scaling") JsonNode ropeScaling,
        @JsonProperty("partial_rotary_factor") Double partialRotaryFactor,
        @JsonProperty("qk_layernorm") Boolean qkLayernorm,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings) {
    /** Hugging Face's defaults for keys a config.json leaves out (those that follow from other keys are below). */
    public static final Map<String, Object> DEFAULTS = Map.ofEntries(
            Map.entry("vocab_size", 51200),
            Map.entry("hidden_size", 2048),
            Map.entry("intermediate_size", 8192),
            Map.entry("num_hidden_layers", 24),
            Map.entry("num_attention_heads", 32),
            Map.entry("max_position_embeddings", 2048),
            Map.entry("layer_norm_eps", 1e-5),
            Map.entry("rope_theta", 10000.0),
            Map.entry("partial_rotary_factor", 0.5),
            Map.entry("qk_layernorm", false),
            Map.entry("tie_word_embeddings", false),
            Map.entry("hidden_act", "gelu_new"));

    public PhiConfig {
        numKeyValueHeads = Configs.orDefault(numKeyValueHeads, numAttentionHeads);
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    public int rotaryDim() {
        return (int) (partialRotaryFactor * headDim());
    }
}
