package io.github.transformerslm.model.gptj;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.DecoderConfig;

/** What GPT-J's config.json has beyond {@link DecoderConfig}: rotary on the first rotary_dim dimensions. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record GptjConfig(@JsonProperty("rotary_dim") Integer rotaryDim) {
    /** The whole head where the config leaves rotary_dim out. */
    public int rotaryDim(DecoderConfig d) {
        return rotaryDim != null ? rotaryDim : d.headDim();
    }
}
