package io.github.transformerslm.model.nn;

import io.github.transformerslm.runtime.MatmulPool;
import io.github.transformerslm.runtime.SharedChunks;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention for a decode step (one new token per row) computed in place over a KV cache held in native
 * memory, float32 or (for a float16 model) float16, with the Vector API, split across the {@link MatmulPool}.
 *
 * <p>libtorch does the same work as a dozen small operations per layer, plus two indexed writes per row to
 * store the new keys and values: at batch 8 those calls, each on one thread while the other core waits,
 * took about a seventh of a decode step (JFR, GPT-2 small in float16). Here the new keys and values are written straight into the cache and
 * each (row, head) pair is one loop over that row's own columns, so a row's result does not depend on the
 * rows beside it or on how long they are.
 *
 * <p>The arithmetic is libtorch's: scores = q·kᵀ, scaled, plus the optional bias (before or after the
 * scale) and the additive mask; softmax by max, exp, sum, divide; the weighted sum of values. Columns past
 * a row's own length are those the mask hides, whose softmax weight is exactly 0, so they are skipped.
 * A float16 cache is written rounded to nearest ({@link Float16Bits}) and widened exactly when read; the
 * arithmetic stays float32. It halves what a step reads: at batch 8 and 80 positions a GPT-2-small layer's
 * attention reads about 4 MB in float32, more than the layer's float16 weights past a few hundred positions.
 *
 * <p>Use only where {@link VectorProduct#available()} holds.
 */
public final class DecodeAttention {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED; // as many lanes as F (VectorKernels.usable)
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** The cache's layout: [rows, kvHeads, columns, headDim], float32 or (half) float16, in its memory. */
    public record CacheLayout(int kvHeads, int columns, int headDim, boolean half) {
        int offset(int row, int kvHead, int column) { // element index
            return ((row * kvHeads + kvHead) * columns + column) * headDim;
        }
    }

    /**
     * One layer's step. q: [active, heads, headDim]; k, v: [active, kvHeads, headDim], written at column
     * {@code lengths[r]} of each row r; mask: [active, total] additive; bias: [active, heads, total] or
     * null. Returns [active, heads, headDim]: {@code into} where it is long enough (the caller's buffer,
     * reused from step to step), else a new array. Rows and heads are split across {@code pool}.
     */
    public static float[] attend(ByteBuffer keyMemory, ByteBuffer valueMemory, CacheLayout layout, int heads, int active,
            int[] lengths, float[] q, float[] k, float[] v, float[] mask, int total, float[] bias, float scale,
            boolean biasBeforeScale, float[] into, MatmulPool pool) {
        int headDim = layout.headDim();
        boolean half = layout.half();
        ByteBuffer keys = keyMemory.duplicate().order(LE);
        ByteBuffer values = valueMemory.duplicate().order(LE);
        if (half) {
            // Rounded one value at a time (no float16 conversion in Java 17's Vector API): split across the
            // threads, as it was a sixth of the layer's attention on one.
            ShortBuffer keyHalves = keys.asShortBuffer();
            ShortBuffer valueHalves = values.asShortBuffer();
            int writers = Math.min(pool.parallelism(), active);
            pool.run(writers, block -> {
                for (int r = active * block / writers; r < active * (block + 1) / writers; r++) {
                    for (int h = 0; h < layout.kvHeads(); h++) {
                        int from = (r * layout.kvHeads() + h) * headDim;
                        int at = layout.offset(r, h, lengths[r]);
                        for (int d = 0; d < headDim; d++) {
                            keyHalves.put(at + d, Float16Bits.fromFloat(k[from + d]));
                            valueHalves.put(at + d, Float16Bits.fromFloat(v[from + d]));
                        }
                    }
                }
            });
        } else {
            FloatBuffer keyFloats = keys.asFloatBuffer();
            FloatBuffer valueFloats = values.asFloatBuffer();
            for (int r = 0; r < active; r++) {
                for (int h = 0; h < layout.kvHeads(); h++) {
                    int from = (r * layout.kvHeads() + h) * headDim;
                    keyFloats.put(layout.offset(r, h, lengths[r]), k, from, headDim);
                    valueFloats.put(layout.offset(r, h, lengths[r]), v, from, headDim);
                }
            }
        }
        // float16 keys widen as the even and the odd halves of each int, times 2^-112: the query is put in that
        // order and scaled by 2^112, each head as a row of its own (VectorKernels.halfInput).
        float[] unscale = half ? new float[active * heads] : null;
        float[] query = half ? VectorKernels.halfInput(q, active * heads, headDim, null, unscale) : q;
        float[] out = into != null && into.length >= active * heads * headDim ? into : new float[active * heads * headDim];
        int units = active * heads;
        // The lengths are copied: a worker that the host stops and resumes after this step reads its own copy,
        // computes garbage from reused arrays and drops it, but never indexes past what the step allowed.
        Units work = new Units(keys, values, layout, heads, lengths.clone(), query, unscale, mask, total, bias, scale,
                biasBeforeScale, out, units, Math.min(units, pool.parallelism() * CHUNKS_PER_THREAD));
        if (pool.parallelism() == 1 || units == 1) {
            work.attend(0, units, out);
        } else {
            SharedChunks.run(pool, work.chunks(), work);
        }
        return out;
    }

    /** Chunks of (row, head) units per thread: a late worker holds back a small part of the layer. */
    private static final int CHUNKS_PER_THREAD = 4;

    /** A thread's scores for one unit ([columns], grown as the context grows) and its float16 scratch ([2L]). */
    private static final ThreadLocal<float[][]> SCORES = ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[2 * L]});

    /** A worker's outputs before they are copied out: [units, headDim]. */
    private static final ThreadLocal<float[][]> ASIDE = ThreadLocal.withInitial(() -> new float[1][0]);

    /**
     * One layer's (row, head) units, in chunks shared between the model thread and the pool's workers
     * ({@link SharedChunks}); the cache's memory stays allocated until no worker is inside a task
     * ({@link MatmulPool#awaitIdle}).
     */
    private record Units(ByteBuffer keys, ByteBuffer values, CacheLayout layout, int heads, int[] lengths, float[] query,
            float[] unscale, float[] mask, int total, float[] bias, float scale, boolean biasBeforeScale, float[] out,
            int units, int chunks) implements SharedChunks.Work {

        @Override
        public void compute(int c, boolean intoOutput) {
            attend(units * c / chunks, units * (c + 1) / chunks, intoOutput ? out : aside());
        }

        @Override
        public void copyOut(int c) {
            int headDim = layout.headDim();
            int from = units * c / chunks * headDim;
            System.arraycopy(aside(), from, out, from, units * (c + 1) / chunks * headDim - from);
        }

        private float[] aside() {
            float[][] holder = ASIDE.get();
            if (holder[0].length < out.length) {
                holder[0] = new float[out.length];
            }
            return holder[0];
        }

        /** Units [u0, u1) into target, each at its place in the output. */
        void attend(int u0, int u1, float[] target) {
            int headDim = layout.headDim();
            boolean half = layout.half();
            float[][] own = SCORES.get(); // this thread's: a chunk at a time, eight chunks a layer
            if (own[0].length < total) {
                own[0] = new float[total];
            }
            float[] weights = own[0];
            float[] scratch = own[1];
            for (int u = u0; u < u1; u++) {
                int r = u / heads;
                int h = u % heads;
                int base = layout.offset(r, h / (heads / layout.kvHeads()), 0);
                int columns = lengths[r] + 1;
                if (half) {
                    scoresHalf(keys, base, headDim, query, u * headDim, unscale[u], columns, weights);
                } else {
                    scores(keys, base, headDim, query, u * headDim, columns, weights);
                }
                adjust(weights, columns, scale, mask, r * total, bias, u * total, biasBeforeScale);
                softmax(weights, columns);
                if (half) {
                    weightedSumHalf(values, base, headDim, weights, columns, target, u * headDim, scratch);
                } else {
                    weightedSum(values, base, headDim, weights, columns, target, u * headDim);
                }
            }
        }
    }

    /** weights[j] = q·k_j for the row's columns (float32 keys). */
    private static void scores(ByteBuffer keys, int base, int headDim, float[] q, int q0, int columns, float[] weights) {
        int vectorEnd = headDim - headDim % L;
        for (int j = 0; j < columns; j++) {
            int k0 = base + j * headDim;
            FloatVector acc = FloatVector.zero(F);
            for (int d = 0; d < vectorEnd; d += L) {
                acc = FloatVector.fromArray(F, q, q0 + d).fma(FloatVector.fromByteBuffer(F, keys, 4 * (k0 + d), LE), acc);
            }
            float s = acc.reduceLanes(VectorOperators.ADD);
            for (int d = vectorEnd; d < headDim; d++) {
                s += q[q0 + d] * keys.getFloat(4 * (k0 + d));
            }
            weights[j] = s;
        }
    }

    /**
     * weights[j] = q·k_j for float16 keys, q as {@link VectorKernels#halfInput} makes it (even and odd order,
     * times 2^112 / unscale). Each int load holds 2L halves, widened as {@link VectorKernels} widens weights:
     * moved to the top 16 bits, shifted arithmetically by 3, sign copies masked off, which is the key times
     * 2^-112 (the cache holds no infinities: {@link Float16Bits#fromFloat} saturates). Written out, not in a
     * helper: vectors passed to a method that is not inlined are boxed.
     */
    private static void scoresHalf(ByteBuffer keys, int base, int headDim, float[] q, int q0, float unscale,
            int columns, float[] weights) {
        int blockEnd = headDim - headDim % (2 * L);
        for (int j = 0; j < columns; j++) {
            int k0 = base + j * headDim;
            FloatVector acc = FloatVector.zero(F);
            for (int d = 0; d < blockEnd; d += 2 * L) {
                IntVector h = IntVector.fromByteBuffer(I, keys, 2 * (k0 + d), LE);
                FloatVector even = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS)
                        .reinterpretAsFloats();
                FloatVector odd = h.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
                acc = even.fma(FloatVector.fromArray(F, q, q0 + d), acc);
                acc = odd.fma(FloatVector.fromArray(F, q, q0 + d + L), acc);
            }
            float s = acc.reduceLanes(VectorOperators.ADD) * unscale;
            for (int d = blockEnd; d < headDim; d++) {
                s += q[q0 + d] * Float16Bits.toFloat(keys.getShort(2 * (k0 + d)));
            }
            weights[j] = s;
        }
    }

    /** A score scaled, biased (before or after the scale) and masked, as libtorch's operations order it. */
    /**
     * weights[j] = scores scaled, biased and masked, as transformers orders it: (s + bias)·scale (Falcon) or
     * s·scale + bias (BLOOM), then + mask. Whole vectors, then the same operations one value at a time.
     */
    private static void adjust(float[] weights, int columns, float scale, float[] mask, int m0, float[] bias, int b0,
            boolean biasBeforeScale) {
        int vectorEnd = columns - columns % L;
        int j = 0;
        if (bias == null) {
            for (; j < vectorEnd; j += L) {
                FloatVector.fromArray(F, weights, j).mul(scale).add(FloatVector.fromArray(F, mask, m0 + j)).intoArray(weights, j);
            }
        }
        for (; j < columns; j++) {
            weights[j] = adjusted(weights[j], scale, mask[m0 + j], bias, bias == null ? 0 : b0 + j, biasBeforeScale);
        }
    }

    private static float adjusted(float s, float scale, float mask, float[] bias, int b, boolean biasBeforeScale) {
        if (bias == null) {
            s *= scale;
        } else if (biasBeforeScale) {
            s = (s + bias[b]) * scale;
        } else {
            s = s * scale + bias[b];
        }
        return s + mask;
    }

    private static final int HALF_BITS = VectorKernels.HALF_BITS;
    private static final float HALF_EXPONENT_SHIFT = VectorKernels.HALF_EXPONENT_SHIFT;

    /**
     * Softmax over weights[0, columns) in place: max, exponentials and their sum, then the quotients. The
     * exponentials are {@link VectorExp}'s, 16 lanes at a time (a tenth of the attention's time went to
     * {@code Math.exp} one score at a time), and give the same bits before and after the JIT compiles this;
     * within 2 ulp of libtorch's, and the same for a row whatever the rows beside it. A weight
     * below the smallest normal float (a score more than about 87 under the row's largest) becomes 0: the
     * weighted sum multiplies every weight into a head's values, and a subnormal operand costs an Intel
     * core a microcode assist per multiply-add (see {@link PanelWeights}), for a term under 1.2e-38·|v|.
     */
    static void softmax(float[] weights, int columns) {
        int vectorEnd = columns - columns % L;
        FloatVector maxima = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < vectorEnd; j += L) {
            maxima = maxima.max(FloatVector.fromArray(F, weights, j));
        }
        float max = maxima.reduceLanes(VectorOperators.MAX);
        for (int j = vectorEnd; j < columns; j++) {
            max = Math.max(max, weights[j]);
        }
        FloatVector sums = FloatVector.zero(F);
        int j = 0;
        for (; j < vectorEnd; j += L) {
            FloatVector e = VectorExp.exp(FloatVector.fromArray(F, weights, j).sub(max));
            e.intoArray(weights, j);
            sums = sums.add(e);
        }
        float sum = sums.reduceLanes(VectorOperators.ADD);
        for (; j < columns; j++) {
            weights[j] = VectorExp.exp(weights[j] - max);
            sum += weights[j];
        }
        float inverse = 1f / sum; // sum ≥ 1: the largest score's term is exp(0)
        for (j = 0; j < vectorEnd; j += L) {
            FloatVector e = FloatVector.fromArray(F, weights, j);
            FloatVector w = e.mul(inverse);
            w.blend(0f, e.compare(VectorOperators.LT, Float.MIN_NORMAL).or(w.compare(VectorOperators.LT, Float.MIN_NORMAL)))
                    .intoArray(weights, j);
        }
        for (; j < columns; j++) {
            float w = weights[j] < Float.MIN_NORMAL ? 0f : weights[j] * inverse;
            weights[j] = w < Float.MIN_NORMAL ? 0f : w;
        }
    }

    /**
     * out[o0 .. o0+headDim) = Σ_j weights[j] · v_j, each element summed over j in order. Four vectors of the
     * head's dimensions are accumulated side by side (one chain of dependent multiply-adds per vector made
     * the loop wait on each addition's latency).
     */
    private static void weightedSum(ByteBuffer values, int base, int headDim, float[] weights, int columns, float[] out,
            int o0) {
        int vectorEnd = headDim - headDim % L;
        int d = 0;
        for (; d + 4 * L <= vectorEnd; d += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
            for (int j = 0; j < columns; j++) {
                int v0 = 4 * (base + j * headDim + d);
                FloatVector s = FloatVector.broadcast(F, weights[j]);
                a0 = FloatVector.fromByteBuffer(F, values, v0, LE).fma(s, a0);
                a1 = FloatVector.fromByteBuffer(F, values, v0 + 4 * L, LE).fma(s, a1);
                a2 = FloatVector.fromByteBuffer(F, values, v0 + 8 * L, LE).fma(s, a2);
                a3 = FloatVector.fromByteBuffer(F, values, v0 + 12 * L, LE).fma(s, a3);
            }
            a0.intoArray(out, o0 + d);
            a1.intoArray(out, o0 + d + L);
            a2.intoArray(out, o0 + d + 2 * L);
            a3.intoArray(out, o0 + d + 3 * L);
        }
        for (; d < vectorEnd; d += L) {
            FloatVector acc = FloatVector.zero(F);
            for (int j = 0; j < columns; j++) {
                acc = FloatVector.fromByteBuffer(F, values, 4 * (base + j * headDim + d), LE)
                        .fma(FloatVector.broadcast(F, weights[j]), acc);
            }
            acc.intoArray(out, o0 + d);
        }
        for (d = vectorEnd; d < headDim; d++) {
            float s = 0f;
            for (int j = 0; j < columns; j++) {
                s += weights[j] * values.getFloat(4 * (base + j * headDim + d));
            }
            out[o0 + d] = s;
        }
    }

    /**
     * {@link #weightedSum} over float16 values: each block of 2L dimensions accumulates its even and its odd
     * dimensions (as the int load widens them) in two vectors, each element over j in order, then puts
     * them back in dimension order through {@code scratch} (2L floats). Two blocks go side by side where the
     * head has them (four chains of multiply-adds instead of two, which measured faster). The widened values are v·2^-112, so each position's weight
     * is multiplied by 2^112 once (exact: a probability is at most 1) instead of every widened vector.
     */
    private static void weightedSumHalf(ByteBuffer values, int base, int headDim, float[] weights, int columns,
            float[] out, int o0, float[] scratch) {
        int blockEnd = headDim - headDim % (2 * L);
        int d = 0;
        for (; d + 4 * L <= blockEnd; d += 4 * L) { // two blocks side by side: four chains of multiply-adds
            FloatVector even = FloatVector.zero(F);
            FloatVector odd = FloatVector.zero(F);
            FloatVector even2 = FloatVector.zero(F);
            FloatVector odd2 = FloatVector.zero(F);
            for (int j = 0; j < columns; j++) {
                int at = 2 * (base + j * headDim + d);
                IntVector h = IntVector.fromByteBuffer(I, values, at, LE);
                IntVector g = IntVector.fromByteBuffer(I, values, at + 4 * L, LE);
                FloatVector s = FloatVector.broadcast(F, weights[j] * HALF_EXPONENT_SHIFT); // exact: weights are at most 1
                even = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS)
                        .reinterpretAsFloats().fma(s, even);
                odd = h.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats()
                        .fma(s, odd);
                even2 = g.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS)
                        .reinterpretAsFloats().fma(s, even2);
                odd2 = g.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats()
                        .fma(s, odd2);
            }
            even.intoArray(scratch, 0);
            odd.intoArray(scratch, L);
            interleave(scratch, out, o0 + d);
            even2.intoArray(scratch, 0);
            odd2.intoArray(scratch, L);
            interleave(scratch, out, o0 + d + 2 * L);
        }
        for (; d < blockEnd; d += 2 * L) {
            FloatVector even = FloatVector.zero(F);
            FloatVector odd = FloatVector.zero(F);
            for (int j = 0; j < columns; j++) {
                IntVector h = IntVector.fromByteBuffer(I, values, 2 * (base + j * headDim + d), LE);
                FloatVector s = FloatVector.broadcast(F, weights[j] * HALF_EXPONENT_SHIFT); // exact: weights are at most 1
                even = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS)
                        .reinterpretAsFloats().fma(s, even);
                odd = h.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats()
                        .fma(s, odd);
            }
            even.intoArray(scratch, 0);
            odd.intoArray(scratch, L);
            interleave(scratch, out, o0 + d);
        }
        for (d = blockEnd; d < headDim; d++) {
            float s = 0f;
            for (int j = 0; j < columns; j++) {
                s += weights[j] * Float16Bits.toFloat(values.getShort(2 * (base + j * headDim + d)));
            }
            out[o0 + d] = s;
        }
    }

    /** out[at + 2i] = scratch[i] and out[at + 2i + 1] = scratch[L + i]: evens and odds back in dimension order. */
    private static void interleave(float[] scratch, float[] out, int at) {
        for (int i = 0; i < L; i++) {
            out[at + 2 * i] = scratch[i];
            out[at + 2 * i + 1] = scratch[L + i];
        }
    }

    private DecodeAttention() {}
}
