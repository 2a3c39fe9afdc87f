package io.github.transformerslm.model.phi3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
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
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.RopeScaling;
import io.github.transformerslm.model.nn.RotaryEmbedding;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import tools.jackson.databind.JsonNode;

/**
 * Phi-3 ({@code modeling_phi3.py}): Llama's block with fused projections, qkv_proj laid out
 * [q | k | v] and gate_up_proj laid out [gate | up], and LongRoPE for the 128k variants.
 */
public final class Phi3Model extends DecoderModel {

    private record Mlp(Linear gateUp, Linear down, UnaryOperator<NDArray> act, int intermediate) {
        NDArray apply(NDArray x) { // [batch, seq, hidden]
            NDArray fused = gateUp.apply(x); // [batch, seq, 2*intermediate]
            NDArray gate = fused.get(new NDIndex("..., :{}", intermediate));
            NDArray up = fused.get(new NDIndex("..., {}:", intermediate));
            return down.apply(up.mul(act.apply(gate)));
        }
    }

    private record SelfAttention(Linear qkv, Linear o, int heads, int kvHeads, int headDim) {
        NDArray apply(NDArray x, NDArray[] cosSin, RotaryEmbedding rotary, NDArray mask, AttentionCache cache, int layer) {
            int qSize = heads * headDim;
            int kvSize = kvHeads * headDim;
            NDArray fused = qkv.apply(x); // [batch, seq, qSize + 2*kvSize]
            NDArray q = rotary.apply(Attention.splitHeads(fused.get(new NDIndex("..., :{}", qSize)), heads, headDim), cosSin);
            NDArray k = rotary.apply(Attention.splitHeads(
                    fused.get(new NDIndex("..., {}:{}", qSize, qSize + kvSize)), kvHeads, headDim), cosSin);
            NDArray v = Attention.splitHeads(fused.get(new NDIndex("..., {}:", qSize + kvSize)), kvHeads, headDim);
            NDArray attended = cache.attend(layer, q, k, v, mask, (float) (1.0 / Math.sqrt(headDim))); // [batch, heads, seq, headDim]
            return o.apply(Attention.mergeHeads(attended)); // [batch, seq, hidden]
        }
    }

    private record Layer(Norms.Norm inputNorm, SelfAttention attn, Norms.Norm postNorm, Mlp mlp) {}

    private final TokenEmbedding embedTokens; // [vocab, hidden]: a table, or the tied head's weights
    private final RotaryEmbedding rotary;
    private final List<Layer> layers = new ArrayList<>();
    private final Norms.Norm norm;
    private final Linear lmHead;

    private Phi3Model(Phi3Config c, ModelWeights w) {
        super(w, new ModelShape("phi3", c.vocabSize(), c.maxPositionEmbeddings(), c.numHiddenLayers(),
                w.parameterCount(), c.slidingWindow() != null ? c.slidingWindow() : 0),
                new CacheShape(c.numHiddenLayers(), c.numKeyValueHeads(), c.headDim()));
        float eps = c.rmsNormEps().floatValue();
        UnaryOperator<NDArray> act = Activations.byName(c.hiddenAct());
        NDArray embeddingTable = w.matrix("model.embed_tokens.weight");
        this.rotary = new RotaryEmbedding(c.headDim(), RotaryEmbedding.Layout.HALF, RopeScaling.fromConfig(
                c.ropeScaling(), c.ropeTheta(), c.headDim(), c.maxPositionEmbeddings(), c.originalMaxPositionEmbeddings()));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            layers.add(new Layer(
                    Norms.rmsNorm(w.vector(p + "input_layernorm.weight"), eps),
                    new SelfAttention(w.linear(p + "self_attn.qkv_proj", false), w.linear(p + "self_attn.o_proj", false),
                            c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim()),
                    Norms.rmsNorm(w.vector(p + "post_attention_layernorm.weight"), eps),
                    new Mlp(w.linear(p + "mlp.gate_up_proj", false), w.linear(p + "mlp.down_proj", false), act,
                            c.intermediateSize())));
        }
        this.norm = Norms.rmsNorm(w.vector("model.norm.weight"), eps);
        boolean tied = c.tieWordEmbeddings() || !w.contains("lm_head.weight");
        this.lmHead = tied ? w.tiedHead(embeddingTable, null) : w.head("lm_head", false);
        this.embedTokens = tied ? lmHead : w.embeddings(embeddingTable);
    }

    public static CausalLanguageModel load(JsonNode json, ModelWeights weights) {
        return new Phi3Model(Configs.bind(json, Phi3Config.class, Phi3Config.DEFAULTS), weights);
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embedTokens.lookup(input.inputIds()); // [batch, seq, hidden]
        NDArray[] cosSin = rotary.at(manager, input.positionIds()); // [batch, 1, seq, headDim] × 2
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            int layer = i;
            x = inLayerScope(x, h -> {
                NDArray a = h.add(l.attn().apply(l.inputNorm().apply(h), cosSin, rotary, input.attentionMask(), cache, layer));
                return a.add(l.mlp().apply(l.postNorm().apply(a)));
            });
        }
        return lastLogits(x, norm, lmHead, cache, input.sequenceLength()); // [batch, vocab]
    }

}
