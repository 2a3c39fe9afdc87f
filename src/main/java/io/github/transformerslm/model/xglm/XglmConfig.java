package io.github.transformerslm.model.xglm;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/** XGLM's config.json (facebook/xglm, Dream's ruXGLM). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record XglmConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("d_model") Integer dModel,
        @JsonProperty("ffn_dim") Integer ffnDim,
        @JsonProperty("num_layers") Integer numLayers,
        @JsonProperty("attention_heads") Integer attentionHeads,
        @JsonProperty("activation_function") String activationFunction,
        @JsonProperty("scale_embedding") Boolean scaleEmbedding,
        @JsonProperty("pad_token_id") Integer padTokenId) {
    /** Hugging Face's defaults for keys a config.json leaves out (those that follow from other keys are below). */
    public static final Map<String, Object> DEFAULTS = Map.ofEntries(
            Map.entry("vocab_size", 256008),
            Map.entry("max_position_embeddings", 2048),
            Map.entry("d_model", 1024),
            Map.entry("ffn_dim", 4096),
            Map.entry("num_layers", 24),
            Map.entry("attention_heads", 16),
            Map.entry("scale_embedding", true),
            Map.entry("pad_token_id", 1),
            Map.entry("activation_function", "gelu"));


    public int headDim() {
        return dModel / attentionHeads;
    }
}
