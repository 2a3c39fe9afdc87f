package io.github.transformerslm.model.phi;

import ai.djl.ndarray.NDArray;
import io.github.transformerslm.model.CausalLanguageModel;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.ModelShape;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Activations;
import io.github.transformerslm.model.nn.Attention;
import io.github.transformerslm.model.nn.Configs;
import io.github.transformerslm.model.nn.TokenEmbedding;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Mlp;
import io.github.transformerslm.model.nn.SelfAttention;
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.RopeScaling;
import io.github.transformerslm.model.nn.RotaryEmbedding;
import io.github.transformerslm.weights.CheckpointException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import tools.jackson.databind.JsonNode;

/**
 * Phi ({@code modeling_phi.py}, phi-2): partial rotary, attention and MLP in parallel off one LayerNorm,
 * the output projection named {@code dense}, LM head with a bias.
 */
public final class PhiModel extends DecoderModel {

    private record Layer(Norms.Norm norm, SelfAttention attn, Mlp mlp) {}

    private final TokenEmbedding embedTokens; // [vocab, hidden]: a table, or the tied head's weights
    private final RotaryEmbedding rotary;
    private final List<Layer> layers = new ArrayList<>();
    private final Norms.Norm finalNorm;
    private final Linear lmHead;

    private PhiModel(PhiConfig c, ModelWeights w) {
        super(w, new ModelShape("phi", c.vocabSize(), c.maxPositionEmbeddings(), c.numHiddenLayers(),
                w.parameterCount()),
                new CacheShape(c.numHiddenLayers(), c.numKeyValueHeads(), c.headDim()));
        if (c.qkLayernorm()) {
            throw new CheckpointException("config.json: phi with qk_layernorm is not supported");
        }
        float eps = c.layerNormEps().floatValue();
        UnaryOperator<NDArray> act = Activations.byName(c.hiddenAct());
        NDArray embeddingTable = w.matrix("model.embed_tokens.weight");
        this.rotary = new RotaryEmbedding(c.rotaryDim(), RotaryEmbedding.Layout.HALF,
                RopeScaling.fromConfig(c.ropeScaling(), c.ropeTheta(), c.rotaryDim(), c.maxPositionEmbeddings(), 0));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            layers.add(new Layer(
                    Norms.layerNorm(w.vector(p + "input_layernorm.weight"), w.vector(p + "input_layernorm.bias"), eps),
                    new SelfAttention(w.linear(p + "self_attn.q_proj", true), w.linear(p + "self_attn.k_proj", true),
                            w.linear(p + "self_attn.v_proj", true), w.linear(p + "self_attn.dense", true),
                            c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim(), rotary),
                    new Mlp(w.linear(p + "mlp.fc1", true), w.linear(p + "mlp.fc2", true), act)));
        }
        this.finalNorm = Norms.layerNorm(w.vector("model.final_layernorm.weight"),
                w.vector("model.final_layernorm.bias"), eps);
        boolean tied = c.tieWordEmbeddings() || !w.contains("lm_head.weight");
        this.lmHead = tied ? w.tiedHead(embeddingTable, w.optionalBias("lm_head.bias")) : w.head("lm_head", w.contains("lm_head.bias"));
        this.embedTokens = tied ? lmHead : w.embeddings(embeddingTable);
    }

    public static CausalLanguageModel load(JsonNode json, ModelWeights weights) {
        return new PhiModel(Configs.bind(json, PhiConfig.class, PhiConfig.DEFAULTS), weights);
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embedTokens.lookup(input.inputIds()); // [batch, seq, hidden]
        NDArray[] cosSin = rotary.at(manager, input.positionIds()); // [batch, 1, seq, rotaryDim] × 2
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            int layer = i;
            x = inLayerScope(x, in -> {
                NDArray h = l.norm().apply(in);
                return in.add(l.attn().apply(h, cosSin, input.attentionMask(), cache, layer)).add(l.mlp().apply(h));
            });
        }
        return lastLogits(x, finalNorm, lmHead, cache, input.sequenceLength()); // [batch, vocab]
    }

}
