package io.github.transformerslm.model.gptj;

import ai.djl.ndarray.NDArray;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.DecoderConfig;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Mlp;
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.RopeScaling;
import io.github.transformerslm.model.nn.RotaryEmbedding;
import io.github.transformerslm.model.nn.SelfAttention;
import java.util.ArrayList;
import java.util.List;

/**
 * GPT-J ({@code modeling_gptj.py}): interleaved rotary on the first rotary_dim dimensions, attention and
 * MLP in parallel off one LayerNorm, LM head with a bias.
 */
public final class GptjModel extends DecoderModel {

    private record Block(Norms.Norm ln1, SelfAttention attn, Mlp mlp) {}

    private final RotaryEmbedding rotary;
    private final List<Block> blocks = new ArrayList<>();

    public GptjModel(DecoderConfig d, GptjConfig c, ModelWeights w) {
        super("gptj", d, w);
        // modeling_gptj.py fixes the rotary base at 10000, whatever the config says.
        this.rotary = new RotaryEmbedding(c.rotaryDim(d), RotaryEmbedding.Layout.INTERLEAVED,
                RopeScaling.none(10000.0, c.rotaryDim(d)));
        for (int i = 0; i < d.numHiddenLayers(); i++) {
            String p = "transformer.h." + i + ".";
            blocks.add(new Block(w.layerNorm(p + "ln_1", d.eps()),
                    new SelfAttention(w.linear(p + "attn.q_proj", false), w.linear(p + "attn.k_proj", false),
                            w.linear(p + "attn.v_proj", false), w.linear(p + "attn.out_proj", false),
                            d.numAttentionHeads(), d.numKeyValueHeads(), d.headDim(), rotary),
                    new Mlp(w.linear(p + "mlp.fc_in", true), w.linear(p + "mlp.fc_out", true), d.activation())));
        }
        // Never tied: GPT-J's head has a bias and a matrix of its own.
        outputs(w.layerNorm("transformer.ln_f", d.eps()), w.head("lm_head", w.contains("lm_head.bias")),
                w.embeddings(w.matrix("transformer.wte.weight")));
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embed(input.inputIds()); // [batch, seq, hidden]
        NDArray[] cosSin = rotary.at(manager, input.positionIds()); // [batch, 1, seq, rotaryDim] × 2
        x = throughLayers(x, blocks, (b, in, layer) -> {
            NDArray h = b.ln1().apply(in);
            return in.add(b.attn().apply(h, cosSin, input.attentionMask(), cache, layer)).add(b.mlp().apply(h));
        });
        return lastLogits(x, cache, input.sequenceLength()); // [batch, vocab]
    }

}
