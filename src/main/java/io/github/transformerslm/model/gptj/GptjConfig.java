package io.github.transformerslm.model.gptj;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/** GPT-J's config.json. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record GptjConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("n_positions") Integer nPositions,
        @JsonProperty("n_embd") Integer nEmbd,
        @JsonProperty("n_layer") Integer nLayer,
        @JsonProperty("n_head") Integer nHead,
        @JsonProperty("n_inner") Integer nInner,
        @JsonProperty("rotary_dim") Integer rotaryDim,
        @JsonProperty("activation_function") String activationFunction,
        @JsonProperty("layer_norm_epsilon") Double layerNormEpsilon) {
    public GptjConfig {
        vocabSize = vocabSize != null ? vocabSize : 50400;
        nPositions = nPositions != null ? nPositions : 2048;
        nEmbd = nEmbd != null ? nEmbd : 4096;
        nLayer = nLayer != null ? nLayer : 28;
        nHead = nHead != null ? nHead : 16;
        nInner = nInner != null ? nInner : 4 * nEmbd;
        rotaryDim = rotaryDim != null ? rotaryDim : nEmbd / nHead;
        activationFunction = activationFunction != null ? activationFunction : "gelu_new";
        layerNormEpsilon = layerNormEpsilon != null ? layerNormEpsilon : 1e-5;
    }

    public int headDim() {
        return nEmbd / nHead;
    }
}
