package io.github.transformerslm.model.bloom;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

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
    public BloomConfig {
        vocabSize = vocabSize != null ? vocabSize : 250880;
        hiddenSize = hiddenSize != null ? hiddenSize : 64;
        nLayer = nLayer != null ? nLayer : 2;
        nHead = nHead != null ? nHead : 8;
        layerNormEpsilon = layerNormEpsilon != null ? layerNormEpsilon : 1e-5;
        applyResidualConnectionPostLayernorm =
                applyResidualConnectionPostLayernorm != null ? applyResidualConnectionPostLayernorm : false;
        seqLength = seqLength != null ? seqLength : 2048;
    }

    public int headDim() {
        return hiddenSize / nHead;
    }
}
