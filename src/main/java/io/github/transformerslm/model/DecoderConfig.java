package io.github.transformerslm.model;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.github.transformerslm.model.nn.Activations;
import io.github.transformerslm.weights.CheckpointException;
import java.util.function.UnaryOperator;
import tools.jackson.databind.JsonNode;

/**
 * What every decoder's config.json says, under Hugging Face's standard names ({@code hidden_size},
 * {@code num_hidden_layers}, ...). An architecture that names a field its own way ({@code n_embd},
 * {@code d_model}) maps it here in {@code config-defaults.json}, as its {@code attribute_map} does in
 * {@code transformers}; what only one architecture has stays in that architecture's own config record.
 * {@link ConfigJson} binds both from one file.
 *
 * @param intermediateSize the MLP's width; four times the hidden size where a config leaves it out
 * @param numKeyValueHeads one per attention head unless grouped-query attention says fewer
 * @param headDim the hidden size over the heads unless the config sets it
 * @param normEps layer or RMS norm epsilon; {@code nn.LayerNorm}'s 1e-5 where a config has none (XGLM)
 * @param ropeTheta the rotary base; {@code transformers}' 10000 where a config leaves it out
 * @param slidingWindow how many positions back a query may see, or null for no limit
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record DecoderConfig(
        @JsonProperty("vocab_size") int vocabSize,
        @JsonProperty("hidden_size") int hiddenSize,
        @JsonProperty("intermediate_size") Integer intermediateSize,
        @JsonProperty("num_hidden_layers") int numHiddenLayers,
        @JsonProperty("num_attention_heads") int numAttentionHeads,
        @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
        @JsonProperty("head_dim") Integer headDim,
        @JsonProperty("max_position_embeddings") int maxPositionEmbeddings,
        @JsonProperty("hidden_act") String hiddenAct,
        @JsonProperty("norm_eps") Double normEps,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("rope_scaling") JsonNode ropeScaling,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings,
        @JsonProperty("sliding_window") Integer slidingWindow) {

    public DecoderConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("max_position_embeddings", maxPositionEmbeddings);
        intermediateSize = intermediateSize != null ? intermediateSize : 4 * hiddenSize;
        numKeyValueHeads = numKeyValueHeads != null ? numKeyValueHeads : numAttentionHeads;
        headDim = headDim != null ? headDim : hiddenSize / numAttentionHeads;
        positive("num_key_value_heads", numKeyValueHeads);
        positive("head_dim", headDim);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new CheckpointException("config.json: num_attention_heads " + numAttentionHeads
                    + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
        }
        normEps = normEps != null ? normEps : 1e-5;
        ropeTheta = ropeTheta != null ? ropeTheta : 10000.0;
        tieWordEmbeddings = tieWordEmbeddings != null && tieWordEmbeddings;
    }

    /** The norms' epsilon, in the float32 they compute in. */
    public float eps() {
        return normEps.floatValue();
    }

    /** The MLP's activation, named by hidden_act. */
    public UnaryOperator<NDArray> activation() {
        return Activations.byName(hiddenAct);
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new CheckpointException("config.json: " + field + " must be positive, not " + value);
        }
    }

    /** Falcon derives its key/value heads from flags of its own. */
    public DecoderConfig withKeyValueHeads(int kvHeads) {
        return new DecoderConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, kvHeads,
                headDim, maxPositionEmbeddings, hiddenAct, normEps, ropeTheta, ropeScaling, tieWordEmbeddings, slidingWindow);
    }

    /** Qwen2's sliding_window is a hint unless use_sliding_window is set, which released checkpoints never do. */
    public DecoderConfig withoutSlidingWindow() {
        return new DecoderConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, maxPositionEmbeddings, hiddenAct, normEps, ropeTheta, ropeScaling,
                tieWordEmbeddings, null);
    }
}
