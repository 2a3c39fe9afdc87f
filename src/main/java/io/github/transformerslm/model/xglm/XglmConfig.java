package io.github.transformerslm.model.xglm;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/** What XGLM's config.json (facebook/xglm, Dream's ruXGLM) has beyond {@link io.github.transformerslm.model.DecoderConfig}. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record XglmConfig(
        @JsonProperty("scale_embedding") boolean scaleEmbedding,
        @JsonProperty("pad_token_id") int padTokenId) {}
