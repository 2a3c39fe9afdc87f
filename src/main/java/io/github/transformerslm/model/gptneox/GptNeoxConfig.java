package io.github.transformerslm.model.gptneox;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.DecoderConfig;

/** What GPT-NeoX's config.json (Pythia, OpenAssistant's SFT models) has beyond {@link DecoderConfig}. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record GptNeoxConfig(
        @JsonProperty("rotary_pct") double rotaryPct,
        @JsonProperty("use_parallel_residual") boolean useParallelResidual,
        @JsonProperty("attention_bias") boolean attentionBias) {

    public int rotaryDim(DecoderConfig d) {
        return (int) (d.headDim() * rotaryPct);
    }
}
