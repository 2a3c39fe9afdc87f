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
 * <p>An ALiBi bias ({@link Bias}) is added to the scores where transformers adds it. Loaded only when the
 * {@code jdk.incubator.vector} module is present (see {@link VectorProduct}).
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
     * A prompt's additive mask ([batch, seq, total]) as the kernels read it, built once per forward pass and
     * shared by its layers: rows padded to whole tiles with -∞ (keys past the last take no weight, and no
     * branch is needed for a last, partial tile), and each row's first visible key and one past its last.
     */
    public static final class Mask {
        final float[] values; // [batch, seq, padded]
        final int[] first;
        final int[] end; // 0 where the row sees no key
        final int batch;
        final int seq;
        final int total;
        final int padded;

        public Mask(float[] mask, int batch, int seq, int total) {
            this(java.nio.FloatBuffer.wrap(mask), batch, seq, total);
        }

        /** mask: [batch, seq, total] from index 0, read once (a view of the tensor libtorch holds). */
        public Mask(java.nio.FloatBuffer mask, int batch, int seq, int total) {
            this.batch = batch;
            this.seq = seq;
            this.total = total;
            this.padded = (total + TILE - 1) / TILE * TILE;
            this.values = new float[batch * seq * padded];
            this.first = new int[batch * seq];
            this.end = new int[batch * seq];
            for (int r = 0; r < batch * seq; r++) {
                mask.get(r * total, values, r * padded, total);
                java.util.Arrays.fill(values, r * padded + total, (r + 1) * padded, Float.NEGATIVE_INFINITY);
                int lo = -1;
                for (int j = 0; j < total; j++) {
                    if (values[r * padded + j] >= MASKED_BELOW) {
                        lo = lo < 0 ? j : lo;
                        end[r] = j + 1;
                    }
                }
                first[r] = Math.max(lo, 0);
            }
        }
    }

    /**
     * An additive score bias per head and key ([batch, heads, total]: ALiBi), padded like {@link Mask}'s rows,
     * added after the scores are scaled (BLOOM) or before ({@code beforeScale}: Falcon), as transformers does.
     */
    public static final class Bias {
        final float[] values; // [batch, heads, padded]
        final boolean beforeScale;

        public Bias(float[] bias, int batch, int heads, int total, boolean beforeScale) {
            int padded = (total + TILE - 1) / TILE * TILE;
            this.values = new float[batch * heads * padded];
            this.beforeScale = beforeScale;
            for (int r = 0; r < batch * heads; r++) {
                System.arraycopy(bias, r * total, values, r * padded, total);
            }
        }

        public boolean beforeScale() {
            return beforeScale;
        }
    }

    /** Arrays a caller keeps between layers, so that a prompt's layers reuse them: grown as needed. */
    public static final class Buffers {
        private float[] keysT = new float[0];
        private float[] values = new float[0];
        private float[] out = new float[0];
    }

    /**
     * q: [batch, heads, seq, headDim]; k, v: [batch, kvHeads, total, headDim]; mask as {@link Mask} holds it;
     * bias null or as {@link Bias} holds it; heads a multiple of kvHeads (each group of heads / kvHeads query
     * heads reads one key head). Returns [batch, heads, seq, headDim], in an array of {@code buffers} that the
     * next call overwrites.
     */
    public static float[] attend(float[] q, float[] k, float[] v, Mask mask, Bias bias, int heads, int kvHeads, int headDim,
            float scale, MatmulPool pool, Buffers buffers) {
        int batch = mask.batch;
        int seq = mask.seq;
        int total = mask.total;
        int padded = mask.padded;
        int size = batch * heads * seq * headDim;
        float[] out = buffers.out = buffers.out.length >= size ? buffers.out : new float[size];
        // Keys transposed per head and tile, [padded / TILE, headDim, TILE], zeros past total: a tile's scores
        // are then multiply-adds of whole vectors. Values as rows of whole vector pairs, [total, width], zeros past headDim.
        int width = (headDim + 2 * L - 1) / (2 * L) * (2 * L);
        int keysSize = batch * kvHeads * headDim * padded;
        float[] keysT = buffers.keysT = buffers.keysT.length >= keysSize ? buffers.keysT : new float[keysSize];
        int valuesSize = batch * kvHeads * total * width;
        float[] values = headDim == width ? v
                : (buffers.values = buffers.values.length >= valuesSize ? buffers.values : new float[valuesSize]);
        pool.forEach(batch * kvHeads, u -> {
            transpose(k, u * total * headDim, total, headDim, keysT, u * headDim * padded, padded);
            if (values != v) {
                for (int j = 0; j < total; j++) {
                    System.arraycopy(v, (u * total + j) * headDim, values, (u * total + j) * width, headDim);
                    java.util.Arrays.fill(values, (u * total + j) * width + headDim, (u * total + j + 1) * width, 0f);
                }
            }
        });
        int groups = (seq + ROWS - 1) / ROWS;
        int units = batch * heads;
        int tasks = units * groups;
        Job job = new Job(q, keysT, values, v, mask, bias, heads, kvHeads, headDim, width, scale, out);
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        pool.forEach(Math.min(pool.parallelism(), tasks), t -> {
            float[] scratch = new float[ROWS * (width + TILE + L + 1)];
            int[] rows = new int[ROWS];
            // Claimed as threads come free, the last groups of rows (which see the most keys) first: the
            // threads then end on small pieces of work, within one of each other.
            for (int task = next.getAndIncrement(); task < tasks; task = next.getAndIncrement()) {
                int unit = task % units;
                job.group(unit / heads, unit % heads, (groups - 1 - task / units) * ROWS, scratch, rows);
            }
        });
        return out;
    }

    /**
     * One head's keys ([total, headDim] from {@code from}) into {@code to} tile by tile: each tile of TILE keys
     * as [headDim, TILE], so that a tile's scores read one contiguous block (row by row across the whole
     * prompt they read headDim streams a prompt's length apart, more than the prefetchers follow).
     */
    private static void transpose(float[] k, int from, int total, int headDim, float[] keysT, int to, int padded) {
        for (int j = 0; j < total; j++) {
            int tile = to + j / TILE * TILE * headDim + j % TILE;
            for (int d = 0; d < headDim; d++) {
                keysT[tile + d * TILE] = k[from + j * headDim + d];
            }
        }
        for (int j = total; j < padded; j++) { // a reused array's keys past total: finite, as the mask assumes
            int tile = to + j / TILE * TILE * headDim + j % TILE;
            for (int d = 0; d < headDim; d++) {
                keysT[tile + d * TILE] = 0f;
            }
        }
    }

    private record Job(float[] q, float[] keysT, float[] values, float[] v, Mask mask, Bias bias, int heads, int kvHeads,
            int headDim, int width, float scale, float[] out) {

        /**
         * Query rows [r0, r0 + ROWS) of head h of row b; rows past the last stand in as the last and are not
         * written. scratch: [ROWS, width] outputs, [ROWS, TILE] weights of the current tile, then [ROWS, L] the
         * rows' sums of weights lane by lane (added across lanes once, at the end), then [ROWS] their running
         * maxima; rows: the four rows' indices. Both are the calling thread's, kept across groups.
         */
        void group(int b, int h, int r0, float[] scratch, int[] rows) {
            int seq = mask.seq;
            int total = mask.total;
            int padded = mask.padded;
            int[] first = mask.first;
            int[] end = mask.end;
            float[] maskValues = mask.values;
            int g = h / (heads / kvHeads);
            int last = seq - 1;
            for (int i = 0; i < ROWS; i++) {
                rows[i] = Math.min(r0 + i, last);
            }
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
            int sBase = ROWS * (width + TILE);
            java.util.Arrays.fill(scratch, sBase, sBase + ROWS * L, 0f);
            int mBase = sBase + ROWS * L;
            java.util.Arrays.fill(scratch, mBase, mBase + ROWS, Float.NEGATIVE_INFINITY);
            int qBase = (b * heads + h) * seq * headDim;
            int kBase = (b * kvHeads + g) * headDim * padded;
            int vBase = (b * kvHeads + g) * total;
            int wBase = ROWS * width;
            for (int j0 = from == Integer.MAX_VALUE ? to : from / TILE * TILE; j0 < to; j0 += TILE) {
                scores(qBase + rows[0] * headDim, qBase + rows[1] * headDim, qBase + rows[2] * headDim,
                        qBase + rows[3] * headDim, kBase + j0 * headDim, scratch, wBase);
                int columns = Math.min(TILE, total - j0);
                for (int i = 0; i < ROWS; i++) {
                    weigh(scratch, i, wBase + i * TILE, (b * seq + rows[i]) * padded + j0, (b * heads + h) * padded + j0,
                            sBase, mBase);
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
                float inverse = 1f / FloatVector.fromArray(F, scratch, sBase + i * L).reduceLanes(VectorOperators.ADD);
                for (int d = 0; d < headDim; d++) {
                    out[o + d] = scratch[i * width + d] * inverse;
                }
            }
        }

        /**
         * Row i's scores of the tile (scratch[w, w + TILE)) scaled, biased and masked into weights e^(s - max)
         * in place, its running maximum (scratch[mBase + i]) raised to the tile's, its sums (scratch[sBase +
         * i·L]) and outputs (scratch[i·width]) rescaled to it, and the tile's weights added to its sums.
         * m: the row's mask at the tile; at: the bias's. One exponential in a loop over the tile's two vectors,
         * in a method of its own: written out twice inside {@link #group}, the JIT inlined one and left the other
         * a call (its node budget spent), which boxed a vector per row and tile.
         */
        private void weigh(float[] scratch, int i, int w, int m, int at, int sBase, int mBase) {
            FloatVector s0 = FloatVector.fromArray(F, scratch, w);
            FloatVector s1 = FloatVector.fromArray(F, scratch, w + L);
            if (bias == null) {
                s0 = s0.mul(scale);
                s1 = s1.mul(scale);
            } else {
                FloatVector b0 = FloatVector.fromArray(F, bias.values, at);
                FloatVector b1 = FloatVector.fromArray(F, bias.values, at + L);
                s0 = bias.beforeScale ? s0.add(b0).mul(scale) : s0.mul(scale).add(b0);
                s1 = bias.beforeScale ? s1.add(b1).mul(scale) : s1.mul(scale).add(b1);
            }
            s0 = s0.add(FloatVector.fromArray(F, mask.values, m));
            s1 = s1.add(FloatVector.fromArray(F, mask.values, m + L));
            s0.intoArray(scratch, w);
            s1.intoArray(scratch, w + L);
            float tileMax = s0.max(s1).reduceLanes(VectorOperators.MAX);
            float max = scratch[mBase + i];
            if (tileMax > max) {
                float correction = max == Float.NEGATIVE_INFINITY ? 0f : VectorExp.exp(max - tileMax);
                FloatVector.fromArray(F, scratch, sBase + i * L).mul(correction).intoArray(scratch, sBase + i * L);
                for (int d = 0; d < width; d += L) {
                    FloatVector.fromArray(F, scratch, i * width + d).mul(correction).intoArray(scratch, i * width + d);
                }
                scratch[mBase + i] = tileMax;
                max = tileMax;
            }
            FloatVector sums = FloatVector.fromArray(F, scratch, sBase + i * L);
            for (int half = 0; half < TILE; half += L) {
                FloatVector e = VectorExp.exp(FloatVector.fromArray(F, scratch, w + half).sub(max));
                e.intoArray(scratch, w + half);
                sums = sums.add(e);
            }
            sums.intoArray(scratch, sBase + i * L);
        }

        /** scratch[w + i·TILE + j] = q_i · k_(j0 + j) for the four rows at qa..qd and the tile of keys at kt. */
        private void scores(int qa, int qb, int qc, int qd, int kt, float[] scratch, int w) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
            for (int d = 0; d < headDim; d++) {
                int at = kt + d * TILE;
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
            int total = mask.total;
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
