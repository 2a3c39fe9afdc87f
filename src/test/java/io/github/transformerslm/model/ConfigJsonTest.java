package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.transformerslm.model.falcon.FalconConfig;
import io.github.transformerslm.model.gpt2.Gpt2Config;
import io.github.transformerslm.weights.CheckpointException;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** config.json is read the way transformers reads it: its defaults, its attribute_map, derived fields. */
class ConfigJsonTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static JsonNode json(String text) {
        return JSON.readTree(text);
    }

    @Test
    void gpt2NamesItsFieldsItsOwnWayAndFillsTheRestFromItsDefaults() {
        ConfigJson config = ConfigJson.of("gpt2", json("{\"n_embd\": 64, \"n_head\": 4, \"n_layer\": 2, \"n_inner\": null}"));
        DecoderConfig d = config.decoder();
        assertThat(d.hiddenSize()).isEqualTo(64);
        assertThat(d.numAttentionHeads()).isEqualTo(4);
        assertThat(d.numKeyValueHeads()).isEqualTo(4);
        assertThat(d.headDim()).isEqualTo(16);
        assertThat(d.numHiddenLayers()).isEqualTo(2);
        assertThat(d.intermediateSize()).as("n_inner null: 4 × n_embd").isEqualTo(256);
        assertThat(d.maxPositionEmbeddings()).as("GPT2Config's n_positions").isEqualTo(1024);
        assertThat(d.vocabSize()).isEqualTo(50257);
        assertThat(d.hiddenAct()).isEqualTo("gelu_new");
        assertThat(d.normEps()).isEqualTo(1e-5);
        assertThat(config.bind(Gpt2Config.class)).isEqualTo(new Gpt2Config(true, false));
    }

    @Test
    void aStandardNameInTheFileWinsOverTheArchitecturesOwn() {
        DecoderConfig d = ConfigJson.of("gpt_neox",
                json("{\"rotary_emb_base\": 500.0, \"rope_theta\": 20000.0}")).decoder();
        assertThat(d.ropeTheta()).isEqualTo(20000.0);
        assertThat(ConfigJson.of("gpt_neox", json("{\"rotary_emb_base\": 500.0}")).decoder().ropeTheta())
                .as("older GPT-NeoX configs name the rotary base rotary_emb_base").isEqualTo(500.0);
        assertThat(ConfigJson.of("gpt_neox", json("{}")).decoder().ropeTheta()).isEqualTo(10000.0);
    }

    @Test
    void llamaDerivesHeadsAndHeadSizeUnlessTheFileSetsThem() {
        DecoderConfig d = ConfigJson.of("llama", json(
                "{\"hidden_size\": 64, \"num_attention_heads\": 8, \"num_key_value_heads\": 2, \"head_dim\": 16,"
                        + " \"sliding_window\": 128, \"rms_norm_eps\": 1e-6}")).decoder();
        assertThat(d.numKeyValueHeads()).isEqualTo(2);
        assertThat(d.headDim()).isEqualTo(16);
        assertThat(d.slidingWindow()).isEqualTo(128);
        assertThat(d.withoutSlidingWindow().slidingWindow()).isNull();
        assertThat(d.normEps()).isEqualTo(1e-6);
        assertThat(d.tieWordEmbeddings()).isFalse();
    }

    @Test
    void falconCountsItsKeyValueHeadsFromItsOwnFlags() {
        ConfigJson config = ConfigJson.of("falcon", json("{\"hidden_size\": 64, \"num_attention_heads\": 8}"));
        assertThat(config.bind(FalconConfig.class).kvHeads(config.decoder())).as("multi_query by default").isEqualTo(1);
        ConfigJson grouped = ConfigJson.of("falcon", json("{\"hidden_size\": 64, \"num_attention_heads\": 8,"
                + " \"new_decoder_architecture\": true, \"num_kv_heads\": 2}"));
        FalconConfig falcon = grouped.bind(FalconConfig.class);
        assertThat(falcon.kvHeads(grouped.decoder())).isEqualTo(2);
        assertThat(falcon.numLnInParallelAttn()).isEqualTo(2);
        assertThat(grouped.decoder().tieWordEmbeddings()).as("FalconConfig ties by default").isTrue();
    }

    @Test
    void aShapeThatCannotWorkIsTheCheckpointsFaultNamingTheField() {
        assertThatThrownBy(() -> ConfigJson.of("llama", json("{\"num_attention_heads\": 0}")).decoder())
                .isInstanceOf(CheckpointException.class).hasMessage("config.json: num_attention_heads must be positive, not 0");
        assertThatThrownBy(() -> ConfigJson.of("llama", json(
                "{\"hidden_size\": 64, \"num_attention_heads\": 8, \"num_key_value_heads\": 3}")).decoder())
                .isInstanceOf(CheckpointException.class).hasMessageContaining("num_key_value_heads 3");
        assertThatThrownBy(() -> ConfigJson.of("gpt2", json("{\"n_embd\": \"wide\"}")).decoder())
                .isInstanceOf(CheckpointException.class).hasMessageStartingWith("config.json: ");
    }
}
