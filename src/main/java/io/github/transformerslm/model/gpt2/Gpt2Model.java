package io.github.transformerslm.model.gpt2;

import io.github.transformerslm.model.nn.Configs;
import ai.djl.ndarray.NDArray;
import io.github.transformerslm.model.CausalLanguageModel;
import io.github.transformerslm.model.DecoderModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.AttentionCache;
import io.github.transformerslm.model.ModelShape;
import io.github.transformerslm.model.ModelWeights;
import io.github.transformerslm.model.nn.Activations;
import io.github.transformerslm.model.nn.Embeddings;
import io.github.transformerslm.model.nn.TokenEmbedding;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Mlp;
import io.github.transformerslm.model.nn.Norms;
import java.util.List;
import java.util.function.UnaryOperator;
import tools.jackson.databind.JsonNode;

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

    private final Gpt2Config config;
    private final TokenEmbedding wte; // [vocab, hidden]: a table, or the tied head's weights
    private final NDArray wpe; // [positions, hidden]
    private final List<Block> blocks;
    private final Norms.Norm lnF;
    private final Linear lmHead;

    private Gpt2Model(Gpt2Config config, ModelWeights w) {
        super(w, new ModelShape("gpt2", config.vocabSize(), config.nPositions(), config.nLayer(), w.parameterCount()),
                new CacheShape(config.nLayer(), config.nHead(), config.headDim()));
        this.config = config;
        float eps = config.layerNormEpsilon().floatValue();
        UnaryOperator<NDArray> act = Activations.byName(config.activationFunction());
        NDArray embeddingTable = w.matrix("wte.weight");
        this.wpe = w.matrix("wpe.weight");
        this.blocks = new java.util.ArrayList<>();
        for (int i = 0; i < config.nLayer(); i++) {
            String p = "h." + i + ".";
            float scale = config.scaleAttnWeights() ? (float) (1.0 / Math.sqrt(config.headDim())) : 1f;
            if (config.scaleAttnByInverseLayerIdx()) {
                scale /= (i + 1);
            }
            blocks.add(new Block(
                    Norms.layerNorm(w.vector(p + "ln_1.weight"), w.vector(p + "ln_1.bias"), eps),
                    new SelfAttention(w.conv1d(p + "attn.c_attn"), w.conv1d(p + "attn.c_proj"),
                            config.nHead(), config.headDim(), scale),
                    Norms.layerNorm(w.vector(p + "ln_2.weight"), w.vector(p + "ln_2.bias"), eps),
                    new Mlp(w.conv1d(p + "mlp.c_fc"), w.conv1d(p + "mlp.c_proj"), act)));
        }
        this.lnF = Norms.layerNorm(w.vector("ln_f.weight"), w.vector("ln_f.bias"), eps);
        boolean tiedHead = !w.contains("lm_head.weight");
        this.lmHead = tiedHead ? w.tiedHead(embeddingTable, null) : w.head("lm_head", false);
        this.wte = tiedHead ? lmHead : w.embeddings(embeddingTable);
    }

    public static CausalLanguageModel load(JsonNode configJson, ModelWeights weights) {
        Gpt2Config config = Configs.bind(configJson, Gpt2Config.class, Gpt2Config.DEFAULTS);
        return new Gpt2Model(config, weights.withPrefixes(List.of("transformer.", "")));
    }

    @Override
    public NDArray forward(ForwardInput input, AttentionCache cache) {
        NDArray x = wte.lookup(input.inputIds()).add(Embeddings.lookup(wpe, input.positionIds())); // [batch, seq, hidden]
        for (int i = 0; i < blocks.size(); i++) {
            Block b = blocks.get(i);
            int layer = i;
            x = inLayerScope(x, h -> {
                NDArray a = h.add(b.attn().apply(b.ln1().apply(h), input.attentionMask(), cache, layer));
                return a.add(b.mlp().apply(b.ln2().apply(a)));
            });
        }
        return lastLogits(x, lnF, lmHead, cache, input.sequenceLength()); // [batch, vocab]
    }

}
