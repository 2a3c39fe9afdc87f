package io.github.transformerslm.model.phi3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.DecoderConfig;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Attention;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.RotaryEmbedding;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

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

    private final RotaryEmbedding rotary;
    private final List<Layer> layers = new ArrayList<>();

    public Phi3Model(DecoderConfig d, Phi3Config c, ModelWeights w) {
        super("phi3", d, w);
        this.rotary = rotary(d, d.headDim(), c.originalMaxPositions(d));
        for (int i = 0; i < d.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            layers.add(new Layer(w.rmsNorm(p + "input_layernorm", d.eps()),
                    new SelfAttention(w.linear(p + "self_attn.qkv_proj", false), w.linear(p + "self_attn.o_proj", false),
                            d.numAttentionHeads(), d.numKeyValueHeads(), d.headDim()),
                    w.rmsNorm(p + "post_attention_layernorm", d.eps()),
                    new Mlp(w.linear(p + "mlp.gate_up_proj", false), w.linear(p + "mlp.down_proj", false), d.activation(),
                            d.intermediateSize())));
        }
        outputs(w, w.rmsNorm("model.norm", d.eps()), w.matrix("model.embed_tokens.weight"), "lm_head", d.tieWordEmbeddings(), false);
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embed(input.inputIds()); // [batch, seq, hidden]
        NDArray[] cosSin = rotary.at(manager, input.positionIds()); // [batch, 1, seq, headDim] × 2
        x = throughLayers(x, layers, (l, h, layer) -> preNormBlock(h,
                l.inputNorm(), n -> l.attn().apply(n, cosSin, rotary, input.attentionMask(), cache, layer),
                l.postNorm(), l.mlp()::apply));
        return lastLogits(x, cache, input.sequenceLength()); // [batch, vocab]
    }

}
