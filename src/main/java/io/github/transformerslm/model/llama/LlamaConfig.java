package io.github.transformerslm.model.llama;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import tools.jackson.databind.JsonNode;

/**
 * The config.json of Llama and its near relatives Mistral and Qwen2, with Hugging Face field names.
 * {@code attentionBias} and {@code outputBias} separate Llama's {@code attention_bias} (q, k, v and o)
 * from Qwen2's (q, k and v only).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record LlamaConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("intermediate_size") Integer intermediateSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
        @JsonProperty("head_dim") Integer headDim,
        @JsonProperty("hidden_act") String hiddenAct,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("rms_norm_eps") Double rmsNormEps,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("rope_scaling") JsonNode ropeScaling,
        @JsonProperty("attention_bias") Boolean attentionBias,
        @JsonProperty("mlp_bias") Boolean mlpBias,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings,
        @JsonProperty("sliding_window") Integer slidingWindow,
        Boolean outputBias) {
    public LlamaConfig {
        vocabSize = vocabSize != null ? vocabSize : 32000;
        hiddenSize = hiddenSize != null ? hiddenSize : 4096;
        intermediateSize = intermediateSize != null ? intermediateSize : 11008;
        numHiddenLayers = numHiddenLayers != null ? numHiddenLayers : 32;
        numAttentionHeads = numAttentionHeads != null ? numAttentionHeads : 32;
        numKeyValueHeads = numKeyValueHeads != null ? numKeyValueHeads : numAttentionHeads;
        headDim = headDim != null ? headDim : hiddenSize / numAttentionHeads;
        hiddenAct = hiddenAct != null ? hiddenAct : "silu";
        maxPositionEmbeddings = maxPositionEmbeddings != null ? maxPositionEmbeddings : 2048;
        rmsNormEps = rmsNormEps != null ? rmsNormEps : 1e-6;
        ropeTheta = ropeTheta != null ? ropeTheta : 10000.0;
        attentionBias = attentionBias != null ? attentionBias : false;
        mlpBias = mlpBias != null ? mlpBias : false;
        tieWordEmbeddings = tieWordEmbeddings != null ? tieWordEmbeddings : false;
        outputBias = outputBias != null ? outputBias : attentionBias;
    }

    /**
     * Qwen2 puts biases on q, k and v but never on o, whatever attention_bias says. Its sliding_window is
     * only a hint unless use_sliding_window is set, which released Qwen2 checkpoints never do.
     */
    LlamaConfig asQwen2() {
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, hiddenAct, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling,
                true, mlpBias, tieWordEmbeddings, null, false);
    }

    /** Mistral has no biases and its head_dim may be unset. */
    LlamaConfig asMistral() {
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, hiddenAct, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling,
                false, false, tieWordEmbeddings, slidingWindow, false);
    }
}
