package io.github.transformerslm.model;

import io.github.transformerslm.runtime.MatmulPool;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.RopeScaling;
import io.github.transformerslm.model.nn.RotaryEmbedding;
import io.github.transformerslm.model.nn.TokenEmbedding;
import java.util.List;
import java.util.function.UnaryOperator;

/** What every decoder package shares: its shapes, its weights' manager, and the last step of a forward pass. */
public abstract class DecoderModel implements CausalLanguageModel {
    protected final NDManager manager;
    private final ModelShape shape;
    private final CacheShape cacheShape;
    private final DataType servingType;
    private final MatmulPool pool;
    private Norms.Norm finalNorm;
    private Linear head;
    private TokenEmbedding embeddings;

    /** {@code modelType}: Hugging Face's name, as the service reports it; the shapes follow from {@code config}. */
    protected DecoderModel(String modelType, DecoderConfig config, ModelWeights weights) {
        this.manager = weights.manager();
        this.shape = new ModelShape(modelType, config.vocabSize(), config.maxPositionEmbeddings(),
                config.numHiddenLayers(), weights.parameterCount(),
                config.slidingWindow() != null ? config.slidingWindow() : 0);
        this.cacheShape = new CacheShape(config.numHiddenLayers(), config.numKeyValueHeads(), config.headDim());
        this.servingType = weights.servingType();
        this.pool = weights.pool();
    }

    /**
     * The final norm, the language-model head and the input embeddings, which every constructor ends by
     * setting: the embeddings begin a forward pass and the other two end it.
     */
    protected final void outputs(Norms.Norm finalNorm, Linear head, TokenEmbedding embeddings) {
        this.finalNorm = finalNorm;
        this.head = head;
        this.embeddings = embeddings;
    }

    /**
     * {@link #outputs} with the head tied to the embedding table when the config says so or the checkpoint
     * has no {@code headName.weight} (transformers drops a tied head on save); else both are loaded.
     *
     * @param headBias whether the architecture's head has a bias ({@code headName.bias})
     */
    protected final void outputs(ModelWeights w, Norms.Norm finalNorm, NDArray embeddingTable, String headName,
            boolean tieWordEmbeddings, boolean headBias) {
        if (tieWordEmbeddings || !w.contains(headName + ".weight")) {
            Linear tied = w.tiedHead(embeddingTable, headBias ? w.optionalBias(headName + ".bias") : null);
            outputs(finalNorm, tied, tied);
        } else {
            outputs(finalNorm, w.head(headName, headBias), w.embeddings(embeddingTable));
        }
    }

    /**
     * Rotary positions over the first {@code dim} dimensions of each head, rotate_half layout, with the
     * config's rope_theta and rope_scaling ({@code originalMaxPositions}: LongRoPE's, else 0).
     */
    protected static RotaryEmbedding rotary(DecoderConfig d, int dim, int originalMaxPositions) {
        return new RotaryEmbedding(dim, RotaryEmbedding.Layout.HALF, RopeScaling.fromConfig(d.ropeScaling(), d.ropeTheta(),
                dim, d.maxPositionEmbeddings(), originalMaxPositions));
    }

    /** ids: [batch, seq] → [batch, seq, hidden]. */
    protected final NDArray embed(NDArray ids) {
        return embeddings.lookup(ids);
    }

    /** One decoder layer: {@code x} [batch, seq, hidden] in, the same shape out. */
    @FunctionalInterface
    protected interface LayerStep<L> {
        NDArray apply(L layer, NDArray x, int index);
    }

    /**
     * The pre-norm block of GPT-2, Llama and most decoders since: {@code a = x + attention(norm1(x))}, then
     * {@code a + mlp(norm2(a))}. x: [batch, seq, hidden], and so is the result.
     */
    protected static NDArray preNormBlock(NDArray x, Norms.Norm attentionNorm, UnaryOperator<NDArray> attention,
            Norms.Norm mlpNorm, UnaryOperator<NDArray> mlp) {
        NDArray a = x.add(attention.apply(attentionNorm.apply(x)));
        return a.add(mlp.apply(mlpNorm.apply(a)));
    }

    /** Runs {@code x} through every layer in order, each in {@link #inLayerScope its own memory scope}. */
    protected static <L> NDArray throughLayers(NDArray x, List<L> layers, LayerStep<L> step) {
        for (int i = 0; i < layers.size(); i++) {
            L layer = layers.get(i);
            int index = i;
            x = inLayerScope(x, h -> step.apply(layer, h, index));
        }
        return x;
    }

    @Override
    public final DataType servingType() {
        return servingType;
    }

    @Override
    public final MatmulPool pool() {
        return pool;
    }

    @Override
    public final ModelShape shape() {
        return shape;
    }

    @Override
    public final CacheShape cacheShape() {
        return cacheShape;
    }

    /**
     * One decoder layer, {@code x → layer(x)} ([batch, seq, hidden] both), in its own memory scope: the
     * layer's intermediate tensors are freed when it returns rather than when the step's scope closes, and
     * x, which no later layer reads, is freed with them. A prefill then holds one layer's activations at a
     * time: measured on GPT-2 small, 16 prompts of 48 tokens peaked 1.1 GB above what was resident before
     * the step with every layer's kept to its end (0.1-0.2 GB this way). The result belongs to the caller's scope.
     */
    private static NDArray inLayerScope(NDArray x, UnaryOperator<NDArray> layer) {
        NDArray out;
        try (NDScope scope = new NDScope()) {
            out = layer.apply(x); // [batch, seq, hidden]
            NDScope.unregister(out);
        }
        x.close();
        NDScope.register(out);
        return out;
    }

    /**
     * Ends a forward pass: the step's tokens are in the cache, and the last position of every row goes
     * through the final norm and the LM head. x: [batch, seq, hidden] → [batch, vocab].
     */
    protected final NDArray lastLogits(NDArray x, AttentionCache cache, int seq) {
        cache.advance(seq);
        return head.apply(finalNorm.apply(x.get(new NDIndex(":, -1, :"))));
    }

    @Override
    public void close() {
        manager.close();
    }
}
