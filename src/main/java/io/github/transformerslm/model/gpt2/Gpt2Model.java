package io.github.transformerslm.model.gpt2;

import ai.djl.ndarray.NDArray;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.DecoderConfig;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Embeddings;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Mlp;
import io.github.transformerslm.model.nn.Norms;
import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2 ({@code modeling_gpt2.py}): learned positions, pre-LayerNorm blocks, fused QKV, Conv1D weights
 * stored {@code [in, out]}, LM head tied to the token embedding.
 */
public final class Gpt2Model extends DecoderModel {

    /** Self-attention with the fused c_attn projection, laid out [q | k | v]. */
    private record SelfAttention(Linear qkv, Linear proj, int heads, int headDim, float scale) {
        NDArray apply(NDArray x, NDArray mask, AttentionCache cache, int layer) { // x: [batch, seq, hidden]
            NDArray fused = qkv.apply(x); // [batch, seq, 3*hidden], q | k | v
            return proj.apply(cache.attendPacked(layer, fused, heads, headDim, mask, scale)); // [batch, seq, hidden]
        }
    }

    private record Block(Norms.Norm ln1, SelfAttention attn, Norms.Norm ln2, Mlp mlp) {}

    private final NDArray wpe; // [positions, hidden]
    private final List<Block> blocks = new ArrayList<>();

    public Gpt2Model(DecoderConfig d, Gpt2Config c, ModelWeights checkpoint) {
        super("gpt2", d, checkpoint);
        // A checkpoint of the LM-head model names its weights transformer.*; one of the bare model does not.
        ModelWeights w = checkpoint.withPrefixes(List.of("transformer.", ""));
        this.wpe = w.matrix("wpe.weight");
        for (int i = 0; i < d.numHiddenLayers(); i++) {
            String p = "h." + i + ".";
            float scale = c.scaleAttnWeights() ? (float) (1.0 / Math.sqrt(d.headDim())) : 1f;
            if (c.scaleAttnByInverseLayerIdx()) {
                scale /= (i + 1);
            }
            blocks.add(new Block(w.layerNorm(p + "ln_1", d.eps()),
                    new SelfAttention(w.conv1d(p + "attn.c_attn"), w.conv1d(p + "attn.c_proj"),
                            d.numAttentionHeads(), d.headDim(), scale),
                    w.layerNorm(p + "ln_2", d.eps()),
                    new Mlp(w.conv1d(p + "mlp.c_fc"), w.conv1d(p + "mlp.c_proj"), d.activation())));
        }
        outputs(w, w.layerNorm("ln_f", d.eps()), w.matrix("wte.weight"), "lm_head", false, false);
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embed(input.inputIds()).add(Embeddings.lookup(wpe, input.positionIds())); // [batch, seq, hidden]
        x = throughLayers(x, blocks, (b, h, layer) -> preNormBlock(h,
                b.ln1(), n -> b.attn().apply(n, input.attentionMask(), cache, layer),
                b.ln2(), b.mlp()::apply));
        return lastLogits(x, cache, input.sequenceLength()); // [batch, vocab]
    }

}
