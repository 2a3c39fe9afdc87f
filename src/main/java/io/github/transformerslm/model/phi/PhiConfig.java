package io.github.transformerslm.model.phi;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
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
    public PhiConfig {
        vocabSize = vocabSize != null ? vocabSize : 51200;
        hiddenSize = hiddenSize != null ? hiddenSize : 2048;
        intermediateSize = intermediateSize != null ? intermediateSize : 8192;
        numHiddenLayers = numHiddenLayers != null ? numHiddenLayers : 24;
        numAttentionHeads = numAttentionHeads != null ? numAttentionHeads : 32;
        numKeyValueHeads = numKeyValueHeads != null ? numKeyValueHeads : numAttentionHeads;
        hiddenAct = hiddenAct != null ? hiddenAct : "gelu_new";
        maxPositionEmbeddings = maxPositionEmbeddings != null ? maxPositionEmbeddings : 2048;
        layerNormEps = layerNormEps != null ? layerNormEps : 1e-5;
        ropeTheta = ropeTheta != null ? ropeTheta : 10000.0;
        partialRotaryFactor = partialRotaryFactor != null ? partialRotaryFactor : 0.5;
        qkLayernorm = qkLayernorm != null ? qkLayernorm : false;
        tieWordEmbeddings = tieWordEmbeddings != null ? tieWordEmbeddings : false;
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    public int rotaryDim() {
        return (int) (partialRotaryFactor * headDim());
    }
}
