package io.github.transformerslm.model.falcon;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.DecoderConfig;

/**
 * What Falcon's config.json (falcon-7b/40b, falcon-rw and the new decoder architecture) has beyond
 * {@link DecoderConfig}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record FalconConfig(
        @JsonProperty("num_kv_heads") Integer numKvHeads,
        @JsonProperty("multi_query") boolean multiQuery,
        @JsonProperty("new_decoder_architecture") boolean newDecoderArchitecture,
        @JsonProperty("parallel_attn") boolean parallelAttn,
        @JsonProperty("num_ln_in_parallel_attn") Integer numLnInParallelAttn,
        @JsonProperty("alibi") boolean alibi,
        @JsonProperty("bias") boolean bias) {

    public FalconConfig {
        numLnInParallelAttn = numLnInParallelAttn != null ? numLnInParallelAttn : (newDecoderArchitecture ? 2 : 1);
    }

    /** Key/value heads: one for multi-query, num_kv_heads for the new architecture, else one per head. */
    public int kvHeads(DecoderConfig d) {
        if (newDecoderArchitecture) {
            return numKvHeads != null ? numKvHeads : d.numAttentionHeads();
        }
        return multiQuery ? 1 : d.numAttentionHeads();
    }
}
