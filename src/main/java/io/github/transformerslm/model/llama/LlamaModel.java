package io.github.transformerslm.model.llama;

import ai.djl.ndarray.NDArray;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.DecoderConfig;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.GatedMlp;
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.RopeScaling;
import io.github.transformerslm.model.nn.RotaryEmbedding;
import io.github.transformerslm.model.nn.SelfAttention;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * Llama ({@code modeling_llama.py}), which also serves Mistral and Qwen2: RMSNorm, rotary positions,
 * grouped-query attention, gated MLP.
 */
public final class LlamaModel extends DecoderModel {
    private static final Logger log = LoggerFactory.getLogger(LlamaModel.class);

    private record DecoderLayer(Norms.Norm inputNorm, SelfAttention attn, Norms.Norm postNorm, GatedMlp mlp) {}

    private final RotaryEmbedding rotary;
    private final List<DecoderLayer> layers = new ArrayList<>();

    public LlamaModel(String modelType, DecoderConfig d, LlamaConfig c, ModelWeights w) {
        super(modelType, d, w);
        // transformers 4.47's MistralRotaryEmbedding takes only the base and the dimension: a Mistral
        // config's rope_scaling changes nothing there, so it changes nothing here.
        this.rotary = modelType.equals("mistral")
                ? new RotaryEmbedding(d.headDim(), RotaryEmbedding.Layout.HALF, RopeScaling.none(d.ropeTheta(), d.headDim()))
                : rotary(d, d.headDim(), 0);
        if (modelType.equals("mistral") && d.ropeScaling() != null && !d.ropeScaling().isNull()) {
            log.warn("config.json: rope_scaling {} is ignored for mistral, as transformers 4.47 ignores it", d.ropeScaling());
        }
        for (int i = 0; i < d.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            layers.add(new DecoderLayer(w.rmsNorm(p + "input_layernorm", d.eps()),
                    new SelfAttention(
                            w.linear(p + "self_attn.q_proj", c.attentionBias()),
                            w.linear(p + "self_attn.k_proj", c.attentionBias()),
                            w.linear(p + "self_attn.v_proj", c.attentionBias()),
                            w.linear(p + "self_attn.o_proj", c.outputBias()),
                            d.numAttentionHeads(), d.numKeyValueHeads(), d.headDim(), rotary),
                    w.rmsNorm(p + "post_attention_layernorm", d.eps()),
                    new GatedMlp(w.linear(p + "mlp.gate_proj", c.mlpBias()), w.linear(p + "mlp.up_proj", c.mlpBias()),
                            w.linear(p + "mlp.down_proj", c.mlpBias()), d.activation())));
        }
        outputs(w, w.rmsNorm("model.norm", d.eps()), w.matrix("model.embed_tokens.weight"), "lm_head", d.tieWordEmbeddings(), false);
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embed(input.inputIds()); // [batch, seq, hidden]
        NDArray[] cosSin = rotary.at(manager, input.positionIds()); // [batch, 1, seq, headDim] × 2
        x = throughLayers(x, layers, (l, h, layer) -> preNormBlock(h,
                l.inputNorm(), n -> l.attn().apply(n, cosSin, input.attentionMask(), cache, layer),
                l.postNorm(), l.mlp()::apply));
        return lastLogits(x, cache, input.sequenceLength()); // [batch, vocab]
    }

}
