package io.github.transformerslm.model.phi3;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.nn.Configs;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** Phi-3's config.json (mini 4k and 128k, with LongRoPE). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Phi3Config(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("intermediate_size") Integer intermediateSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
        @JsonProperty("hidden_act") String hiddenAct,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("original_max_position_embeddings") Integer originalMaxPositionEmbeddings,
        @JsonProperty("rms_norm_eps") Double rmsNormEps,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("rope_scaling") JsonNode ropeScaling,
        @JsonProperty("sliding_window") Integer slidingWindow,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings) {
    /** Hugging Face's defaults for keys a config.json leaves out (those that follow from other keys are below). */
    public static final Map<String, Object> DEFAULTS = Map.ofEntries(
            Map.entry("vocab_size", 32064),
            Map.entry("hidden_size", 3072),
            Map.entry("intermediate_size", 8192),
            Map.entry("num_hidden_layers", 32),
            Map.entry("num_attention_heads", 32),
            Map.entry("max_position_embeddings", 4096),
            Map.entry("rms_norm_eps", 1e-5),
            Map.entry("rope_theta", 10000.0),
            Map.entry("tie_word_embeddings", false),
            Map.entry("hidden_act", "silu"));

    public Phi3Config {
        numKeyValueHeads = Configs.orDefault(numKeyValueHeads, numAttentionHeads);
        originalMaxPositionEmbeddings = originalMaxPositionEmbeddings != null ? originalMaxPositionEmbeddings
                : maxPositionEmbeddings;
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }
}
