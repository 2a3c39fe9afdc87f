package io.github.transformerslm.model.bloom;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.nn.Configs;
import java.util.Map;

/** BLOOM's config.json. ALiBi has no learned positions; {@code seq_length} is the trained context. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record BloomConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("n_layer") Integer nLayer,
        @JsonProperty("n_head") Integer nHead,
        @JsonProperty("layer_norm_epsilon") Double layerNormEpsilon,
        @JsonProperty("apply_residual_connection_post_layernorm") Boolean applyResidualConnectionPostLayernorm,
        @JsonProperty("seq_length") Integer seqLength) {
    /** Hugging Face's defaults for keys a config.json leaves out (those that follow from other keys are below). */
    public static final Map<String, Object> DEFAULTS = Map.ofEntries(
            Map.entry("vocab_size", 250880),
            Map.entry("hidden_size", 64),
            Map.entry("n_layer", 2),
            Map.entry("n_head", 8),
            Map.entry("layer_norm_epsilon", 1e-5),
            Map.entry("seq_length", 2048));

    public BloomConfig {
        applyResidualConnectionPostLayernorm = Configs.orDefault(applyResidualConnectionPostLayernorm, false);
    }

    public int headDim() {
        return hiddenSize / nHead;
    }
}
