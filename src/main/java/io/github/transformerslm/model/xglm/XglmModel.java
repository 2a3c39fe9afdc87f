package io.github.transformerslm.model.xglm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.DecoderConfig;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Embeddings;
import io.github.transformerslm.model.nn.Mlp;
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.SelfAttention;
import java.util.ArrayList;
import java.util.List;

/**
 * XGLM ({@code modeling_xglm.py}): fairseq-style sinusoidal positions offset by 2, embeddings scaled by
 * sqrt(d_model), pre-LayerNorm blocks with biased projections, LM head tied to the embeddings.
 */
public final class XglmModel extends DecoderModel {
    /** fairseq reserves the first positions for padding. */
    private static final int POSITION_OFFSET = 2;

    private record Layer(Norms.Norm attnNorm, SelfAttention attn, Norms.Norm finalNorm, Mlp mlp) {}

    private final NDArray positions; // [maxPositions + offset, hidden]
    private final float embedScale;
    private final List<Layer> layers = new ArrayList<>();

    public XglmModel(DecoderConfig d, XglmConfig c, ModelWeights w) {
        super("xglm", d, w);
        this.positions = sinusoids(manager, d.maxPositionEmbeddings() + POSITION_OFFSET, d.hiddenSize(), c.padTokenId());
        this.embedScale = c.scaleEmbedding() ? (float) Math.sqrt(d.hiddenSize()) : 1f;
        for (int i = 0; i < d.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            layers.add(new Layer(w.layerNorm(p + "self_attn_layer_norm", d.eps()),
                    new SelfAttention(w.linear(p + "self_attn.q_proj", true), w.linear(p + "self_attn.k_proj", true),
                            w.linear(p + "self_attn.v_proj", true), w.linear(p + "self_attn.out_proj", true),
                            d.numAttentionHeads(), d.numKeyValueHeads(), d.headDim(), null),
                    w.layerNorm(p + "final_layer_norm", d.eps()),
                    new Mlp(w.linear(p + "fc1", true), w.linear(p + "fc2", true), d.activation())));
        }
        outputs(w, w.layerNorm("model.layer_norm", d.eps()), w.matrix("model.embed_tokens.weight"), "lm_head", false, false);
    }

    /** fairseq's table: [sin | cos] of pos · 10000^(-i / (half - 1)), the padding row zeroed. */
    static NDArray sinusoids(NDManager manager, int rows, int dim, int paddingIdx) {
        int half = dim / 2;
        float step = (float) (Math.log(10000) / (half - 1));
        float[] table = new float[rows * dim];
        for (int pos = 0; pos < rows; pos++) {
            if (pos == paddingIdx) {
                continue;
            }
            for (int i = 0; i < half; i++) {
                float freq = (float) Math.exp(i * -step);
                float angle = (float) pos * freq;
                table[pos * dim + i] = (float) Math.sin(angle);
                table[pos * dim + half + i] = (float) Math.cos(angle);
            }
        }
        return manager.create(table, new Shape(rows, dim));
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embed(input.inputIds()).mul(embedScale)
                .add(Embeddings.lookup(positions, input.positionIds().add(POSITION_OFFSET))); // [batch, seq, hidden]
        x = throughLayers(x, layers, (l, h, layer) -> preNormBlock(h,
                l.attnNorm(), n -> l.attn().apply(n, null, input.attentionMask(), cache, layer),
                l.finalNorm(), l.mlp()::apply));
        return lastLogits(x, cache, input.sequenceLength()); // [batch, vocab]
    }

}
