package io.github.transformerslm.model.phi;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.DecoderConfig;

/** What Phi's config.json (phi-1.5, phi-2) has beyond {@link DecoderConfig}. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record PhiConfig(
        @JsonProperty("partial_rotary_factor") double partialRotaryFactor,
        @JsonProperty("qk_layernorm") boolean qkLayernorm) {

    public int rotaryDim(DecoderConfig d) {
        return (int) (partialRotaryFactor * d.headDim());
    }
}
