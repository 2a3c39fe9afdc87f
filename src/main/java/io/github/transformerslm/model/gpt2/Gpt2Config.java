package io.github.transformerslm.model.gpt2;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.nn.Configs;
import java.util.Map;

/** GPT-2's config.json, with the Hugging Face field names and defaults. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Gpt2Config(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("n_positions") Integer nPositions,
        @JsonProperty("n_embd") Integer nEmbd,
        @JsonProperty("n_layer") Integer nLayer,
        @JsonProperty("n_head") Integer nHead,
        @JsonProperty("n_inner") Integer nInner,
        @JsonProperty("activation_function") String activationFunction,
        @JsonProperty("layer_norm_epsilon") Double layerNormEpsilon,
        @JsonProperty("scale_attn_weights") Boolean scaleAttnWeights,
        @JsonProperty("scale_attn_by_inverse_layer_idx") Boolean scaleAttnByInverseLayerIdx) {
    /** Hugging Face's defaults for keys a config.json leaves out (those that follow from other keys are below). */
    public static final Map<String, Object> DEFAULTS = Map.ofEntries(
            Map.entry("vocab_size", 50257),
            Map.entry("n_positions", 1024),
            Map.entry("n_embd", 768),
            Map.entry("n_layer", 12),
            Map.entry("n_head", 12),
            Map.entry("layer_norm_epsilon", 1e-5),
            Map.entry("scale_attn_weights", true),
            Map.entry("scale_attn_by_inverse_layer_idx", false),
            Map.entry("activation_function", "gelu_new"));

    public Gpt2Config {
        nInner = Configs.orDefault(nInner, 4 * nEmbd);
    }

    public int headDim() {
        return nEmbd / nHead;
    }
}
