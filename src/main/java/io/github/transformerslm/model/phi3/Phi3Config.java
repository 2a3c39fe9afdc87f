package io.github.transformerslm.model.phi3;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
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
    public Phi3Config {
        vocabSize = vocabSize != null ? vocabSize : 32064;
        hiddenSize = hiddenSize != null ? hiddenSize : 3072;
        intermediateSize = intermediateSize != null ? intermediateSize : 8192;
        numHiddenLayers = numHiddenLayers != null ? numHiddenLayers : 32;
        numAttentionHeads = numAttentionHeads != null ? numAttentionHeads : 32;
        numKeyValueHeads = numKeyValueHeads != null ? numKeyValueHeads : numAttentionHeads;
        hiddenAct = hiddenAct != null ? hiddenAct : "silu";
        maxPositionEmbeddings = maxPositionEmbeddings != null ? maxPositionEmbeddings : 4096;
        originalMaxPositionEmbeddings = originalMaxPositionEmbeddings != null ? originalMaxPositionEmbeddings
                : maxPositionEmbeddings;
        rmsNormEps = rmsNormEps != null ? rmsNormEps : 1e-5;
        ropeTheta = ropeTheta != null ? ropeTheta : 10000.0;
        tieWordEmbeddings = tieWordEmbeddings != null ? tieWordEmbeddings : false;
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }
}
