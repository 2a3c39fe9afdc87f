package io.github.transformerslm.model.bloom;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What BLOOM's config.json has beyond {@link io.github.transformerslm.model.DecoderConfig}. ALiBi has no
 * learned positions; {@code seq_length} is the trained context.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record BloomConfig(
        @JsonProperty("apply_residual_connection_post_layernorm") boolean applyResidualConnectionPostLayernorm) {}
