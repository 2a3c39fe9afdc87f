package io.github.transformerslm.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.github.transformerslm.model.nn.Attention;

/**
 * Where a model's attention layers keep keys and values between steps. Two layouts implement it: a
 * left-padded batch that advances together ({@link KvCache}, for prefill) and per-row slots of
 * different lengths ({@link SlotKvCache}, for continuous batching).
 */
public interface AttentionCache {
    /**
     * Stores one layer's keys and values of this step ([batch, kvHeads, seq, headDim] each) and returns
     * everything the step may attend to, [batch, kvHeads, total, headDim] × 2.
     */
    NDArray[] append(int layer, NDArray k, NDArray v);

    /**
     * Stores this step's keys and values (as {@link #append}) and returns q's attention over everything
     * cached: q [batch, heads, seq, headDim] → [batch, heads, seq, headDim]. mask and bias as in
     * {@link Attention#scaledDotProduct(NDArray, NDArray, NDArray, NDArray, float, NDArray, boolean)}. A cache
     * may compute it its own way; the result must not depend on which other rows are in the batch.
     */
    default NDArray attend(int layer, NDArray q, NDArray k, NDArray v, NDArray mask, float scale, NDArray bias,
            boolean biasBeforeScale) {
        NDArray[] kv = append(layer, k, v); // [batch, kvHeads, total, headDim] × 2
        return Attention.scaledDotProduct(q, kv[0], kv[1], mask, scale, bias, biasBeforeScale);
    }

    /** {@link #attend(int, NDArray, NDArray, NDArray, NDArray, float, NDArray, boolean)} without a score bias. */
    default NDArray attend(int layer, NDArray q, NDArray k, NDArray v, NDArray mask, float scale) {
        return attend(layer, q, k, v, mask, scale, null, false);
    }

    /**
     * {@link #attend(int, NDArray, NDArray, NDArray, NDArray, float)} for a fused projection laid out
     * [q | k | v] along its last axis (GPT-2's c_attn), heads unshared and no rotary embedding:
     * qkv [batch, seq, 3·heads·headDim] → [batch, seq, heads·headDim], heads merged. A cache that attends in
     * Java reads the fused projection once and returns the merged heads as they come, saving the eleven
     * tensor operations (slices, reshapes, transposes) this default spends per layer.
     */
    default NDArray attendPacked(int layer, NDArray qkv, int heads, int headDim, NDArray mask, float scale) {
        int hidden = heads * headDim;
        NDArray q = Attention.splitHeads(qkv.get(new NDIndex("..., :{}", hidden)), heads, headDim);
        NDArray k = Attention.splitHeads(qkv.get(new NDIndex("..., {}:{}", hidden, 2 * hidden)), heads, headDim);
        NDArray v = Attention.splitHeads(qkv.get(new NDIndex("..., {}:", 2 * hidden)), heads, headDim);
        return Attention.mergeHeads(attend(layer, q, k, v, mask, scale)); // [batch, seq, hidden]
    }

    /** Called by the model once every layer has appended this step's {@code seq} tokens. */
    void advance(int seq);
}
