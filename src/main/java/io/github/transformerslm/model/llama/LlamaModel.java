package io.github.transformerslm.model.llama;

import io.github.transformerslm.model.nn.Configs;
import ai.djl.ndarray.NDArray;
import io.github.transformerslm.model.CausalLanguageModel;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.ModelShape;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Activations;
import io.github.transformerslm.model.nn.Attention;
import io.github.transformerslm.model.nn.TokenEmbedding;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.GatedMlp;
import io.github.transformerslm.model.nn.SelfAttention;
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.RopeScaling;
import io.github.transformerslm.model.nn.RotaryEmbedding;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import tools.jackson.databind.JsonNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Llama ({@code modeling_llama.py}), which also serves Mistral and Qwen2: RMSNorm, rotary positions,
 * grouped-query attention, gated MLP.
 */
public final class LlamaModel extends DecoderModel {
    private static final Logger log = LoggerFactory.getLogger(LlamaModel.class);

    private record DecoderLayer(Norms.Norm inputNorm, SelfAttention attn, Norms.Norm postNorm, GatedMlp mlp) {}

    private final TokenEmbedding embedTokens; // [vocab, hidden]: a table, or the tied head's weights
    private final RotaryEmbedding rotary;
    private final List<DecoderLayer> layers = new ArrayList<>();
    private final Norms.Norm norm;
    private final Linear lmHead;

    private LlamaModel(String modelType, LlamaConfig c, ModelWeights w) {
        super(w, new ModelShape(modelType, c.vocabSize(), c.maxPositionEmbeddings(), c.numHiddenLayers(),
                w.parameterCount(), c.slidingWindow() != null ? c.slidingWindow() : 0),
                new CacheShape(c.numHiddenLayers(), c.numKeyValueHeads(), c.headDim()));
        float eps = c.rmsNormEps().floatValue();
        UnaryOperator<NDArray> act = Activations.byName(c.hiddenAct());
        NDArray embeddingTable = w.matrix("model.embed_tokens.weight");
        this.rotary = new RotaryEmbedding(c.headDim(), RotaryEmbedding.Layout.HALF,
                modelType.equals("mistral")
                        // transformers 4.47's MistralRotaryEmbedding takes only the base and the dimension:
                        // a Mistral config's rope_scaling changes nothing there, so it changes nothing here.
                        ? RopeScaling.none(c.ropeTheta(), c.headDim())
                        : RopeScaling.fromConfig(c.ropeScaling(), c.ropeTheta(), c.headDim(), c.maxPositionEmbeddings(), 0));
        if (modelType.equals("mistral") && c.ropeScaling() != null && !c.ropeScaling().isNull()) {
            log.warn("config.json: rope_scaling {} is ignored for mistral, as transformers 4.47 ignores it", c.ropeScaling());
        }
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            layers.add(new DecoderLayer(
                    Norms.rmsNorm(w.vector(p + "input_layernorm.weight"), eps),
                    new SelfAttention(
                            w.linear(p + "self_attn.q_proj", c.attentionBias()),
                            w.linear(p + "self_attn.k_proj", c.attentionBias()),
                            w.linear(p + "self_attn.v_proj", c.attentionBias()),
                            w.linear(p + "self_attn.o_proj", c.outputBias()),
                            c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim(), rotary),
                    Norms.rmsNorm(w.vector(p + "post_attention_layernorm.weight"), eps),
                    new GatedMlp(w.linear(p + "mlp.gate_proj", c.mlpBias()), w.linear(p + "mlp.up_proj", c.mlpBias()),
                            w.linear(p + "mlp.down_proj", c.mlpBias()), act)));
        }
        this.norm = Norms.rmsNorm(w.vector("model.norm.weight"), eps);
        boolean tied = c.tieWordEmbeddings() || !w.contains("lm_head.weight");
        this.lmHead = tied ? w.tiedHead(embeddingTable, null) : w.head("lm_head", false);
        this.embedTokens = tied ? lmHead : w.embeddings(embeddingTable);
    }

    private static LlamaConfig parse(JsonNode json) {
        return Configs.bind(json, LlamaConfig.class, LlamaConfig.DEFAULTS);
    }

    public static CausalLanguageModel loadLlama(JsonNode json, ModelWeights w) {
        return new LlamaModel("llama", parse(json), w);
    }

    public static CausalLanguageModel loadMistral(JsonNode json, ModelWeights w) {
        return new LlamaModel("mistral", parse(json).asMistral(), w);
    }

    public static CausalLanguageModel loadQwen2(JsonNode json, ModelWeights w) {
        return new LlamaModel("qwen2", parse(json).asQwen2(), w);
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embedTokens.lookup(input.inputIds()); // [batch, seq, hidden]
        NDArray[] cosSin = rotary.at(manager, input.positionIds()); // [batch, 1, seq, headDim] × 2
        for (int i = 0; i < layers.size(); i++) {
            DecoderLayer l = layers.get(i);
            int layer = i;
            x = inLayerScope(x, h -> {
                NDArray a = h.add(l.attn().apply(l.inputNorm().apply(h), cosSin, input.attentionMask(), cache, layer));
                return a.add(l.mlp().apply(l.postNorm().apply(a)));
            });
        }
        return lastLogits(x, norm, lmHead, cache, input.sequenceLength()); // [batch, vocab]
    }

}
