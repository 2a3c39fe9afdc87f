package io.github.transformerslm.model.falcon;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import tools.jackson.databind.JsonNode;

/** Falcon's config.json (falcon-7b/40b, falcon-rw and the new decoder architecture). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record FalconConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("num_kv_heads") Integer numKvHeads,
        @JsonProperty("multi_query") Boolean multiQuery,
        @JsonProperty("new_decoder_architecture") Boolean newDecoderArchitecture,
        @JsonProperty("parallel_attn") Boolean parallelAttn,
        @JsonProperty("num_ln_in_parallel_attn") Integer numLnInParallelAttn,
        @JsonProperty("alibi") Boolean alibi,
        @JsonProperty("bias") Boolean bias,
        @JsonProperty("activation") String activation,
        @JsonProperty("ffn_hidden_size") Integer ffnHiddenSize,
        @JsonProperty("layer_norm_epsilon") Double layerNormEpsilon,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("rope_scaling") JsonNode ropeScaling,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings) {
    public FalconConfig {
        vocabSize = vocabSize != null ? vocabSize : 65024;
        hiddenSize = hiddenSize != null ? hiddenSize : 4544;
        numHiddenLayers = numHiddenLayers != null ? numHiddenLayers : 32;
        numAttentionHeads = numAttentionHeads != null ? numAttentionHeads : 71;
        numKvHeads = numKvHeads != null ? numKvHeads : numAttentionHeads;
        multiQuery = multiQuery != null ? multiQuery : true;
        newDecoderArchitecture = newDecoderArchitecture != null ? newDecoderArchitecture : false;
        parallelAttn = parallelAttn != null ? parallelAttn : true;
        numLnInParallelAttn = numLnInParallelAttn != null ? numLnInParallelAttn : (newDecoderArchitecture ? 2 : 1);
        alibi = alibi != null ? alibi : false;
        bias = bias != null ? bias : false;
        activation = activation != null ? activation : "gelu";
        ffnHiddenSize = ffnHiddenSize != null ? ffnHiddenSize : 4 * hiddenSize;
        layerNormEpsilon = layerNormEpsilon != null ? layerNormEpsilon : 1e-5;
        maxPositionEmbeddings = maxPositionEmbeddings != null ? maxPositionEmbeddings : 2048;
        ropeTheta = ropeTheta != null ? ropeTheta : 10000.0;
        tieWordEmbeddings = tieWordEmbeddings != null ? tieWordEmbeddings : true;
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Key/value heads: one for multi-query, num_kv_heads for the new architecture, else one per head. */
    public int kvHeads() {
        if (newDecoderArchitecture) {
            return numKvHeads;
        }
        return multiQuery ? 1 : numAttentionHeads;
    }
}
