package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import io.github.transformerslm.model.AttentionCache;

/**
 * Self-attention with separate q, k, v and output projections, grouped-query when kvHeads < heads,
 * rotary positions when {@code rotary} is set (Llama, Mistral, Qwen2, GPT-J, Phi), none otherwise (XGLM).
 */
public record SelfAttention(Linear q, Linear k, Linear v, Linear o, int heads, int kvHeads, int headDim,
        RotaryEmbedding rotary) {
    /**
     * x: [batch, seq, hidden]; cosSin from {@link RotaryEmbedding#at} (null without rotary);
     * mask: [batch, 1, seq, total]. Returns [batch, seq, hidden].
     */
    public NDArray apply(NDArray x, NDArray[] cosSin, NDArray mask, AttentionCache cache, int layer) {
        NDArray qs = Attention.splitHeads(q.apply(x), heads, headDim); // [batch, heads, seq, headDim]
        NDArray ks = Attention.splitHeads(k.apply(x), kvHeads, headDim); // [batch, kvHeads, seq, headDim]
        NDArray vs = Attention.splitHeads(v.apply(x), kvHeads, headDim); // [batch, kvHeads, seq, headDim]
        if (rotary != null) {
            qs = rotary.apply(qs, cosSin);
            ks = rotary.apply(ks, cosSin);
        }
        NDArray attended = cache.attend(layer, qs, ks, vs, mask, (float) (1.0 / Math.sqrt(headDim))); // [batch, heads, seq, headDim]
        return o.apply(Attention.mergeHeads(attended)); // [batch, seq, hidden]
    }
}
