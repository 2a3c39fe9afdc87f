package io.github.transformerslm.model.phi;

import ai.djl.ndarray.NDArray;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.DecoderConfig;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Mlp;
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.RotaryEmbedding;
import io.github.transformerslm.model.nn.SelfAttention;
import io.github.transformerslm.weights.CheckpointException;
import java.util.ArrayList;
import java.util.List;

/**
 * Phi ({@code modeling_phi.py}, phi-2): partial rotary, attention and MLP in parallel off one LayerNorm,
 * the output projection named {@code dense}, LM head with a bias.
 */
public final class PhiModel extends DecoderModel {

    private record Layer(Norms.Norm norm, SelfAttention attn, Mlp mlp) {}

    private final RotaryEmbedding rotary;
    private final List<Layer> layers = new ArrayList<>();

    public PhiModel(DecoderConfig d, PhiConfig c, ModelWeights w) {
        super("phi", d, w);
        if (c.qkLayernorm()) {
            throw new CheckpointException("config.json: phi with qk_layernorm is not supported");
        }
        this.rotary = rotary(d, c.rotaryDim(d), 0);
        for (int i = 0; i < d.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            layers.add(new Layer(w.layerNorm(p + "input_layernorm", d.eps()),
                    new SelfAttention(w.linear(p + "self_attn.q_proj", true), w.linear(p + "self_attn.k_proj", true),
                            w.linear(p + "self_attn.v_proj", true), w.linear(p + "self_attn.dense", true),
                            d.numAttentionHeads(), d.numKeyValueHeads(), d.headDim(), rotary),
                    new Mlp(w.linear(p + "mlp.fc1", true), w.linear(p + "mlp.fc2", true), d.activation())));
        }
        outputs(w, w.layerNorm("model.final_layernorm", d.eps()), w.matrix("model.embed_tokens.weight"), "lm_head", d.tieWordEmbeddings(), w.contains("lm_head.bias"));
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embed(input.inputIds()); // [batch, seq, hidden]
        NDArray[] cosSin = rotary.at(manager, input.positionIds()); // [batch, 1, seq, rotaryDim] × 2
        x = throughLayers(x, layers, (l, in, layer) -> {
            NDArray h = l.norm().apply(in);
            return in.add(l.attn().apply(h, cosSin, input.attentionMask(), cache, layer)).add(l.mlp().apply(h));
        });
        return lastLogits(x, cache, input.sequenceLength()); // [batch, vocab]
    }

}
