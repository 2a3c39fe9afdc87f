package io.github.transformerslm.model.gpt2;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

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
    public Gpt2Config {
        vocabSize = vocabSize != null ? vocabSize : 50257;
        nPositions = nPositions != null ? nPositions : 1024;
        nEmbd = nEmbd != null ? nEmbd : 768;
        nLayer = nLayer != null ? nLayer : 12;
        nHead = nHead != null ? nHead : 12;
        nInner = nInner != null ? nInner : 4 * nEmbd;
        activationFunction = activationFunction != null ? activationFunction : "gelu_new";
        layerNormEpsilon = layerNormEpsilon != null ? layerNormEpsilon : 1e-5;
        scaleAttnWeights = scaleAttnWeights != null ? scaleAttnWeights : true;
        scaleAttnByInverseLayerIdx = scaleAttnByInverseLayerIdx != null ? scaleAttnByInverseLayerIdx : false;
    }

    public int headDim() {
        return nEmbd / nHead;
    }
}
