package io.github.transformerslm.model.falcon;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.nn.Configs;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** Falcon's config.json (falcon-7b/40b, falcon-rw and the new decoder architecture). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record FalconConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("num_kv_heads") Integer numKvHeads,
        @JsonProperty("multi_query") Boolean multiQuery,
        @JsonProperty("new_decoder_architecture") Boolean newDecoderArchitecture,
        @JsonProperty("parallel_attn") Boolean parallelAttn,
        @JsonProperty("num_ln_in_parallel_attn") Integer numLnInParallelAttn,
        @JsonProperty("alibi") Boolean alibi,
        @JsonProperty("bias") Boolean bias,
        @JsonProperty("activation") String activation,
        @JsonProperty("ffn_hidden_size") Integer ffnHiddenSize,
        @JsonProperty("layer_norm_epsilon") Double layerNormEpsilon,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("rope_scaling") JsonNode ropeScaling,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings) {
    /** Hugging Face's defaults for keys a config.json leaves out (those that follow from other keys are below). */
    public static final Map<String, Object> DEFAULTS = Map.ofEntries(
            Map.entry("vocab_size", 65024),
            Map.entry("hidden_size", 4544),
            Map.entry("num_hidden_layers", 32),
            Map.entry("num_attention_heads", 71),
            Map.entry("multi_query", true),
            Map.entry("new_decoder_architecture", false),
            Map.entry("parallel_attn", true),
            Map.entry("alibi", false),
            Map.entry("bias", false),
            Map.entry("layer_norm_epsilon", 1e-5),
            Map.entry("max_position_embeddings", 2048),
            Map.entry("rope_theta", 10000.0),
            Map.entry("tie_word_embeddings", true),
            Map.entry("activation", "gelu"));

    public FalconConfig {
        numKvHeads = Configs.orDefault(numKvHeads, numAttentionHeads);
        numLnInParallelAttn = Configs.orDefault(numLnInParallelAttn, (newDecoderArchitecture ? 2 : 1));
        ffnHiddenSize = Configs.orDefault(ffnHiddenSize, 4 * hiddenSize);
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Key/value heads: one for multi-query, num_kv_heads for the new architecture, else one per head. */
    public int kvHeads() {
        if (newDecoderArchitecture) {
            return numKvHeads;
        }
        return multiQuery ? 1 : numAttentionHeads;
    }
}
