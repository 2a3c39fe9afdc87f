package io.github.transformerslm.model.nn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix products for a few token rows, written with the Vector API and reading the weights straight from
 * their (memory-mapped) buffers. Decoding is bound by reading the weights: libtorch's GEMV reads about
 * 12 GB/s on one core of this machine kind, these loops about twice that, and float16 weights are widened
 * in registers so they cost half the memory traffic.
 *
 * <p>Every output is accumulated in the same order whatever the number of rows, so a sequence gets
 * bit-identical logits alone or inside a batch.
 *
 * <p>Loaded only when the {@code jdk.incubator.vector} module is present (see {@link MatmulKernels}).
 */
final class VectorKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** 2^112 moves a float16 exponent (bias 15) to a float32 one (bias 127), subnormals included. */
    private static final float HALF_EXPONENT_SHIFT = 0x1.0p112f;

    private VectorKernels() {}

    /** Whether the preferred vector shape is wide enough to be worth it (it is on any AVX2 or later CPU). */
    static boolean usable() {
        return L >= 8 && I.length() == L;
    }

    /**
     * Widens float16 values held in the low 16 bits of each int lane (high bits zero); weights are
     * finite, so no Inf/NaN handling. Only int operations: Java 17 does not compile the short-to-int
     * vector conversion into instructions (measured: it ran through a slow generic path).
     */
    private static FloatVector widen(IntVector h) {
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        FloatVector magnitude = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_SHIFT);
        return magnitude.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    /**
     * Reorders x for float16 weights: one int load holds 2L halves, which widen as the even and the odd
     * ones. Within each block of 2L inputs the evens are moved first, then the odds; the inputs past the
     * last whole block keep their place. x: [rows, in] → same shape.
     */
    static float[] evensThenOdds(float[] x, int rows, int in) {
        int blockEnd = in - in % (2 * L);
        float[] p = x.clone();
        for (int r = 0; r < rows; r++) {
            for (int b = r * in; b < r * in + blockEnd; b += 2 * L) {
                for (int j = 0; j < L; j++) {
                    p[b + j] = x[b + 2 * j];
                    p[b + L + j] = x[b + 2 * j + 1];
                }
            }
        }
        return p;
    }

    private static float scalar(ByteBuffer w, boolean half, int element) {
        return half ? Float.intBitsToFloat(((w.getShort(2 * element) & 0x8000) << 16)
                | Float.floatToRawIntBits(Float.intBitsToFloat((w.getShort(2 * element) & 0x7fff) << 13) * HALF_EXPONENT_SHIFT))
                : w.getFloat(4 * element);
    }

    /**
     * Outputs {@code [from, to)} of y = x·Wᵀ + b for W stored {@code [out, in]}: one dot product per output.
     * x: [rows, in], y: [rows, out]. Each output keeps the same two accumulators whatever the rows.
     *
     * <p>The float32 and float16 loops are separate methods on purpose: a vector that may come from either
     * load path merges two values, which Java 17's compiler cannot keep in registers (it then allocates
     * an object per load, measured 3x slower).
     */
    static void outputMajor(ByteBuffer w, boolean half, ByteBuffer bias, boolean biasHalf, int in, int out,
            float[] x, int rows, float[] y, int from, int to, float[] rowScratch) {
        // One weight row at a time: streaming several rows at once was measured twice as slow.
        int vectorEnd = in - in % (2 * L);
        float[] pair = new float[2];
        for (int o = from; o < to; o++) {
            int row = o * in;
            float b = biasAt(bias, biasHalf, o);
            if (half && rows == 1) {
                y[o] = dotHalf(w, row, x, 0, vectorEnd) + tail(w, true, row, x, 0, vectorEnd, in) + b;
                continue;
            }
            if (half) {
                widenRow(w, row, vectorEnd, rowScratch); // widened once, then read from L1 by every token row
            }
            int r = 0;
            for (; r + 2 <= rows; r += 2) {
                // Two token rows share each weight load.
                if (half) {
                    dotPair(rowScratch, x, r * in, (r + 1) * in, vectorEnd, pair);
                } else {
                    dotPair(w, row, x, r * in, (r + 1) * in, vectorEnd, pair);
                }
                y[r * out + o] = pair[0] + tail(w, half, row, x, r * in, vectorEnd, in) + b;
                y[(r + 1) * out + o] = pair[1] + tail(w, half, row, x, (r + 1) * in, vectorEnd, in) + b;
            }
            if (r < rows) {
                float d = half ? dot(rowScratch, x, r * in, vectorEnd) : dot(w, row, x, r * in, vectorEnd);
                y[r * out + o] = d + tail(w, half, row, x, r * in, vectorEnd, in) + b;
            }
        }
    }

    private static float dot(ByteBuffer w, int row, float[] x, int x0, int vectorEnd) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            a0 = FloatVector.fromByteBuffer(F, w, 4 * (row + i), LE).fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = FloatVector.fromByteBuffer(F, w, 4 * (row + i + L), LE).fma(FloatVector.fromArray(F, x, x0 + i + L), a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** float16 weights against x in {@link #evensThenOdds} order: the same sums as {@link #widenRow} + dot. */
    private static float dotHalf(ByteBuffer w, int row, float[] x, int x0, int vectorEnd) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            IntVector h = IntVector.fromByteBuffer(I, w, 2 * (row + i), LE);
            a0 = widen(h.and(0xffff)).fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = widen(h.lanewise(VectorOperators.LSHR, 16)).fma(FloatVector.fromArray(F, x, x0 + i + L), a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** One float16 weight row's whole blocks, widened in {@link #evensThenOdds} order. */
    private static void widenRow(ByteBuffer w, int row, int vectorEnd, float[] into) {
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            // widen(), written out: called from here it was not inlined and ran through a slow generic path.
            IntVector h = IntVector.fromByteBuffer(I, w, 2 * (row + i), LE);
            IntVector even = h.and(0xffff);
            IntVector odd = h.lanewise(VectorOperators.LSHR, 16);
            IntVector evenSign = even.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            IntVector oddSign = odd.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            FloatVector evenMagnitude = even.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_SHIFT);
            FloatVector oddMagnitude = odd.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_SHIFT);
            evenMagnitude.reinterpretAsInts().or(evenSign).reinterpretAsFloats().intoArray(into, i);
            oddMagnitude.reinterpretAsInts().or(oddSign).reinterpretAsFloats().intoArray(into, i + L);
        }
    }

    private static float dot(float[] w, float[] x, int x0, int vectorEnd) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            a0 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = FloatVector.fromArray(F, w, i + L).fma(FloatVector.fromArray(F, x, x0 + i + L), a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    private static void dotPair(ByteBuffer w, int row, float[] x, int x0, int x1, int vectorEnd, float[] pair) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            FloatVector w0 = FloatVector.fromByteBuffer(F, w, 4 * (row + i), LE);
            FloatVector w1 = FloatVector.fromByteBuffer(F, w, 4 * (row + i + L), LE);
            a0 = w0.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = w1.fma(FloatVector.fromArray(F, x, x0 + i + L), a1);
            c0 = w0.fma(FloatVector.fromArray(F, x, x1 + i), c0);
            c1 = w1.fma(FloatVector.fromArray(F, x, x1 + i + L), c1);
        }
        pair[0] = a0.add(a1).reduceLanes(VectorOperators.ADD);
        pair[1] = c0.add(c1).reduceLanes(VectorOperators.ADD);
    }

    private static void dotPair(float[] w, float[] x, int x0, int x1, int vectorEnd, float[] pair) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            FloatVector w0 = FloatVector.fromArray(F, w, i);
            FloatVector w1 = FloatVector.fromArray(F, w, i + L);
            a0 = w0.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = w1.fma(FloatVector.fromArray(F, x, x0 + i + L), a1);
            c0 = w0.fma(FloatVector.fromArray(F, x, x1 + i), c0);
            c1 = w1.fma(FloatVector.fromArray(F, x, x1 + i + L), c1);
        }
        pair[0] = a0.add(a1).reduceLanes(VectorOperators.ADD);
        pair[1] = c0.add(c1).reduceLanes(VectorOperators.ADD);
    }

    /** The inputs past the last whole vector pair, in order. */
    private static float tail(ByteBuffer w, boolean half, int row, float[] x, int x0, int vectorEnd, int in) {
        float s = 0f;
        for (int i = vectorEnd; i < in; i++) {
            s += scalar(w, half, row + i) * x[x0 + i];
        }
        return s;
    }

    private static float biasAt(ByteBuffer bias, boolean biasHalf, int o) {
        return bias == null ? 0f : scalar(bias, biasHalf, o);
    }

    static float bias(ByteBuffer bias, boolean biasHalf, int o) {
        return biasAt(bias, biasHalf, o);
    }

    /**
     * Partial sums over inputs {@code [from, to)} of x·W for W stored {@code [in, out]} (GPT-2's Conv1D, float32):
     * each weight row in turn scales into accumulators that stay in cache. partial: [rows, out],
     * overwritten. Each output's sum runs over the inputs in order, whatever the rows.
     */
    static void inputMajor(ByteBuffer w, int in, int out, float[] x, int rows, float[] partial, int from, int to) {
        int vectorEnd = out - out % L;
        if (rows == 1) {
            // One token row: stream whole weight rows, accumulating in cache.
            java.util.Arrays.fill(partial, 0, out, 0f);
            for (int i = from; i < to; i++) {
                scaleRow(w, i * out, x[i], partial, vectorEnd);
            }
        } else {
            // Several: keep a tile of columns for two token rows in registers over all inputs; the tile's
            // weights (2L columns × inputs) stay in L2 for the next pair of rows.
            int tileEnd = out - out % (2 * L);
            for (int c = 0; c < tileEnd; c += 2 * L) {
                int r = 0;
                for (; r + 2 <= rows; r += 2) {
                    tilePair(w, out, c, x, r * in, (r + 1) * in, from, to, partial, r * out + c, (r + 1) * out + c);
                }
                if (r < rows) {
                    tile(w, out, c, x, r * in, from, to, partial, r * out + c);
                }
            }
            for (int c = tileEnd; c < vectorEnd; c += L) {
                for (int r = 0; r < rows; r++) {
                    FloatVector acc = FloatVector.zero(F);
                    for (int i = from; i < to; i++) {
                        acc = FloatVector.fromByteBuffer(F, w, 4 * (i * out + c), LE).fma(FloatVector.broadcast(F, x[r * in + i]), acc);
                    }
                    acc.intoArray(partial, r * out + c);
                }
            }
        }
        for (int c = vectorEnd; c < out; c++) {
            for (int r = 0; r < rows; r++) {
                float acc = 0f;
                for (int i = from; i < to; i++) {
                    acc = Math.fma(w.getFloat(4 * (i * out + c)), x[r * in + i], acc);
                }
                partial[r * out + c] = acc;
            }
        }
    }

    private static void scaleRow(ByteBuffer w, int w0, float xi, float[] partial, int vectorEnd) {
        FloatVector s = FloatVector.broadcast(F, xi);
        for (int c = 0; c < vectorEnd; c += L) {
            FloatVector.fromByteBuffer(F, w, 4 * (w0 + c), LE).fma(s, FloatVector.fromArray(F, partial, c)).intoArray(partial, c);
        }
    }

    private static void tilePair(ByteBuffer w, int out, int c, float[] x, int x0, int x1, int from, int to,
            float[] partial, int at0, int at1) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F);
        FloatVector b1 = FloatVector.zero(F);
        for (int i = from; i < to; i++) {
            FloatVector k0 = FloatVector.fromByteBuffer(F, w, 4 * (i * out + c), LE);
            FloatVector k1 = FloatVector.fromByteBuffer(F, w, 4 * (i * out + c + L), LE);
            FloatVector u = FloatVector.broadcast(F, x[x0 + i]);
            FloatVector v = FloatVector.broadcast(F, x[x1 + i]);
            a0 = k0.fma(u, a0);
            a1 = k1.fma(u, a1);
            b0 = k0.fma(v, b0);
            b1 = k1.fma(v, b1);
        }
        a0.intoArray(partial, at0);
        a1.intoArray(partial, at0 + L);
        b0.intoArray(partial, at1);
        b1.intoArray(partial, at1 + L);
    }

    private static void tile(ByteBuffer w, int out, int c, float[] x, int x0, int from, int to, float[] partial, int at) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int i = from; i < to; i++) {
            FloatVector u = FloatVector.broadcast(F, x[x0 + i]);
            a0 = FloatVector.fromByteBuffer(F, w, 4 * (i * out + c), LE).fma(u, a0);
            a1 = FloatVector.fromByteBuffer(F, w, 4 * (i * out + c + L), LE).fma(u, a1);
        }
        a0.intoArray(partial, at);
        a1.intoArray(partial, at + L);
    }
}
