package io.github.transformerslm.model.phi3;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.DecoderConfig;

/** What Phi-3's config.json (mini 4k and 128k, with LongRoPE) has beyond {@link DecoderConfig}. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Phi3Config(@JsonProperty("original_max_position_embeddings") Integer originalMaxPositionEmbeddings) {
    /** The context LongRoPE scales from: the whole context where the config does not say. */
    public int originalMaxPositions(DecoderConfig d) {
        return originalMaxPositionEmbeddings != null ? originalMaxPositionEmbeddings : d.maxPositionEmbeddings();
    }
}
