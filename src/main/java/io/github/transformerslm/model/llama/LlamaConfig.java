package io.github.transformerslm.model.llama;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What the config.json of Llama and its near relatives Mistral and Qwen2 has beyond
 * {@link io.github.transformerslm.model.DecoderConfig}. {@code attentionBias} and {@code outputBias} separate
 * Llama's {@code attention_bias} (q, k, v and o) from Qwen2's (q, k and v only).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record LlamaConfig(
        @JsonProperty("attention_bias") boolean attentionBias,
        @JsonProperty("mlp_bias") boolean mlpBias,
        Boolean outputBias) {

    public LlamaConfig {
        outputBias = outputBias != null ? outputBias : attentionBias;
    }

    /** Qwen2 puts biases on q, k and v but never on o, whatever attention_bias says. */
    public LlamaConfig asQwen2() {
        return new LlamaConfig(true, mlpBias, false);
    }

    /** Mistral has no biases. */
    public LlamaConfig asMistral() {
        return new LlamaConfig(false, false, false);
    }
}
