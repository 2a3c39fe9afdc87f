package io.github.transformerslm.model.gptneox;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.nn.Configs;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** GPT-NeoX's config.json (Pythia, OpenAssistant's SFT models). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record GptNeoxConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("intermediate_size") Integer intermediateSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("hidden_act") String hiddenAct,
        @JsonProperty("rotary_pct") Double rotaryPct,
        @JsonProperty("rotary_emb_base") Double rotaryEmbBase,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("rope_scaling") JsonNode ropeScaling,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("layer_norm_eps") Double layerNormEps,
        @JsonProperty("use_parallel_residual") Boolean useParallelResidual,
        @JsonProperty("attention_bias") Boolean attentionBias,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings) {
    /** Hugging Face's defaults for keys a config.json leaves out (those that follow from other keys are below). */
    public static final Map<String, Object> DEFAULTS = Map.ofEntries(
            Map.entry("vocab_size", 50432),
            Map.entry("hidden_size", 6144),
            Map.entry("intermediate_size", 24576),
            Map.entry("num_hidden_layers", 44),
            Map.entry("num_attention_heads", 64),
            Map.entry("rotary_pct", 0.25),
            Map.entry("max_position_embeddings", 2048),
            Map.entry("layer_norm_eps", 1e-5),
            Map.entry("use_parallel_residual", true),
            Map.entry("attention_bias", true),
            Map.entry("tie_word_embeddings", false),
            Map.entry("hidden_act", "gelu"));

    public GptNeoxConfig {
        ropeTheta = Configs.orDefault(ropeTheta, rotaryEmbBase != null ? rotaryEmbBase : 10000.0);
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    public int rotaryDim() {
        return (int) (headDim() * rotaryPct);
    }
}
