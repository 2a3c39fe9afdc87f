package io.github.transformerslm.model.gptneox;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.DecoderConfig;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Attention;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Mlp;
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.RotaryEmbedding;
import java.util.ArrayList;
import java.util.List;

/**
 * GPT-NeoX ({@code modeling_gpt_neox.py}): fused query_key_value laid out per head as [q | k | v],
 * partial rotary, and a parallel or serial residual ({@code use_parallel_residual}).
 */
public final class GptNeoxModel extends DecoderModel {

    private record SelfAttention(Linear qkv, Linear dense, int heads, int headDim) {
        NDArray apply(NDArray x, NDArray[] cosSin, RotaryEmbedding rotary, NDArray mask, AttentionCache cache, int layer) {
            long b = x.getShape().get(0);
            long s = x.getShape().get(1);
            NDArray fused = qkv.apply(x).reshape(b, s, heads, 3 * headDim).transpose(0, 2, 1, 3); // [batch, heads, seq, 3*headDim]
            NDArray q = rotary.apply(fused.get(new NDIndex("..., :{}", headDim)), cosSin);
            NDArray k = rotary.apply(fused.get(new NDIndex("..., {}:{}", headDim, 2 * headDim)), cosSin);
            NDArray v = fused.get(new NDIndex("..., {}:", 2 * headDim));
            NDArray attended = cache.attend(layer, q, k, v, mask, (float) (1.0 / Math.sqrt(headDim))); // [batch, heads, seq, headDim]
            return dense.apply(Attention.mergeHeads(attended)); // [batch, seq, hidden]
        }
    }

    private record Layer(Norms.Norm inputNorm, SelfAttention attn, Norms.Norm postNorm, Mlp mlp) {}

    private final GptNeoxConfig config;
    private final RotaryEmbedding rotary;
    private final List<Layer> layers = new ArrayList<>();

    public GptNeoxModel(DecoderConfig d, GptNeoxConfig c, ModelWeights w) {
        super("gpt_neox", d, w);
        this.config = c;
        this.rotary = rotary(d, c.rotaryDim(d), 0);
        for (int i = 0; i < d.numHiddenLayers(); i++) {
            String p = "gpt_neox.layers." + i + ".";
            layers.add(new Layer(w.layerNorm(p + "input_layernorm", d.eps()),
                    new SelfAttention(w.linear(p + "attention.query_key_value", c.attentionBias()),
                            w.linear(p + "attention.dense", c.attentionBias()), d.numAttentionHeads(), d.headDim()),
                    w.layerNorm(p + "post_attention_layernorm", d.eps()),
                    new Mlp(w.linear(p + "mlp.dense_h_to_4h", true), w.linear(p + "mlp.dense_4h_to_h", true), d.activation())));
        }
        outputs(w, w.layerNorm("gpt_neox.final_layer_norm", d.eps()), w.matrix("gpt_neox.embed_in.weight"), "embed_out",
                d.tieWordEmbeddings(), false);
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embed(input.inputIds()); // [batch, seq, hidden]
        NDArray[] cosSin = rotary.at(manager, input.positionIds()); // [batch, 1, seq, rotaryDim] × 2
        x = throughLayers(x, layers, (l, in, layer) -> {
            NDArray attn = l.attn().apply(l.inputNorm().apply(in), cosSin, rotary, input.attentionMask(), cache, layer);
            if (config.useParallelResidual()) {
                // x = x + attn(ln1(x)) + mlp(ln2(x))
                return in.add(attn).add(l.mlp().apply(l.postNorm().apply(in)));
            }
            // x = x + attn(ln1(x)); x = x + mlp(ln2(x))
            NDArray a = in.add(attn);
            return a.add(l.mlp().apply(l.postNorm().apply(a)));
        });
        return lastLogits(x, cache, input.sequenceLength()); // [batch, vocab]
    }

}
