package io.github.transformerslm.model.falcon;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.DecoderConfig;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Alibi;
import io.github.transformerslm.model.nn.Attention;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Mlp;
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.RotaryEmbedding;
import java.util.ArrayList;
import java.util.List;

/**
 * Falcon ({@code modeling_falcon.py}): fused QKV in three layouts (multi-query, per head, grouped for
 * the new decoder architecture), rotary or ALiBi, parallel or serial attention and MLP.
 */
public final class FalconModel extends DecoderModel {

    private record SelfAttention(Linear qkv, Linear dense, FalconConfig c, DecoderConfig decoder) {
        NDArray apply(NDArray x, ForwardInput in, NDArray[] cosSin, RotaryEmbedding rotary, NDArray alibi,
                AttentionCache cache, int layer) {
            long b = x.getShape().get(0);
            long s = x.getShape().get(1);
            int heads = decoder.numAttentionHeads();
            int d = decoder.headDim();
            int kvHeads = c.kvHeads(decoder);
            NDArray fused = qkv.apply(x); // [batch, seq, (heads + 2*kvHeads) * headDim]
            NDArray q;
            NDArray k;
            NDArray v;
            if (c.newDecoderArchitecture()) {
                // Grouped: per kv group, its query heads, then one key, then one value.
                int perGroup = heads / kvHeads;
                NDArray g = fused.reshape(b, s, kvHeads, perGroup + 2, d);
                q = g.get(new NDIndex(":, :, :, :{}, :", perGroup)).reshape(b, s, heads, d);
                k = g.get(new NDIndex(":, :, :, {}, :", perGroup));
                v = g.get(new NDIndex(":, :, :, {}, :", perGroup + 1));
            } else if (c.multiQuery()) {
                NDArray g = fused.reshape(b, s, heads + 2, d);
                q = g.get(new NDIndex(":, :, :{}, :", heads));
                k = g.get(new NDIndex(":, :, {}:{}, :", heads, heads + 1));
                v = g.get(new NDIndex(":, :, {}:, :", heads + 1));
            } else {
                NDArray g = fused.reshape(b, s, heads, 3, d);
                q = g.get(new NDIndex(":, :, :, 0, :"));
                k = g.get(new NDIndex(":, :, :, 1, :"));
                v = g.get(new NDIndex(":, :, :, 2, :"));
            }
            q = q.transpose(0, 2, 1, 3); // [batch, heads, seq, headDim]
            k = k.reshape(b, s, kvHeads, d).transpose(0, 2, 1, 3); // [batch, kvHeads, seq, headDim]
            v = v.reshape(b, s, kvHeads, d).transpose(0, 2, 1, 3);
            if (rotary != null) {
                q = rotary.apply(q, cosSin);
                k = rotary.apply(k, cosSin);
            }
            float scale = (float) (1.0 / Math.sqrt(d));
            NDArray attended = cache.attend(layer, q, k, v, in.attentionMask(), scale, alibi, true); // [batch, heads, seq, d]
            return dense.apply(Attention.mergeHeads(attended)); // [batch, seq, hidden]
        }
    }

    /** attnNorm feeds attention (and the MLP when parallel with one norm); mlpNorm is the second norm or null. */
    private record Layer(Norms.Norm attnNorm, SelfAttention attn, Norms.Norm mlpNorm, Mlp mlp) {}

    private final FalconConfig config;
    private final RotaryEmbedding rotary;
    private final Alibi alibi;
    private final List<Layer> layers = new ArrayList<>();

    public FalconModel(DecoderConfig d, FalconConfig c, ModelWeights checkpoint) {
        super("falcon", d.withKeyValueHeads(c.kvHeads(d)), checkpoint);
        // A checkpoint of the LM-head model names its weights transformer.*; one of the bare model does not.
        ModelWeights w = checkpoint.withPrefixes(List.of("transformer.", ""));
        this.config = c;
        this.rotary = c.alibi() ? null : rotary(d, d.headDim(), 0);
        this.alibi = c.alibi() ? new Alibi(manager, d.numAttentionHeads()) : null;
        for (int i = 0; i < d.numHiddenLayers(); i++) {
            String p = "h." + i + ".";
            Norms.Norm attnNorm;
            Norms.Norm mlpNorm;
            if (c.newDecoderArchitecture() && c.numLnInParallelAttn() == 2) {
                attnNorm = w.layerNorm(p + "ln_attn", d.eps());
                mlpNorm = w.layerNorm(p + "ln_mlp", d.eps());
            } else {
                attnNorm = w.layerNorm(p + "input_layernorm", d.eps());
                mlpNorm = c.parallelAttn() || c.newDecoderArchitecture() ? null : w.layerNorm(p + "post_attention_layernorm", d.eps());
            }
            layers.add(new Layer(attnNorm,
                    new SelfAttention(w.linear(p + "self_attention.query_key_value", c.bias()),
                            w.linear(p + "self_attention.dense", c.bias()), c, d),
                    mlpNorm,
                    new Mlp(w.linear(p + "mlp.dense_h_to_4h", c.bias()), w.linear(p + "mlp.dense_4h_to_h", c.bias()), d.activation())));
        }
        outputs(w, w.layerNorm("ln_f", d.eps()), w.matrix("word_embeddings.weight"), "lm_head", d.tieWordEmbeddings(), false);
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embed(input.inputIds()); // [batch, seq, hidden]
        NDArray[] cosSin = rotary != null ? rotary.at(manager, input.positionIds()) : null;
        // transformers 4.47's eager Falcon adds ALiBi twice: to the scores before they are scaled, and again,
        // divided by sqrt(head_dim), through the causal mask it builds. (scores + 2 * bias) * scale is both.
        NDArray bias = alibi != null ? alibi.bfloat16Bias(input.keyPositions()).mul(2f) : null; // [batch, heads, 1, total]
        x = throughLayers(x, layers, (l, in, layer) -> {
            NDArray h = l.attnNorm().apply(in);
            NDArray attn = l.attn().apply(h, input, cosSin, rotary, bias, cache, layer);
            if (config.newDecoderArchitecture() || config.parallelAttn()) {
                NDArray mlpIn = l.mlpNorm() != null ? l.mlpNorm().apply(in) : h;
                return in.add(attn).add(l.mlp().apply(mlpIn));
            }
            NDArray a = in.add(attn);
            return a.add(l.mlp().apply(l.mlpNorm().apply(a)));
        });
        return lastLogits(x, cache, input.sequenceLength()); // [batch, vocab]
    }

}
