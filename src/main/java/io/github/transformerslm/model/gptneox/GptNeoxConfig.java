package io.github.transformerslm.model.gptneox;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
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
    public GptNeoxConfig {
        vocabSize = vocabSize != null ? vocabSize : 50432;
        hiddenSize = hiddenSize != null ? hiddenSize : 6144;
        intermediateSize = intermediateSize != null ? intermediateSize : 24576;
        numHiddenLayers = numHiddenLayers != null ? numHiddenLayers : 44;
        numAttentionHeads = numAttentionHeads != null ? numAttentionHeads : 64;
        hiddenAct = hiddenAct != null ? hiddenAct : "gelu";
        rotaryPct = rotaryPct != null ? rotaryPct : 0.25;
        ropeTheta = ropeTheta != null ? ropeTheta : rotaryEmbBase != null ? rotaryEmbBase : 10000.0;
        maxPositionEmbeddings = maxPositionEmbeddings != null ? maxPositionEmbeddings : 2048;
        layerNormEps = layerNormEps != null ? layerNormEps : 1e-5;
        useParallelResidual = useParallelResidual != null ? useParallelResidual : true;
        attentionBias = attentionBias != null ? attentionBias : true;
        tieWordEmbeddings = tieWordEmbeddings != null ? tieWordEmbeddings : false;
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    public int rotaryDim() {
        return (int) (headDim() * rotaryPct);
    }
}
