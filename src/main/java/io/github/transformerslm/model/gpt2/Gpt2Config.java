package io.github.transformerslm.model.gpt2;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/** What GPT-2's config.json has beyond {@link io.github.transformerslm.model.DecoderConfig}. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Gpt2Config(
        @JsonProperty("scale_attn_weights") boolean scaleAttnWeights,
        @JsonProperty("scale_attn_by_inverse_layer_idx") boolean scaleAttnByInverseLayerIdx) {}
