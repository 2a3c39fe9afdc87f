package io.github.transformerslm.model.llama;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.nn.Configs;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * The config.json of Llama and its near relatives Mistral and Qwen2, with Hugging Face field names.
 * {@code attentionBias} and {@code outputBias} separate Llama's {@code attention_bias} (q, k, v and o)
 * from Qwen2's (q, k and v only).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record LlamaConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("intermediate_size") Integer intermediateSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
        @JsonProperty("head_dim") Integer headDim,
        @JsonProperty("hidden_act") String hiddenAct,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("rms_norm_eps") Double rmsNormEps,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("rope_scaling") JsonNode ropeScaling,
        @JsonProperty("attention_bias") Boolean attentionBias,
        @JsonProperty("mlp_bias") Boolean mlpBias,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings,
        @JsonProperty("sliding_window") Integer slidingWindow,
        Boolean outputBias) {
    /** Hugging Face's defaults for keys a config.json leaves out (those that follow from other keys are below). */
    public static final Map<String, Object> DEFAULTS = Map.ofEntries(
            Map.entry("vocab_size", 32000),
            Map.entry("hidden_size", 4096),
            Map.entry("intermediate_size", 11008),
            Map.entry("num_hidden_layers", 32),
            Map.entry("num_attention_heads", 32),
            Map.entry("max_position_embeddings", 2048),
            Map.entry("rms_norm_eps", 1e-6),
            Map.entry("rope_theta", 10000.0),
            Map.entry("attention_bias", false),
            Map.entry("mlp_bias", false),
            Map.entry("tie_word_embeddings", false),
            Map.entry("hidden_act", "silu"));

    public LlamaConfig {
        numKeyValueHeads = Configs.orDefault(numKeyValueHeads, numAttentionHeads);
        headDim = Configs.orDefault(headDim, hiddenSize / numAttentionHeads);
        outputBias = Configs.orDefault(outputBias, attentionBias);
    }

    /**
     * Qwen2 puts biases on q, k and v but never on o, whatever attention_bias says. Its sliding_window is
     * only a hint unless use_sliding_window is set, which released Qwen2 checkpoints never do.
     */
    LlamaConfig asQwen2() {
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, hiddenAct, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling,
                true, mlpBias, tieWordEmbeddings, null, false);
    }

    /** Mistral has no biases and its head_dim may be unset. */
    LlamaConfig asMistral() {
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, hiddenAct, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling,
                false, false, tieWordEmbeddings, slidingWindow, false);
    }
}
