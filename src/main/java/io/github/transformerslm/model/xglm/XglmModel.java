package io.github.transformerslm.model.xglm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.model.CausalLanguageModel;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.ModelShape;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Activations;
import io.github.transformerslm.model.nn.Attention;
import io.github.transformerslm.model.nn.Configs;
import io.github.transformerslm.model.nn.Embeddings;
import io.github.transformerslm.model.nn.TokenEmbedding;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Mlp;
import io.github.transformerslm.model.nn.SelfAttention;
import io.github.transformerslm.model.nn.Norms;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import tools.jackson.databind.JsonNode;

/**
 * XGLM ({@code modeling_xglm.py}): fairseq-style sinusoidal positions offset by 2, embeddings scaled by
 * sqrt(d_model), pre-LayerNorm blocks with biased projections, LM head tied to the embeddings.
 */
public final class XglmModel extends DecoderModel {
    /** fairseq reserves the first positions for padding. */
    private static final int POSITION_OFFSET = 2;

    private record Layer(Norms.Norm attnNorm, SelfAttention attn, Norms.Norm finalNorm, Mlp mlp) {}

    private final TokenEmbedding embedTokens; // [vocab, hidden]: a table, or the tied head's weights
    private final NDArray positions; // [maxPositions + offset, hidden]
    private final float embedScale;
    private final List<Layer> layers = new ArrayList<>();
    private final Norms.Norm layerNorm;
    private final Linear lmHead;

    private XglmModel(XglmConfig c, ModelWeights w) {
        super(w, new ModelShape("xglm", c.vocabSize(), c.maxPositionEmbeddings(), c.numLayers(), w.parameterCount()),
                new CacheShape(c.numLayers(), c.attentionHeads(), c.headDim()));
        UnaryOperator<NDArray> act = Activations.byName(c.activationFunction());
        NDArray embeddingTable = w.matrix("model.embed_tokens.weight");
        this.positions = sinusoids(manager, c.maxPositionEmbeddings() + POSITION_OFFSET, c.dModel(), c.padTokenId());
        this.embedScale = c.scaleEmbedding() ? (float) Math.sqrt(c.dModel()) : 1f;
        float eps = 1e-5f;
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            layers.add(new Layer(norm(w, p + "self_attn_layer_norm", eps),
                    new SelfAttention(w.linear(p + "self_attn.q_proj", true), w.linear(p + "self_attn.k_proj", true),
                            w.linear(p + "self_attn.v_proj", true), w.linear(p + "self_attn.out_proj", true),
                            c.attentionHeads(), c.attentionHeads(), c.headDim(), null),
                    norm(w, p + "final_layer_norm", eps),
                    new Mlp(w.linear(p + "fc1", true), w.linear(p + "fc2", true), act)));
        }
        this.layerNorm = norm(w, "model.layer_norm", eps);
        boolean tiedHead = !w.contains("lm_head.weight");
        this.lmHead = tiedHead ? w.tiedHead(embeddingTable, null) : w.head("lm_head", false);
        this.embedTokens = tiedHead ? lmHead : w.embeddings(embeddingTable);
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

    private static Norms.Norm norm(ModelWeights w, String prefix, float eps) {
        return Norms.layerNorm(w.vector(prefix + ".weight"), w.vector(prefix + ".bias"), eps);
    }

    public static CausalLanguageModel load(JsonNode json, ModelWeights weights) {
        return new XglmModel(Configs.bind(json, XglmConfig.class, XglmConfig.DEFAULTS), weights);
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = embedTokens.lookup(input.inputIds()).mul(embedScale)
                .add(Embeddings.lookup(positions, input.positionIds().add(POSITION_OFFSET))); // [batch, seq, hidden]
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            int layer = i;
            x = inLayerScope(x, h -> {
                NDArray a = h.add(l.attn().apply(l.attnNorm().apply(h), null, input.attentionMask(), cache, layer));
                return a.add(l.mlp().apply(l.finalNorm().apply(a)));
            });
        }
        return lastLogits(x, layerNorm, lmHead, cache, input.sequenceLength()); // [batch, vocab]
    }

}
