package io.github.transformerslm.model.xglm;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

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
    public XglmConfig {
        vocabSize = vocabSize != null ? vocabSize : 256008;
        maxPositionEmbeddings = maxPositionEmbeddings != null ? maxPositionEmbeddings : 2048;
        dModel = dModel != null ? dModel : 1024;
        ffnDim = ffnDim != null ? ffnDim : 4096;
        numLayers = numLayers != null ? numLayers : 24;
        attentionHeads = attentionHeads != null ? attentionHeads : 16;
        activationFunction = activationFunction != null ? activationFunction : "gelu";
        scaleEmbedding = scaleEmbedding != null ? scaleEmbedding : true;
        padTokenId = padTokenId != null ? padTokenId : 1;
    }

    public int headDim() {
        return dModel / attentionHeads;
    }
}
