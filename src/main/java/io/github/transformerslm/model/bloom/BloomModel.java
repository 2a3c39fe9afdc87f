package io.github.transformerslm.model.bloom;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.DecoderConfig;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Activations;
import io.github.transformerslm.model.nn.Alibi;
import io.github.transformerslm.model.nn.Attention;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Mlp;
import io.github.transformerslm.model.nn.Norms;
import java.util.ArrayList;
import java.util.List;

/**
 * BLOOM ({@code modeling_bloom.py}): ALiBi instead of positions, a LayerNorm on the embeddings, fused
 * QKV laid out per head as [q, k, v], tanh GELU, LM head tied to the embeddings.
 */
public final class BloomModel extends DecoderModel {

    private record SelfAttention(Linear qkv, Linear dense, int heads, int headDim) {
        NDArray apply(NDArray x, NDArray mask, NDArray alibi, AttentionCache cache, int layer) {
            long b = x.getShape().get(0);
            long s = x.getShape().get(1);
            NDArray fused = qkv.apply(x).reshape(b, s, heads, 3, headDim); // [batch, seq, heads, 3, headDim]
            NDArray q = fused.get(new NDIndex(":, :, :, 0, :")).transpose(0, 2, 1, 3); // [batch, heads, seq, headDim]
            NDArray k = fused.get(new NDIndex(":, :, :, 1, :")).transpose(0, 2, 1, 3);
            NDArray v = fused.get(new NDIndex(":, :, :, 2, :")).transpose(0, 2, 1, 3);
            float scale = (float) (1.0 / Math.sqrt(headDim));
            NDArray attended = cache.attend(layer, q, k, v, mask, scale, alibi, false); // [batch, heads, seq, headDim]
            return dense.apply(Attention.mergeHeads(attended)); // [batch, seq, hidden]
        }
    }

    private record Block(Norms.Norm inputNorm, SelfAttention attn, Norms.Norm postNorm, Mlp mlp) {}

    private final BloomConfig config;
    private final Norms.Norm embeddingNorm;
    private final Alibi alibi;
    private final List<Block> blocks = new ArrayList<>();

    public BloomModel(DecoderConfig d, BloomConfig c, ModelWeights checkpoint) {
        super("bloom", d, checkpoint);
        // A checkpoint of the LM-head model names its weights transformer.*; one of the bare model does not.
        ModelWeights w = checkpoint.withPrefixes(List.of("transformer.", ""));
        this.config = c;
        this.embeddingNorm = w.layerNorm("word_embeddings_layernorm", d.eps());
        this.alibi = new Alibi(manager, d.numAttentionHeads());
        for (int i = 0; i < d.numHiddenLayers(); i++) {
            String p = "h." + i + ".";
            blocks.add(new Block(w.layerNorm(p + "input_layernorm", d.eps()),
                    new SelfAttention(w.linear(p + "self_attention.query_key_value", true),
                            w.linear(p + "self_attention.dense", true), d.numAttentionHeads(), d.headDim()),
                    w.layerNorm(p + "post_attention_layernorm", d.eps()),
                    new Mlp(w.linear(p + "mlp.dense_h_to_4h", true), w.linear(p + "mlp.dense_4h_to_h", true),
                            Activations.byName("gelu_new"))));
        }
        outputs(w, w.layerNorm("ln_f", d.eps()), w.matrix("word_embeddings.weight"), "lm_head", false, false);
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embeddingNorm.apply(embed(input.inputIds())); // [batch, seq, hidden]
        NDArray bias = alibi.bias(input.keyPositions()); // [batch, heads, 1, total]
        boolean postNormResidual = config.applyResidualConnectionPostLayernorm();
        x = throughLayers(x, blocks, (b, h, layer) -> {
            NDArray ln1 = b.inputNorm().apply(h);
            NDArray attn = b.attn().apply(ln1, input.attentionMask(), bias, cache, layer).add(postNormResidual ? ln1 : h);
            NDArray ln2 = b.postNorm().apply(attn);
            return b.mlp().apply(ln2).add(postNormResidual ? ln2 : attn);
        });
        return lastLogits(x, cache, input.sequenceLength()); // [batch, vocab]
    }

}
