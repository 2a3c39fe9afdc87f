package io.github.transformerslm.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Norms;

/** What every decoder package shares: its shapes, its weights' manager, and the last step of a forward pass. */
public abstract class DecoderModel implements CausalLanguageModel {
    protected final NDManager manager;
    private final ModelShape shape;
    private final CacheShape cacheShape;

    protected DecoderModel(NDManager manager, ModelShape shape, CacheShape cacheShape) {
        this.manager = manager;
        this.shape = shape;
        this.cacheShape = cacheShape;
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
     * Ends a forward pass: the step's tokens are in the cache, and the last position of every row goes
     * through the final norm and the LM head. x: [batch, seq, hidden] → [batch, vocab].
     */
    protected static NDArray lastLogits(NDArray x, Norms.Norm finalNorm, Linear head, AttentionCache cache, int seq) {
        cache.advance(seq);
        return head.apply(finalNorm.apply(x.get(new NDIndex(":, -1, :"))));
    }

    @Override
    public void close() {
        manager.close();
    }
}
