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
 * <p>Loaded only when the {@code jdk.incubator.vector} module is present (see {@link VectorProduct}).
 */
final class VectorKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** 2^112 moves a float16 exponent (bias 15) to a float32 one (bias 127), subnormals included. */
    static final float HALF_EXPONENT_SHIFT = 0x1.0p112f;

    private VectorKernels() {}

    /**
     * Whether the preferred vector shape is wide enough to be worth it (it is on any AVX2 or later CPU) and
     * every kernel path runs and agrees with plain arithmetic on this JVM. The incubator API changes between
     * releases (later ones removed the ByteBuffer loads these kernels use; measured on Temurin 25): there the
     * first call throws a {@link LinkageError}, which the caller takes as "use libtorch".
     */
    static boolean usable() {
        if (L < 8 || I.length() != L) {
            return false;
        }
        int in = 4 * L + 3;
        int out = 5 * L + 1;
        int rows = 13; // groups of 8, 4 and 1
        java.util.SplittableRandom random = new java.util.SplittableRandom(7);
        float[] x = new float[rows * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble(-1, 1);
        }
        ByteBuffer single = ByteBuffer.allocateDirect(4 * in * out).order(LE);
        ByteBuffer half = ByteBuffer.allocateDirect(2 * in * out).order(LE);
        for (int e = 0; e < in * out; e++) {
            single.putFloat(4 * e, (float) random.nextDouble(-1, 1));
            half.putShort(2 * e, (short) (0x3800 + random.nextInt(0x0800))); // 0.5 .. 1 in float16
        }
        for (int r : new int[] {1, rows}) {
            float[] y = new float[r * out];
            outputMajor(single, false, null, false, in, out, x, null, r, y, 0, out);
            if (!agrees(y, single, false, x, r, in, out, false)) {
                return false;
            }
            float[] unscale = new float[r];
            outputMajor(half, true, null, false, in, out, halfInput(x, r, in, null, unscale), unscale, r, y, 0, out);
            if (!agrees(y, half, true, x, r, in, out, false)) {
                return false;
            }
            inputMajor(single, in, out, x, r, y, 0, in); // the same buffer read as [in, out]
            if (!agrees(y, single, false, x, r, in, out, true)) {
                return false;
            }
        }
        return true;
    }

    /** y against the product computed one multiply-add at a time, to a relative 1e-4. */
    private static boolean agrees(float[] y, ByteBuffer w, boolean half, float[] x, int rows, int in, int out,
            boolean inputMajorLayout) {
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double expected = 0;
                double scale = 0;
                for (int i = 0; i < in; i++) {
                    double term = scalar(w, half, inputMajorLayout ? i * out + o : o * in + i) * (double) x[r * in + i];
                    expected += term;
                    scale += Math.abs(term);
                }
                if (Math.abs(y[r * out + o] - expected) > 1e-4 * (scale + 1)) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Reorders x for float16 weights: one int load holds 2L halves, which widen as the even and the odd
     * ones. Within each block of 2L inputs the evens are moved first, then the odds; the inputs past the
     * last whole block keep their place. x: [rows, in] → same shape.
     */
    static float[] evensThenOdds(float[] x, int rows, int in, float[] into) {
        int blockEnd = in - in % (2 * L);
        int size = rows * in; // x and into may be longer, reused buffers
        float[] p = into != null && into.length >= size ? into : new float[size];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(x, r * in + blockEnd, p, r * in + blockEnd, in - blockEnd); // the tail stays in place
            for (int b = r * in; b < r * in + blockEnd; b += 2 * L) {
                for (int j = 0; j < L; j++) {
                    p[b + j] = x[b + 2 * j];
                    p[b + L + j] = x[b + 2 * j + 1];
                }
            }
        }
        return p;
    }

    /**
     * The input of the float16 products: x in {@link #evensThenOdds} order, its whole blocks multiplied by
     * 2^112. The kernels then multiply a weight's bits as they lie after the shift (the float16 value times
     * 2^-112) without rescaling each weight vector: (w·2^-112)·(x·2^112) is exactly w·x, so every sum keeps
     * its bits, and one multiply per weight vector is saved (from cache, a float16 product of eight token
     * rows on one core went from 69-78 to 77-84 GFLOPS,
     * alternated twice). x·2^112 stays finite while |x| < 2^16, which holds
     * for any activation a float16 model can carry; a row whose finite values reach 2^16 is multiplied by
     * 2^(112-k) instead, for the least k that keeps it finite, and unscale[r] = 2^k restores its sums (its
     * tiniest products may then lose bits as subnormals; unscale[r] = 1 otherwise). Each row's factor
     * depends on that row alone, so a row still gets the same bits alone or in a batch. The tail past the
     * last whole block stays unscaled, as the scalar loop that adds it expects. x: [rows, in] → same shape.
     */
    static float[] halfInput(float[] x, int rows, int in, float[] into, float[] unscale) {
        float[] p = evensThenOdds(x, rows, in, into);
        int blockEnd = in - in % (2 * L);
        for (int r = 0; r < rows; r++) {
            float largest = 0f;
            for (int i = r * in; i < r * in + blockEnd; i++) {
                float a = Math.abs(p[i]);
                if (a > largest && a != Float.POSITIVE_INFINITY) { // NaN fails the comparison
                    largest = a;
                }
            }
            int k = Math.max(0, Math.getExponent(largest) - 15);
            unscale[r] = Math.scalb(1f, k);
            float scale = Math.scalb(1f, 112 - k);
            for (int i = r * in; i < r * in + blockEnd; i++) {
                p[i] *= scale;
            }
        }
        return p;
    }

    private static float unscaleOf(float[] unscale, int row) {
        return unscale == null ? 1f : unscale[row];
    }

    private static float scalar(ByteBuffer w, boolean half, int element) {
        return half ? Float.intBitsToFloat(((w.getShort(2 * element) & 0x8000) << 16)
                | Float.floatToRawIntBits(Float.intBitsToFloat((w.getShort(2 * element) & 0x7fff) << 13) * HALF_EXPONENT_SHIFT))
                : w.getFloat(4 * element);
    }

    /**
     * Outputs {@code [from, to)} of y = x·Wᵀ + b for W stored {@code [out, in]}: one dot product per output
     * and token row. x: [rows, in], y: [rows, out]. Every output is accumulated in one accumulator over the
     * inputs in the same order (per pair of vectors, the first then the second), then its lanes are added,
     * so a row's result does not depend on the rows beside it nor on how outputs are grouped.
     *
     * <p>Weights are read straight from their buffer. Groups of four token rows meet four weight rows at a
     * time in registers ({@link #quad}: sixteen accumulators, each input vector loaded once for four
     * outputs; the one to three rows past the last group take it too, the last row standing in for the
     * missing ones). One to three rows in all take two outputs from the two halves of the range at a time
     * ({@link #pairedDots}; four adjacent weight rows read side by side had measured 30% slower). Nothing is
     * written but the sums: stores queued behind loads from memory halved the rate at which weights
     * streamed in an earlier version that widened into a scratch array.
     *
     * <p>With four or more token rows the products are compute-heavy enough that the hardware prefetcher
     * falls behind and each weight line's miss stalls the arithmetic. So each chunk of about
     * {@link #TOUCH_BYTES} of weight rows is first touched (one load per cache line, nothing else between
     * them, so all the misses are in flight at once) and then multiplied from cache. Measured on this
     * machine kind, 8 token rows, 2 threads: the 49 float16 products of a GPT-2-small-shaped step, alone,
     * took 23-25 ms with the previous kernel (one weight row against eight token rows, two accumulators
     * each), 20-24 ms with this grouping and no touch pass, 16-18 ms with it; inside the model (timed
     * around the products) 22.1 ms became 20.2-21.3 ms. The Llama-shaped benchmark in float32 went from
     * 241-246 to 303-326 tokens/s at batch 8. Batch 1 is unchanged (it streams one weight row at a time
     * and is not touched: touching slowed it).
     *
     * <p>The float32 and float16 loops are separate methods on purpose: a vector that may come from either
     * load path merges two values, which Java 17's compiler cannot keep in registers (measured 3x slower).
     */
    static void outputMajor(ByteBuffer w, boolean half, ByteBuffer bias, boolean biasHalf, int in, int out,
            float[] x, float[] unscale, int rows, float[] y, int from, int to) {
        if (L < 16) {
            outputMajorNarrow(w, half, bias, biasHalf, in, out, x, unscale, rows, y, from, to);
            return;
        }
        int vectorEnd = in - in % (2 * L);
        int rowBytes = (half ? 2 : 4) * in;
        int chunk = Math.max(4, TOUCH_BYTES / rowBytes / 4 * 4); // weight rows touched, then multiplied
        float[] sums = new float[16]; // [4 outputs, 4 token rows]
        if (rows < 4) {
            pairedDots(w, half, bias, biasHalf, in, out, x, unscale, rows, y, from, to, vectorEnd, sums);
            return;
        }
        int touched = 0;
        for (int c = from; c < to; c += chunk) {
            int end = Math.min(to, c + chunk);
            if (rows >= 4) {
                touched += touch(w, c * rowBytes, end * rowBytes);
            }
            int o = c;
            for (; o + 4 <= end && rows >= 4; o += 4) {
                int row = o * in;
                int r = 0;
                for (; r + 4 <= rows; r += 4) {
                    if (half) {
                        quadHalf(w, row, in, x, r * in, (r + 1) * in, (r + 2) * in, (r + 3) * in, vectorEnd, sums);
                    } else {
                        quad(w, row, in, x, r * in, (r + 1) * in, (r + 2) * in, (r + 3) * in, vectorEnd, sums);
                    }
                    for (int k = 0; k < 4; k++) {
                        for (int j = 0; j < 4; j++) {
                            y[(r + j) * out + o + k] = sums[4 * k + j] * unscaleOf(unscale, r + j) + rest(w, half, bias, biasHalf, row + k * in, x, (r + j) * in, vectorEnd, in, o + k);
                        }
                    }
                }
                if (r < rows) {
                    // The one to three rows past the last group of four take the group's kernel too, the last
                    // row standing in for the missing ones (their sums are not written). Read one at a time
                    // against each weight row, each a chain of dependent multiply-adds, they had made a
                    // GPT-2-small step's products (all output-major, two threads) take 26-27 ms at 6 rows
                    // against 19-20 at 8; now 17 at 6 (alternated twice).
                    int last = rows - 1;
                    int x1 = Math.min(r + 1, last) * in;
                    int x2 = Math.min(r + 2, last) * in;
                    if (half) {
                        quadHalf(w, row, in, x, r * in, x1, x2, last * in, vectorEnd, sums);
                    } else {
                        quad(w, row, in, x, r * in, x1, x2, last * in, vectorEnd, sums);
                    }
                    for (int k = 0; k < 4; k++) {
                        for (int j = 0; r + j < rows; j++) {
                            y[(r + j) * out + o + k] = sums[4 * k + j] * unscaleOf(unscale, r + j) + rest(w, half, bias, biasHalf, row + k * in, x, (r + j) * in, vectorEnd, in, o + k);
                        }
                    }
                }
            }
            for (; o < end; o++) {
                dots(w, half, bias, biasHalf, in, out, x, unscale, rows, y, o, vectorEnd);
            }
        }
        touchSink = touched;
    }

    /**
     * Outputs [from, to) for one to three token rows: output o of the first half of the range is paired with
     * output o + half of the second, and each pair is one {@link #dotTwo} (or {@link #dotHalfTwo}) per token
     * row. A lone dot product is one chain of multiply-adds, each waiting for the one before (two per 64
     * bytes of float16 weights: about 25 GB/s on one core here, the rate it ran at); two independent chains
     * let both run at once, and taking the pair from the two halves keeps two long sequential streams for
     * the prefetcher (two adjacent rows read side by side, short streams, ran 2.5x slower). A GPT-2-small
     * step's products alone, one thread: float16 10.0 → 7.0 ms, float32 read output-major 16.6-16.9 →
     * 13.3-14.0 ms. Each output's additions keep {@link #dot}'s order.
     */
    private static void pairedDots(ByteBuffer w, boolean half, ByteBuffer bias, boolean biasHalf, int in, int out,
            float[] x, float[] unscale, int rows, float[] y, int from, int to, int vectorEnd, float[] sums) {
        int pairs = (to - from) / 2;
        for (int k = 0; k < pairs; k++) {
            int o = from + k;
            int p = o + pairs;
            for (int r = 0; r < rows; r++) {
                if (half) {
                    dotHalfTwo(w, o * in, (p - o) * in, x, r * in, vectorEnd, sums);
                } else {
                    dotTwo(w, o * in, (p - o) * in, x, r * in, vectorEnd, sums);
                }
                float u = unscaleOf(unscale, r);
                y[r * out + o] = sums[0] * u + rest(w, half, bias, biasHalf, o * in, x, r * in, vectorEnd, in, o);
                y[r * out + p] = sums[1] * u + rest(w, half, bias, biasHalf, p * in, x, r * in, vectorEnd, in, p);
            }
        }
        if (from + 2 * pairs < to) { // an odd number of outputs: the last one alone
            dots(w, half, bias, biasHalf, in, out, x, unscale, rows, y, to - 1, vectorEnd);
        }
    }

    /**
     * {@link #outputMajor} where vectors are narrower than 16 floats (AVX2: sixteen registers, too few for
     * {@link #quad}'s sixteen accumulators). Every output adds its vectors at even and odd positions in two
     * accumulators (a single chain made batch 1 slower there, 8.9-11.6 ms of products a GPT-2 float16 step against
     * 8.1-8.8: measured with {@code -XX:UseAVX=2}), one
     * weight row at a time, met by four token rows ({@link #rowsFour}) or one ({@link #dotPair}).
     */
    private static void outputMajorNarrow(ByteBuffer w, boolean half, ByteBuffer bias, boolean biasHalf, int in,
            int out, float[] x, float[] unscale, int rows, float[] y, int from, int to) {
        int vectorEnd = in - in % (2 * L);
        float[] sums = new float[4];
        for (int o = from; o < to; o++) {
            int row = o * in;
            int r = 0;
            for (; r + 4 <= rows; r += 4) {
                if (half) {
                    rowsFourHalf(w, row, x, r * in, (r + 1) * in, (r + 2) * in, (r + 3) * in, vectorEnd, sums);
                } else {
                    rowsFour(w, row, x, r * in, (r + 1) * in, (r + 2) * in, (r + 3) * in, vectorEnd, sums);
                }
                for (int j = 0; j < 4; j++) {
                    y[(r + j) * out + o] = sums[j] * unscaleOf(unscale, r + j) + rest(w, half, bias, biasHalf, row, x, (r + j) * in, vectorEnd, in, o);
                }
            }
            if (r > 0 && rows - r >= 2) {
                // Two or three rows past a group of four: the group's kernel, the last row standing in (a GPT-2
                // step's products, all output-major, -XX:UseAVX=2, two threads, alternated twice: 7 rows
                // 45.3-45.8 -> 38.2-39.5 ms, about what 8 rows take; 6 rows unchanged).
                int last = rows - 1;
                if (half) {
                    rowsFourHalf(w, row, x, r * in, (r + 1) * in, last * in, last * in, vectorEnd, sums);
                } else {
                    rowsFour(w, row, x, r * in, (r + 1) * in, last * in, last * in, vectorEnd, sums);
                }
                for (int j = 0; r + j < rows; j++) {
                    y[(r + j) * out + o] = sums[j] * unscaleOf(unscale, r + j) + rest(w, half, bias, biasHalf, row, x, (r + j) * in, vectorEnd, in, o);
                }
                r = rows;
            }
            for (; r < rows; r++) {
                float s = half ? dotPairHalf(w, row, x, r * in, vectorEnd) : dotPair(w, row, x, r * in, vectorEnd);
                y[r * out + o] = s * unscaleOf(unscale, r) + rest(w, half, bias, biasHalf, row, x, r * in, vectorEnd, in, o);
            }
        }
    }

    /** Weight row {@code row} against token row x0, evens and odds in two accumulators added at the end. */
    private static float dotPair(ByteBuffer w, int row, float[] x, int x0, int vectorEnd) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            a0 = FloatVector.fromByteBuffer(F, w, 4 * (row + i), LE).fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = FloatVector.fromByteBuffer(F, w, 4 * (row + i + L), LE).fma(FloatVector.fromArray(F, x, x0 + i + L), a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** {@link #dotPair} for float16 weights, widened as in {@link #dotHalf}. */
    private static float dotPairHalf(ByteBuffer w, int row, float[] x, int x0, int vectorEnd) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            IntVector h = IntVector.fromByteBuffer(I, w, 2 * (row + i), LE);
            FloatVector even = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS)
                    .reinterpretAsFloats();
            FloatVector odd = h.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            a0 = even.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = odd.fma(FloatVector.fromArray(F, x, x0 + i + L), a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** One float32 weight row against four token rows from x0: sums[0..3], each as {@link #dotPair} adds. */
    private static void rowsFour(ByteBuffer w, int row, float[] x, int x0, int x1, int x2, int x3, int vectorEnd,
            float[] sums) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), e2 = FloatVector.zero(F), e3 = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            FloatVector u = FloatVector.fromByteBuffer(F, w, 4 * (row + i), LE);
            a0 = u.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = u.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = u.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = u.fma(FloatVector.fromArray(F, x, x3 + i), a3);
            u = FloatVector.fromByteBuffer(F, w, 4 * (row + i + L), LE);
            e0 = u.fma(FloatVector.fromArray(F, x, x0 + i + L), e0);
            e1 = u.fma(FloatVector.fromArray(F, x, x1 + i + L), e1);
            e2 = u.fma(FloatVector.fromArray(F, x, x2 + i + L), e2);
            e3 = u.fma(FloatVector.fromArray(F, x, x3 + i + L), e3);
        }
        sums[0] = a0.add(e0).reduceLanes(VectorOperators.ADD);
        sums[1] = a1.add(e1).reduceLanes(VectorOperators.ADD);
        sums[2] = a2.add(e2).reduceLanes(VectorOperators.ADD);
        sums[3] = a3.add(e3).reduceLanes(VectorOperators.ADD);
    }

    /** {@link #rowsFour} for float16 weights, widened as in {@link #dotHalf}. */
    private static void rowsFourHalf(ByteBuffer w, int row, float[] x, int x0, int x1, int x2, int x3, int vectorEnd,
            float[] sums) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), e2 = FloatVector.zero(F), e3 = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            IntVector h = IntVector.fromByteBuffer(I, w, 2 * (row + i), LE);
            FloatVector u = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS)
                    .reinterpretAsFloats();
            a0 = u.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = u.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = u.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = u.fma(FloatVector.fromArray(F, x, x3 + i), a3);
            u = h.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            e0 = u.fma(FloatVector.fromArray(F, x, x0 + i + L), e0);
            e1 = u.fma(FloatVector.fromArray(F, x, x1 + i + L), e1);
            e2 = u.fma(FloatVector.fromArray(F, x, x2 + i + L), e2);
            e3 = u.fma(FloatVector.fromArray(F, x, x3 + i + L), e3);
        }
        sums[0] = a0.add(e0).reduceLanes(VectorOperators.ADD);
        sums[1] = a1.add(e1).reduceLanes(VectorOperators.ADD);
        sums[2] = a2.add(e2).reduceLanes(VectorOperators.ADD);
        sums[3] = a3.add(e3).reduceLanes(VectorOperators.ADD);
    }

    /** Bytes of weight rows touched ahead of their products: well inside L1 and L2 (measured best of 16-128 KB). */
    private static final int TOUCH_BYTES = 16 * 1024;

    /** Keeps the touch loads alive: the compiler may not drop loads whose sum reaches a volatile field. */
    @SuppressWarnings("unused")
    private static volatile int touchSink;

    /**
     * One byte load per 64-byte line of {@code [fromByte, toByte)}, with nothing between them (a byte, not a
     * wider load, so that the last one never reaches past the buffer's end).
     */
    private static int touch(ByteBuffer w, int fromByte, int toByte) {
        int s = 0;
        for (int at = fromByte; at < toByte; at += 64) {
            s += w.get(at);
        }
        return s;
    }

    /** Output o for token rows [r0, rows), one dot product each. */
    private static void dots(ByteBuffer w, boolean half, ByteBuffer bias, boolean biasHalf, int in, int out, float[] x,
            float[] unscale, int rows, float[] y, int o, int vectorEnd) {
        int row = o * in;
        for (int r = 0; r < rows; r++) {
            float s = half ? dotHalf(w, row, x, r * in, vectorEnd) : dot(w, row, x, r * in, vectorEnd);
            y[r * out + o] = s * unscaleOf(unscale, r) + rest(w, half, bias, biasHalf, row, x, r * in, vectorEnd, in, o);
        }
    }

    /** What a dot product's vectors leave out: the inputs past the last whole vector pair, then the bias. */
    private static float rest(ByteBuffer w, boolean half, ByteBuffer bias, boolean biasHalf, int row, float[] x, int x0,
            int vectorEnd, int in, int o) {
        float t = vectorEnd == in ? 0f : tail(w, half, row, x, x0, vectorEnd, in);
        return t + biasAt(bias, biasHalf, o);
    }

    private static float dot(ByteBuffer w, int row, float[] x, int x0, int vectorEnd) {
        FloatVector a = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            a = FloatVector.fromByteBuffer(F, w, 4 * (row + i), LE).fma(FloatVector.fromArray(F, x, x0 + i), a);
            a = FloatVector.fromByteBuffer(F, w, 4 * (row + i + L), LE).fma(FloatVector.fromArray(F, x, x0 + i + L), a);
        }
        return a.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Weight rows {@code row} and {@code row + apart} against token row x0: sums[0] and sums[1], each added
     * in {@link #dot}'s order, in two independent accumulators.
     */
    private static void dotTwo(ByteBuffer w, int row, int apart, float[] x, int x0, int vectorEnd, float[] sums) {
        FloatVector a = FloatVector.zero(F);
        FloatVector b = FloatVector.zero(F);
        int other = row + apart;
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            FloatVector q0 = FloatVector.fromArray(F, x, x0 + i);
            FloatVector q1 = FloatVector.fromArray(F, x, x0 + i + L);
            a = FloatVector.fromByteBuffer(F, w, 4 * (row + i), LE).fma(q0, a);
            b = FloatVector.fromByteBuffer(F, w, 4 * (other + i), LE).fma(q0, b);
            a = FloatVector.fromByteBuffer(F, w, 4 * (row + i + L), LE).fma(q1, a);
            b = FloatVector.fromByteBuffer(F, w, 4 * (other + i + L), LE).fma(q1, b);
        }
        sums[0] = a.reduceLanes(VectorOperators.ADD);
        sums[1] = b.reduceLanes(VectorOperators.ADD);
    }

    /** {@link #dotTwo} for float16 weights, each row widened and added as {@link #dotHalf} does. */
    private static void dotHalfTwo(ByteBuffer w, int row, int apart, float[] x, int x0, int vectorEnd, float[] sums) {
        FloatVector a = FloatVector.zero(F);
        FloatVector b = FloatVector.zero(F);
        int other = row + apart;
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            IntVector h = IntVector.fromByteBuffer(I, w, 2 * (row + i), LE);
            IntVector g = IntVector.fromByteBuffer(I, w, 2 * (other + i), LE);
            FloatVector q0 = FloatVector.fromArray(F, x, x0 + i);
            FloatVector q1 = FloatVector.fromArray(F, x, x0 + i + L);
            a = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(q0, a);
            b = g.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(q0, b);
            a = h.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(q1, a);
            b = g.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(q1, b);
        }
        sums[0] = a.reduceLanes(VectorOperators.ADD);
        sums[1] = b.reduceLanes(VectorOperators.ADD);
    }

    /**
     * float16 weights against x in {@link #evensThenOdds} order. One int load holds 2L halves, the even ones
     * in the low 16 bits. Each is widened with int operations only (Java 17 runs the short-to-int vector
     * conversion through a slow generic path): moved to the top 16 bits, shifted arithmetically by 3 (sign
     * stays at bit 31, exponent and mantissa land in a float's places), the sign copies and the other half
     * masked off: the float16 value times 2^-112 (subnormals included; weights are finite), which x, scaled
     * by 2^112 in {@link #halfInput}, multiplies back to the exact product. Written out in every
     * kernel rather than in a helper: vectors handed to a method that is not inlined are boxed.
     */
    private static float dotHalf(ByteBuffer w, int row, float[] x, int x0, int vectorEnd) {
        FloatVector a = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            IntVector h = IntVector.fromByteBuffer(I, w, 2 * (row + i), LE);
            FloatVector even = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS)
                    .reinterpretAsFloats();
            FloatVector odd = h.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            a = even.fma(FloatVector.fromArray(F, x, x0 + i), a);
            a = odd.fma(FloatVector.fromArray(F, x, x0 + i + L), a);
        }
        return a.reduceLanes(VectorOperators.ADD);
    }

    /** A float16's sign, exponent and mantissa after the shift by 3: bit 31 and bits 27..13. */
    static final int HALF_BITS = 0x8fffe000;

    /**
     * Four float32 weight rows (row, row+in, ...) against four token rows (x0, x0+in, ...): sums[4k + j] for
     * weight row k and token row j, each as {@link #dot} adds. Sixteen accumulators, four weight vectors and
     * one input vector: AVX-512's 32 registers hold them (AVX2's sixteen spill some).
     */
    private static void quad(ByteBuffer w, int row, int in, float[] x, int x0, int x1, int x2, int x3, int vectorEnd,
            float[] sums) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F), b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        FloatVector d0 = FloatVector.zero(F), d1 = FloatVector.zero(F), d2 = FloatVector.zero(F), d3 = FloatVector.zero(F);
        int r1 = row + in;
        int r2 = r1 + in;
        int r3 = r2 + in;
        for (int i = 0; i < vectorEnd; i += L) {
            FloatVector u0 = FloatVector.fromByteBuffer(F, w, 4 * (row + i), LE);
            FloatVector u1 = FloatVector.fromByteBuffer(F, w, 4 * (r1 + i), LE);
            FloatVector u2 = FloatVector.fromByteBuffer(F, w, 4 * (r2 + i), LE);
            FloatVector u3 = FloatVector.fromByteBuffer(F, w, 4 * (r3 + i), LE);
            FloatVector q = FloatVector.fromArray(F, x, x0 + i);
            a0 = u0.fma(q, a0);
            b0 = u1.fma(q, b0);
            c0 = u2.fma(q, c0);
            d0 = u3.fma(q, d0);
            q = FloatVector.fromArray(F, x, x1 + i);
            a1 = u0.fma(q, a1);
            b1 = u1.fma(q, b1);
            c1 = u2.fma(q, c1);
            d1 = u3.fma(q, d1);
            q = FloatVector.fromArray(F, x, x2 + i);
            a2 = u0.fma(q, a2);
            b2 = u1.fma(q, b2);
            c2 = u2.fma(q, c2);
            d2 = u3.fma(q, d2);
            q = FloatVector.fromArray(F, x, x3 + i);
            a3 = u0.fma(q, a3);
            b3 = u1.fma(q, b3);
            c3 = u2.fma(q, c3);
            d3 = u3.fma(q, d3);
        }
        // Written out: handing vectors to a helper method boxes them.
        sums[0] = a0.reduceLanes(VectorOperators.ADD);
        sums[1] = a1.reduceLanes(VectorOperators.ADD);
        sums[2] = a2.reduceLanes(VectorOperators.ADD);
        sums[3] = a3.reduceLanes(VectorOperators.ADD);
        sums[4] = b0.reduceLanes(VectorOperators.ADD);
        sums[5] = b1.reduceLanes(VectorOperators.ADD);
        sums[6] = b2.reduceLanes(VectorOperators.ADD);
        sums[7] = b3.reduceLanes(VectorOperators.ADD);
        sums[8] = c0.reduceLanes(VectorOperators.ADD);
        sums[9] = c1.reduceLanes(VectorOperators.ADD);
        sums[10] = c2.reduceLanes(VectorOperators.ADD);
        sums[11] = c3.reduceLanes(VectorOperators.ADD);
        sums[12] = d0.reduceLanes(VectorOperators.ADD);
        sums[13] = d1.reduceLanes(VectorOperators.ADD);
        sums[14] = d2.reduceLanes(VectorOperators.ADD);
        sums[15] = d3.reduceLanes(VectorOperators.ADD);
    }

    /** {@link #quad} for float16 weights, widened as in {@link #dotHalf}: sums[4k + j], each as dotHalf adds. */
    private static void quadHalf(ByteBuffer w, int row, int in, float[] x, int x0, int x1, int x2, int x3, int vectorEnd,
            float[] sums) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F), b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        FloatVector d0 = FloatVector.zero(F), d1 = FloatVector.zero(F), d2 = FloatVector.zero(F), d3 = FloatVector.zero(F);
        int r1 = row + in;
        int r2 = r1 + in;
        int r3 = r2 + in;
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            IntVector h0 = IntVector.fromByteBuffer(I, w, 2 * (row + i), LE);
            IntVector h1 = IntVector.fromByteBuffer(I, w, 2 * (r1 + i), LE);
            IntVector h2 = IntVector.fromByteBuffer(I, w, 2 * (r2 + i), LE);
            IntVector h3 = IntVector.fromByteBuffer(I, w, 2 * (r3 + i), LE);
            // The even halves against inputs i..i+L.
            FloatVector u0 = h0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector u1 = h1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector u2 = h2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector u3 = h3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector q = FloatVector.fromArray(F, x, x0 + i);
            a0 = u0.fma(q, a0);
            b0 = u1.fma(q, b0);
            c0 = u2.fma(q, c0);
            d0 = u3.fma(q, d0);
            q = FloatVector.fromArray(F, x, x1 + i);
            a1 = u0.fma(q, a1);
            b1 = u1.fma(q, b1);
            c1 = u2.fma(q, c1);
            d1 = u3.fma(q, d1);
            q = FloatVector.fromArray(F, x, x2 + i);
            a2 = u0.fma(q, a2);
            b2 = u1.fma(q, b2);
            c2 = u2.fma(q, c2);
            d2 = u3.fma(q, d2);
            q = FloatVector.fromArray(F, x, x3 + i);
            a3 = u0.fma(q, a3);
            b3 = u1.fma(q, b3);
            c3 = u2.fma(q, c3);
            d3 = u3.fma(q, d3);
            // The odd halves against inputs i+L..i+2L.
            u0 = h0.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            u1 = h1.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            u2 = h2.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            u3 = h3.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            q = FloatVector.fromArray(F, x, x0 + i + L);
            a0 = u0.fma(q, a0);
            b0 = u1.fma(q, b0);
            c0 = u2.fma(q, c0);
            d0 = u3.fma(q, d0);
            q = FloatVector.fromArray(F, x, x1 + i + L);
            a1 = u0.fma(q, a1);
            b1 = u1.fma(q, b1);
            c1 = u2.fma(q, c1);
            d1 = u3.fma(q, d1);
            q = FloatVector.fromArray(F, x, x2 + i + L);
            a2 = u0.fma(q, a2);
            b2 = u1.fma(q, b2);
            c2 = u2.fma(q, c2);
            d2 = u3.fma(q, d2);
            q = FloatVector.fromArray(F, x, x3 + i + L);
            a3 = u0.fma(q, a3);
            b3 = u1.fma(q, b3);
            c3 = u2.fma(q, c3);
            d3 = u3.fma(q, d3);
        }
        sums[0] = a0.reduceLanes(VectorOperators.ADD);
        sums[1] = a1.reduceLanes(VectorOperators.ADD);
        sums[2] = a2.reduceLanes(VectorOperators.ADD);
        sums[3] = a3.reduceLanes(VectorOperators.ADD);
        sums[4] = b0.reduceLanes(VectorOperators.ADD);
        sums[5] = b1.reduceLanes(VectorOperators.ADD);
        sums[6] = b2.reduceLanes(VectorOperators.ADD);
        sums[7] = b3.reduceLanes(VectorOperators.ADD);
        sums[8] = c0.reduceLanes(VectorOperators.ADD);
        sums[9] = c1.reduceLanes(VectorOperators.ADD);
        sums[10] = c2.reduceLanes(VectorOperators.ADD);
        sums[11] = c3.reduceLanes(VectorOperators.ADD);
        sums[12] = d0.reduceLanes(VectorOperators.ADD);
        sums[13] = d1.reduceLanes(VectorOperators.ADD);
        sums[14] = d2.reduceLanes(VectorOperators.ADD);
        sums[15] = d3.reduceLanes(VectorOperators.ADD);
    }

    /** The inputs past the last whole vector pair, in order. */
    private static float tail(ByteBuffer w, boolean half, int row, float[] x, int x0, int vectorEnd, int in) {
        float s = 0f;
        for (int i = vectorEnd; i < in; i++) {
            s += scalar(w, half, row + i) * x[x0 + i];
        }
        return s;
    }

    static float biasAt(ByteBuffer bias, boolean biasHalf, int o) {
        return bias == null ? 0f : scalar(bias, biasHalf, o);
    }

    /**
     * Partial sums over inputs {@code [from, to)} of x·W for W stored {@code [in, out]} (GPT-2's Conv1D, float32).
     * partial: [rows, out], overwritten. Every output adds the inputs in one order, whatever the rows: the
     * block's two halves in step (its first input, the first of its second half, its second, the second of
     * the second half, and so on), then the last input if the block is odd. Taken in this order, one token
     * row adds two weight rows far apart into its partial sums with one load and one store of them
     * ({@link #scaleRows}): a load and a store per weight vector had held one core to about 25 GB/s. A
     * GPT-2-small step's layer products alone, two threads, alternated twice: batch 1 9.9-10.4 to 6.9-7.6 ms
     * (one thread, the same loops in a standalone copy: 13.4-13.7 to 10.2-10.5). Several token rows read the
     * two rows' column tiles side by side, which measured faster too (batch 8 14.9-18.0 to 12.3-14.0 ms).
     * Adjacent weight rows read side by side ran twice as slow, as with the output-major kernels, and four
     * rows at a time gained nothing more.
     */
    static void inputMajor(ByteBuffer w, int in, int out, float[] x, int rows, float[] partial, int from, int to) {
        int vectorEnd = out - out % L;
        int half = (to - from) / 2;
        if (rows == 1) {
            java.util.Arrays.fill(partial, 0, out, 0f);
            for (int k = from; k < from + half; k++) {
                scaleRows(w, k * out, (k + half) * out, x[k], x[k + half], partial, vectorEnd);
            }
        } else {
            // A tile of columns for up to four token rows stays in registers over all inputs; the tile's
            // weights (4L columns × inputs) stay in cache for the next four rows.
            int tileEnd = out - out % (2 * L);
            int c = 0;
            for (; c + 4 * L <= tileEnd; c += 4 * L) {
                // Four vectors of columns (a longer contiguous read per weight row) for four token rows.
                int r = 0;
                for (; r + 4 <= rows; r += 4) {
                    tile4x4(w, out, c, x, r * in, (r + 1) * in, (r + 2) * in, (r + 3) * in, from, half, partial,
                            r * out + c, (r + 1) * out + c, (r + 2) * out + c, (r + 3) * out + c);
                }
                if (rows - r >= 2) {
                    // Two or three rows left: the same tile, the last row standing in for the missing ones. Its
                    // stand-ins compute the same bits and store them to the same place; the spare multiply-adds
                    // cost less than reading the tile in narrow strips, twice: the layers' products alone, two
                    // threads, batch 2 13.3-16.2 -> 9.5-12.4 ms, batch 3 17.5-19.2 -> 9.4-12.7 (alternated twice).
                    int last = rows - 1;
                    tile4x4(w, out, c, x, r * in, (r + 1) * in, last * in, last * in, from, half, partial,
                            r * out + c, (r + 1) * out + c, last * out + c, last * out + c);
                } else {
                    narrowTiles(w, in, out, c, c + 4 * L, x, r, rows, partial, from, half);
                }
            }
            narrowTiles(w, in, out, c, tileEnd, x, 0, rows, partial, from, half);
            for (int cv = tileEnd; cv < vectorEnd; cv += L) {
                for (int r = 0; r < rows; r++) {
                    FloatVector acc = FloatVector.zero(F);
                    for (int k = from; k < from + half; k++) {
                        acc = FloatVector.fromByteBuffer(F, w, 4 * (k * out + cv), LE).fma(FloatVector.broadcast(F, x[r * in + k]), acc);
                        acc = FloatVector.fromByteBuffer(F, w, 4 * ((k + half) * out + cv), LE).fma(FloatVector.broadcast(F, x[r * in + k + half]), acc);
                    }
                    acc.intoArray(partial, r * out + cv);
                }
            }
        }
        for (int c = vectorEnd; c < out; c++) {
            for (int r = 0; r < rows; r++) {
                float acc = 0f;
                for (int k = from; k < from + half; k++) {
                    acc = Math.fma(w.getFloat(4 * (k * out + c)), x[r * in + k], acc);
                    acc = Math.fma(w.getFloat(4 * ((k + half) * out + c)), x[r * in + k + half], acc);
                }
                partial[r * out + c] = acc;
            }
        }
        if (from + 2 * half < to) { // an odd block: its last input, added last to every sum
            int last = to - 1;
            for (int r = 0; r < rows; r++) {
                scaleRow(w, last * out, x[r * in + last], partial, r * out, vectorEnd);
                for (int c = vectorEnd; c < out; c++) {
                    partial[r * out + c] = Math.fma(w.getFloat(4 * (last * out + c)), x[r * in + last], partial[r * out + c]);
                }
            }
        }
    }

    /** partial += xa·(weight row at wa), then += xb·(weight row at wb), element by element. */
    private static void scaleRows(ByteBuffer w, int wa, int wb, float xa, float xb, float[] partial, int vectorEnd) {
        FloatVector s = FloatVector.broadcast(F, xa);
        FloatVector t = FloatVector.broadcast(F, xb);
        for (int c = 0; c < vectorEnd; c += L) {
            FloatVector sum = FloatVector.fromByteBuffer(F, w, 4 * (wa + c), LE).fma(s, FloatVector.fromArray(F, partial, c));
            FloatVector.fromByteBuffer(F, w, 4 * (wb + c), LE).fma(t, sum).intoArray(partial, c);
        }
    }

    /** partial[at, at + vectorEnd) += xi·(weight row at w0). */
    private static void scaleRow(ByteBuffer w, int w0, float xi, float[] partial, int at, int vectorEnd) {
        FloatVector s = FloatVector.broadcast(F, xi);
        for (int c = 0; c < vectorEnd; c += L) {
            FloatVector.fromByteBuffer(F, w, 4 * (w0 + c), LE).fma(s, FloatVector.fromArray(F, partial, at + c)).intoArray(partial, at + c);
        }
    }

    /** Columns [c0, c1) (multiples of 2L) for token rows [r0, rows), two vectors of columns at a time. */
    private static void narrowTiles(ByteBuffer w, int in, int out, int c0, int c1, float[] x, int r0, int rows,
            float[] partial, int from, int half) {
        for (int c = c0; c < c1; c += 2 * L) {
            int r = r0;
            for (; r + 4 <= rows; r += 4) {
                tileQuad(w, out, c, x, r * in, in, from, half, partial, r * out + c, out);
            }
            for (; r + 2 <= rows; r += 2) {
                tilePair(w, out, c, x, r * in, (r + 1) * in, from, half, partial, r * out + c, (r + 1) * out + c);
            }
            if (r < rows) {
                tile(w, out, c, x, r * in, from, half, partial, r * out + c);
            }
        }
    }

    /*
     * The tiles below add the pairs of inputs (k, k + half) for k in [from, from + half); each loop body is
     * written out once per input of the pair, so that each load keeps one stride (one body indexed by
     * either input measured 2.5x slower), and once per vector (a helper method would box them).
     */

    /** Token rows at xa, xb, xc, xd in x, their sums stored at pa, pb, pc, pd in partial. */
    private static void tile4x4(ByteBuffer w, int out, int c, float[] x, int xa, int xb, int xc, int xd, int from,
            int half, float[] partial, int pa, int pb, int pc, int pd) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F), b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        FloatVector d0 = FloatVector.zero(F), d1 = FloatVector.zero(F), d2 = FloatVector.zero(F), d3 = FloatVector.zero(F);
        for (int k = from; k < from + half; k++) {
            int base = 4 * (k * out + c);
            FloatVector k0 = FloatVector.fromByteBuffer(F, w, base, LE);
            FloatVector k1 = FloatVector.fromByteBuffer(F, w, base + 4 * L, LE);
            FloatVector k2 = FloatVector.fromByteBuffer(F, w, base + 8 * L, LE);
            FloatVector k3 = FloatVector.fromByteBuffer(F, w, base + 12 * L, LE);
            FloatVector u = FloatVector.broadcast(F, x[xa + k]);
            a0 = k0.fma(u, a0);
            a1 = k1.fma(u, a1);
            a2 = k2.fma(u, a2);
            a3 = k3.fma(u, a3);
            u = FloatVector.broadcast(F, x[xb + k]);
            b0 = k0.fma(u, b0);
            b1 = k1.fma(u, b1);
            b2 = k2.fma(u, b2);
            b3 = k3.fma(u, b3);
            u = FloatVector.broadcast(F, x[xc + k]);
            c0 = k0.fma(u, c0);
            c1 = k1.fma(u, c1);
            c2 = k2.fma(u, c2);
            c3 = k3.fma(u, c3);
            u = FloatVector.broadcast(F, x[xd + k]);
            d0 = k0.fma(u, d0);
            d1 = k1.fma(u, d1);
            d2 = k2.fma(u, d2);
            d3 = k3.fma(u, d3);
            int j = k + half;
            base = 4 * (j * out + c);
            k0 = FloatVector.fromByteBuffer(F, w, base, LE);
            k1 = FloatVector.fromByteBuffer(F, w, base + 4 * L, LE);
            k2 = FloatVector.fromByteBuffer(F, w, base + 8 * L, LE);
            k3 = FloatVector.fromByteBuffer(F, w, base + 12 * L, LE);
            u = FloatVector.broadcast(F, x[xa + j]);
            a0 = k0.fma(u, a0);
            a1 = k1.fma(u, a1);
            a2 = k2.fma(u, a2);
            a3 = k3.fma(u, a3);
            u = FloatVector.broadcast(F, x[xb + j]);
            b0 = k0.fma(u, b0);
            b1 = k1.fma(u, b1);
            b2 = k2.fma(u, b2);
            b3 = k3.fma(u, b3);
            u = FloatVector.broadcast(F, x[xc + j]);
            c0 = k0.fma(u, c0);
            c1 = k1.fma(u, c1);
            c2 = k2.fma(u, c2);
            c3 = k3.fma(u, c3);
            u = FloatVector.broadcast(F, x[xd + j]);
            d0 = k0.fma(u, d0);
            d1 = k1.fma(u, d1);
            d2 = k2.fma(u, d2);
            d3 = k3.fma(u, d3);
        }
        a0.intoArray(partial, pa);
        a1.intoArray(partial, pa + L);
        a2.intoArray(partial, pa + 2 * L);
        a3.intoArray(partial, pa + 3 * L);
        b0.intoArray(partial, pb);
        b1.intoArray(partial, pb + L);
        b2.intoArray(partial, pb + 2 * L);
        b3.intoArray(partial, pb + 3 * L);
        c0.intoArray(partial, pc);
        c1.intoArray(partial, pc + L);
        c2.intoArray(partial, pc + 2 * L);
        c3.intoArray(partial, pc + 3 * L);
        d0.intoArray(partial, pd);
        d1.intoArray(partial, pd + L);
        d2.intoArray(partial, pd + 2 * L);
        d3.intoArray(partial, pd + 3 * L);
    }

    private static void tileQuad(ByteBuffer w, int out, int c, float[] x, int x0, int in, int from, int half,
            float[] partial, int at, int stride) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), b0 = FloatVector.zero(F), b1 = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), d0 = FloatVector.zero(F), d1 = FloatVector.zero(F);
        for (int k = from; k < from + half; k++) {
            FloatVector k0 = FloatVector.fromByteBuffer(F, w, 4 * (k * out + c), LE);
            FloatVector k1 = FloatVector.fromByteBuffer(F, w, 4 * (k * out + c + L), LE);
            a0 = k0.fma(FloatVector.broadcast(F, x[x0 + k]), a0);
            a1 = k1.fma(FloatVector.broadcast(F, x[x0 + k]), a1);
            b0 = k0.fma(FloatVector.broadcast(F, x[x0 + in + k]), b0);
            b1 = k1.fma(FloatVector.broadcast(F, x[x0 + in + k]), b1);
            c0 = k0.fma(FloatVector.broadcast(F, x[x0 + 2 * in + k]), c0);
            c1 = k1.fma(FloatVector.broadcast(F, x[x0 + 2 * in + k]), c1);
            d0 = k0.fma(FloatVector.broadcast(F, x[x0 + 3 * in + k]), d0);
            d1 = k1.fma(FloatVector.broadcast(F, x[x0 + 3 * in + k]), d1);
            int j = k + half;
            k0 = FloatVector.fromByteBuffer(F, w, 4 * (j * out + c), LE);
            k1 = FloatVector.fromByteBuffer(F, w, 4 * (j * out + c + L), LE);
            a0 = k0.fma(FloatVector.broadcast(F, x[x0 + j]), a0);
            a1 = k1.fma(FloatVector.broadcast(F, x[x0 + j]), a1);
            b0 = k0.fma(FloatVector.broadcast(F, x[x0 + in + j]), b0);
            b1 = k1.fma(FloatVector.broadcast(F, x[x0 + in + j]), b1);
            c0 = k0.fma(FloatVector.broadcast(F, x[x0 + 2 * in + j]), c0);
            c1 = k1.fma(FloatVector.broadcast(F, x[x0 + 2 * in + j]), c1);
            d0 = k0.fma(FloatVector.broadcast(F, x[x0 + 3 * in + j]), d0);
            d1 = k1.fma(FloatVector.broadcast(F, x[x0 + 3 * in + j]), d1);
        }
        a0.intoArray(partial, at);
        a1.intoArray(partial, at + L);
        b0.intoArray(partial, at + stride);
        b1.intoArray(partial, at + stride + L);
        c0.intoArray(partial, at + 2 * stride);
        c1.intoArray(partial, at + 2 * stride + L);
        d0.intoArray(partial, at + 3 * stride);
        d1.intoArray(partial, at + 3 * stride + L);
    }

    private static void tilePair(ByteBuffer w, int out, int c, float[] x, int x0, int x1, int from, int half,
            float[] partial, int at0, int at1) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F);
        FloatVector b1 = FloatVector.zero(F);
        for (int k = from; k < from + half; k++) {
            FloatVector k0 = FloatVector.fromByteBuffer(F, w, 4 * (k * out + c), LE);
            FloatVector k1 = FloatVector.fromByteBuffer(F, w, 4 * (k * out + c + L), LE);
            a0 = k0.fma(FloatVector.broadcast(F, x[x0 + k]), a0);
            a1 = k1.fma(FloatVector.broadcast(F, x[x0 + k]), a1);
            b0 = k0.fma(FloatVector.broadcast(F, x[x1 + k]), b0);
            b1 = k1.fma(FloatVector.broadcast(F, x[x1 + k]), b1);
            int j = k + half;
            k0 = FloatVector.fromByteBuffer(F, w, 4 * (j * out + c), LE);
            k1 = FloatVector.fromByteBuffer(F, w, 4 * (j * out + c + L), LE);
            a0 = k0.fma(FloatVector.broadcast(F, x[x0 + j]), a0);
            a1 = k1.fma(FloatVector.broadcast(F, x[x0 + j]), a1);
            b0 = k0.fma(FloatVector.broadcast(F, x[x1 + j]), b0);
            b1 = k1.fma(FloatVector.broadcast(F, x[x1 + j]), b1);
        }
        a0.intoArray(partial, at0);
        a1.intoArray(partial, at0 + L);
        b0.intoArray(partial, at1);
        b1.intoArray(partial, at1 + L);
    }

    private static void tile(ByteBuffer w, int out, int c, float[] x, int x0, int from, int half, float[] partial, int at) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int k = from; k < from + half; k++) {
            FloatVector u = FloatVector.broadcast(F, x[x0 + k]);
            a0 = FloatVector.fromByteBuffer(F, w, 4 * (k * out + c), LE).fma(u, a0);
            a1 = FloatVector.fromByteBuffer(F, w, 4 * (k * out + c + L), LE).fma(u, a1);
            int j = k + half;
            u = FloatVector.broadcast(F, x[x0 + j]);
            a0 = FloatVector.fromByteBuffer(F, w, 4 * (j * out + c), LE).fma(u, a0);
            a1 = FloatVector.fromByteBuffer(F, w, 4 * (j * out + c + L), LE).fma(u, a1);
        }
        a0.intoArray(partial, at);
        a1.intoArray(partial, at + L);
    }
}
