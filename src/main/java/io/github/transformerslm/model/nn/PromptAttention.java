package io.github.transformerslm.model.nn;

import io.github.transformerslm.runtime.MatmulPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A prompt's attention (prefill) in Java over float32 arrays: softmax(q·kᵀ·scale + mask)·v per head,
 * computed a few query rows and a tile of keys at a time with a running maximum and sum (the online
 * softmax of FlashAttention), so that the scores are never held whole.
 *
 * <p>Why not libtorch's matmul, softmax and matmul: they compute every score of the square, the half that a
 * causal mask zeroes too, and write and read the [seq, total] score matrix of every head three times. Here a
 * tile of keys that no row of the group can see is skipped: a mask value under {@link #MASKED_BELOW} makes
 * the weight exactly 0 in libtorch's softmax (e^-10^8 underflows), so leaving the key out gives the same sum.
 * A row that sees no key at all (a left-padding row) gets, as in libtorch, the mean of every value.
 *
 * <p>Loaded only when the {@code jdk.incubator.vector} module is present (see {@link VectorProduct}).
 */
public final class PromptAttention {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Query rows that share each tile of keys. */
    private static final int ROWS = 4;
    /** Keys per tile: two vectors, so that the score loop has eight independent chains of multiply-adds. */
    private static final int TILE = 2 * L;
    /** An additive mask value under this hides its key: libtorch's softmax gives it a weight of exactly 0. */
    public static final float MASKED_BELOW = -1e8f;

    private PromptAttention() {}

    /** Whether {@link #attend} can run here (the Vector API and its optimizing compiler). */
    public static boolean available() {
        return VectorProduct.available();
    }

    /**
     * q: [batch, heads, seq, headDim]; k, v: [batch, kvHeads, total, headDim]; mask: additive, [batch, seq,
     * total]; heads a multiple of kvHeads (each group of heads / kvHeads query heads reads one key head).
     * Returns [batch, heads, seq, headDim], in {@code into} if it is large enough.
     */
    public static float[] attend(float[] q, float[] k, float[] v, float[] mask, int batch, int heads, int kvHeads, int seq,
            int total, int headDim, float scale, MatmulPool pool, float[] into) {
        int padded = (total + TILE - 1) / TILE * TILE;
        float[] out = into != null && into.length >= batch * heads * seq * headDim ? into : new float[batch * heads * seq * headDim];
        int[] first = new int[batch * seq];
        int[] end = new int[batch * seq];
        for (int r = 0; r < batch * seq; r++) {
            visibleRange(mask, r * total, total, first, end, r);
        }
        // Keys transposed per head, [headDim, padded], zeros past total: a tile's scores are then multiply-adds
        // of whole vectors. Values as rows of whole vector pairs, [total, width], zeros past headDim.
        int width = (headDim + 2 * L - 1) / (2 * L) * (2 * L);
        float[] keysT = new float[batch * kvHeads * headDim * padded];
        float[] values = headDim == width ? v : new float[batch * kvHeads * total * width];
        pool.forEach(batch * kvHeads, u -> {
            transpose(k, u * total * headDim, total, headDim, keysT, u * headDim * padded, padded);
            if (values != v) {
                for (int j = 0; j < total; j++) {
                    System.arraycopy(v, (u * total + j) * headDim, values, (u * total + j) * width, headDim);
                }
            }
        });
        int groups = (seq + ROWS - 1) / ROWS;
        int tasks = batch * heads * groups;
        int ways = Math.min(pool.parallelism(), tasks);
        Job job = new Job(q, keysT, values, v, mask, first, end, heads, kvHeads, seq, total, padded, headDim, width, scale, out);
        pool.forEach(ways, t -> {
            float[] scratch = new float[ROWS * (width + TILE)];
            // Interleaved: later query rows see more keys, so each thread gets early and late groups alike.
            for (int task = t; task < tasks; task += ways) {
                job.group(task / (heads * groups), task / groups % heads, task % groups * ROWS, scratch);
            }
        });
        return out;
    }

    /** first[r], end[r]: the row's first visible key and one past its last; both 0 if none is visible. */
    private static void visibleRange(float[] mask, int from, int total, int[] first, int[] end, int r) {
        int lo = -1;
        int hi = 0;
        for (int j = 0; j < total; j++) {
            if (mask[from + j] >= MASKED_BELOW) {
                lo = lo < 0 ? j : lo;
                hi = j + 1;
            }
        }
        first[r] = Math.max(lo, 0);
        end[r] = hi;
    }

    private static void transpose(float[] k, int from, int total, int headDim, float[] keysT, int to, int padded) {
        for (int j = 0; j < total; j++) {
            for (int d = 0; d < headDim; d++) {
                keysT[to + d * padded + j] = k[from + j * headDim + d];
            }
        }
    }

    private record Job(float[] q, float[] keysT, float[] values, float[] v, float[] mask, int[] first, int[] end, int heads,
            int kvHeads, int seq, int total, int padded, int headDim, int width, float scale, float[] out) {

        /**
         * Query rows [r0, r0 + ROWS) of head h of row b; rows past the last stand in as the last and are not
         * written. scratch: [ROWS, width] outputs, then [ROWS, TILE] weights of the current tile.
         */
        void group(int b, int h, int r0, float[] scratch) {
            int g = h / (heads / kvHeads);
            int last = seq - 1;
            int[] rows = {Math.min(r0, last), Math.min(r0 + 1, last), Math.min(r0 + 2, last), Math.min(r0 + 3, last)};
            int from = Integer.MAX_VALUE;
            int to = 0;
            for (int i = 0; i < ROWS; i++) {
                int r = b * seq + rows[i];
                if (end[r] > 0) {
                    from = Math.min(from, first[r]);
                    to = Math.max(to, end[r]);
                }
            }
            java.util.Arrays.fill(scratch, 0, ROWS * width, 0f);
            float[] max = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY};
            float[] sum = new float[ROWS];
            int qBase = (b * heads + h) * seq * headDim;
            int kBase = (b * kvHeads + g) * headDim * padded;
            int vBase = (b * kvHeads + g) * total;
            int wBase = ROWS * width;
            for (int j0 = from == Integer.MAX_VALUE ? to : from / TILE * TILE; j0 < to; j0 += TILE) {
                scores(qBase + rows[0] * headDim, qBase + rows[1] * headDim, qBase + rows[2] * headDim,
                        qBase + rows[3] * headDim, kBase + j0, scratch, wBase);
                int columns = Math.min(TILE, total - j0);
                for (int i = 0; i < ROWS; i++) {
                    int m = (b * seq + rows[i]) * total + j0;
                    int w = wBase + i * TILE;
                    FloatVector s0 = FloatVector.fromArray(F, scratch, w).mul(scale);
                    FloatVector s1 = FloatVector.fromArray(F, scratch, w + L).mul(scale);
                    if (columns == TILE) {
                        s0 = s0.add(FloatVector.fromArray(F, mask, m));
                        s1 = s1.add(FloatVector.fromArray(F, mask, m + L));
                        s0.intoArray(scratch, w);
                        s1.intoArray(scratch, w + L);
                    } else { // the last tile: keys past total take no weight
                        s0.intoArray(scratch, w);
                        s1.intoArray(scratch, w + L);
                        for (int j = 0; j < TILE; j++) {
                            scratch[w + j] = j < columns ? scratch[w + j] + mask[m + j] : Float.NEGATIVE_INFINITY;
                        }
                        s0 = FloatVector.fromArray(F, scratch, w);
                        s1 = FloatVector.fromArray(F, scratch, w + L);
                    }
                    float tileMax = s0.max(s1).reduceLanes(VectorOperators.MAX);
                    if (tileMax > max[i]) {
                        float correction = max[i] == Float.NEGATIVE_INFINITY ? 0f : VectorExp.exp(max[i] - tileMax);
                        sum[i] *= correction;
                        for (int d = 0; d < width; d += L) {
                            FloatVector.fromArray(F, scratch, i * width + d).mul(correction).intoArray(scratch, i * width + d);
                        }
                        max[i] = tileMax;
                    }
                    FloatVector e0 = VectorExp.exp(s0.sub(max[i]));
                    FloatVector e1 = VectorExp.exp(s1.sub(max[i]));
                    e0.intoArray(scratch, w);
                    e1.intoArray(scratch, w + L);
                    sum[i] += e0.add(e1).reduceLanes(VectorOperators.ADD);
                }
                weighted((vBase + j0) * width, columns, scratch, wBase);
            }
            for (int i = 0; i < ROWS; i++) {
                if (r0 + i > last) {
                    break;
                }
                int o = qBase + rows[i] * headDim;
                if (end[b * seq + rows[i]] == 0) { // no visible key: libtorch's softmax spreads the row evenly
                    meanOfValues(vBase * headDim, o);
                    continue;
                }
                float inverse = 1f / sum[i];
                for (int d = 0; d < headDim; d++) {
                    out[o + d] = scratch[i * width + d] * inverse;
                }
            }
        }

        /** scratch[w + i·TILE + j] = q_i · k_(j0 + j) for the four rows at qa..qd and the tile at kt. */
        private void scores(int qa, int qb, int qc, int qd, int kt, float[] scratch, int w) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
            for (int d = 0; d < headDim; d++) {
                int at = kt + d * padded;
                FloatVector k0 = FloatVector.fromArray(F, keysT, at);
                FloatVector k1 = FloatVector.fromArray(F, keysT, at + L);
                FloatVector u = FloatVector.broadcast(F, q[qa + d]);
                a0 = k0.fma(u, a0);
                a1 = k1.fma(u, a1);
                u = FloatVector.broadcast(F, q[qb + d]);
                b0 = k0.fma(u, b0);
                b1 = k1.fma(u, b1);
                u = FloatVector.broadcast(F, q[qc + d]);
                c0 = k0.fma(u, c0);
                c1 = k1.fma(u, c1);
                u = FloatVector.broadcast(F, q[qd + d]);
                d0 = k0.fma(u, d0);
                d1 = k1.fma(u, d1);
            }
            a0.intoArray(scratch, w);
            a1.intoArray(scratch, w + L);
            b0.intoArray(scratch, w + TILE);
            b1.intoArray(scratch, w + TILE + L);
            c0.intoArray(scratch, w + 2 * TILE);
            c1.intoArray(scratch, w + 2 * TILE + L);
            d0.intoArray(scratch, w + 3 * TILE);
            d1.intoArray(scratch, w + 3 * TILE + L);
        }

        /** The four rows' outputs (scratch[0, ROWS·width)) += their tile weights times the tile's value rows. */
        private void weighted(int v0, int columns, float[] scratch, int w) {
            for (int d = 0; d < width; d += 2 * L) {
                FloatVector a0 = FloatVector.fromArray(F, scratch, d), a1 = FloatVector.fromArray(F, scratch, d + L);
                FloatVector b0 = FloatVector.fromArray(F, scratch, width + d), b1 = FloatVector.fromArray(F, scratch, width + d + L);
                FloatVector c0 = FloatVector.fromArray(F, scratch, 2 * width + d);
                FloatVector c1 = FloatVector.fromArray(F, scratch, 2 * width + d + L);
                FloatVector d0 = FloatVector.fromArray(F, scratch, 3 * width + d);
                FloatVector d1 = FloatVector.fromArray(F, scratch, 3 * width + d + L);
                for (int j = 0; j < columns; j++) {
                    int at = v0 + j * width + d;
                    FloatVector x0 = FloatVector.fromArray(F, values, at);
                    FloatVector x1 = FloatVector.fromArray(F, values, at + L);
                    FloatVector u = FloatVector.broadcast(F, scratch[w + j]);
                    a0 = x0.fma(u, a0);
                    a1 = x1.fma(u, a1);
                    u = FloatVector.broadcast(F, scratch[w + TILE + j]);
                    b0 = x0.fma(u, b0);
                    b1 = x1.fma(u, b1);
                    u = FloatVector.broadcast(F, scratch[w + 2 * TILE + j]);
                    c0 = x0.fma(u, c0);
                    c1 = x1.fma(u, c1);
                    u = FloatVector.broadcast(F, scratch[w + 3 * TILE + j]);
                    d0 = x0.fma(u, d0);
                    d1 = x1.fma(u, d1);
                }
                a0.intoArray(scratch, d);
                a1.intoArray(scratch, d + L);
                b0.intoArray(scratch, width + d);
                b1.intoArray(scratch, width + d + L);
                c0.intoArray(scratch, 2 * width + d);
                c1.intoArray(scratch, 2 * width + d + L);
                d0.intoArray(scratch, 3 * width + d);
                d1.intoArray(scratch, 3 * width + d + L);
            }
        }

        private void meanOfValues(int vBase, int o) {
            for (int d = 0; d < headDim; d++) {
                double s = 0;
                for (int j = 0; j < total; j++) {
                    s += v[vBase + j * headDim + d];
                }
                out[o + d] = (float) (s / total);
            }
        }
    }
}
