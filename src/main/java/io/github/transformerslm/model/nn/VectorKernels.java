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
    private static final float HALF_EXPONENT_SHIFT = 0x1.0p112f;
    /**
     * Token rows that meet a weight row while it is in registers: eight need sixteen accumulators, which
     * only AVX-512's 32 registers hold; AVX2's sixteen take four.
     */
    static final int ROWS_PER_READ = L >= 16 ? 8 : 4;

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
            outputMajor(single, false, null, false, in, out, x, r, y, 0, out);
            if (!agrees(y, single, false, x, r, in, out, false)) {
                return false;
            }
            outputMajor(half, true, null, false, in, out, evensThenOdds(x, r, in, null), r, y, 0, out);
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

    private static float scalar(ByteBuffer w, boolean half, int element) {
        return half ? Float.intBitsToFloat(((w.getShort(2 * element) & 0x8000) << 16)
                | Float.floatToRawIntBits(Float.intBitsToFloat((w.getShort(2 * element) & 0x7fff) << 13) * HALF_EXPONENT_SHIFT))
                : w.getFloat(4 * element);
    }

    /**
     * Outputs {@code [from, to)} of y = x·Wᵀ + b for W stored {@code [out, in]}: one dot product per output
     * and token row. x: [rows, in], y: [rows, out]. Every output is accumulated over the inputs in the same
     * order (vectors at even and odd positions in two accumulators, added at the end), so a row's result
     * does not depend on the rows beside it.
     *
     * <p>Each weight row is read once, straight from its buffer, and met by up to {@link #ROWS_PER_READ} token
     * rows while it is in registers (float16 widened there once). Nothing is written but the sums: an earlier
     * version copied (or widened) weight rows into a scratch array first, and those stores, queued behind
     * loads from memory, halved the rate at which the weights streamed in (measured: widening into scratch
     * 16 GB/s on one core, widening in registers 30 GB/s, a plain read 33 GB/s). The float32 and float16 loops
     * are separate methods on purpose: a vector that may come from either load path merges two values,
     * which Java 17's compiler cannot keep in registers (measured 3x slower).
     */
    static void outputMajor(ByteBuffer w, boolean half, ByteBuffer bias, boolean biasHalf, int in, int out,
            float[] x, int rows, float[] y, int from, int to) {
        int vectorEnd = in - in % (2 * L);
        float[] sums = new float[ROWS_PER_READ];
        for (int o = from; o < to; o++) {
            int row = o * in;
            float b = biasAt(bias, biasHalf, o);
            for (int r = 0; r < rows; ) {
                int group = rows - r >= 8 && ROWS_PER_READ == 8 ? 8 : rows - r >= 4 ? 4 : 1;
                int x0 = r * in;
                if (group == 8) {
                    if (half) {
                        rows8Half(w, row, x, x0, in, vectorEnd, sums);
                    } else {
                        rows8(w, row, x, x0, in, vectorEnd, sums);
                    }
                } else if (group == 4) {
                    if (half) {
                        rows4Half(w, row, x, x0, in, vectorEnd, sums);
                    } else {
                        rows4(w, row, x, x0, in, vectorEnd, sums);
                    }
                } else {
                    sums[0] = half ? dotHalf(w, row, x, x0, vectorEnd) : dot(w, row, x, x0, vectorEnd);
                }
                for (int j = 0; j < group; j++) {
                    float t = vectorEnd == in ? 0f : tail(w, half, row, x, x0 + j * in, vectorEnd, in);
                    y[(r + j) * out + o] = sums[j] + t + b;
                }
                r += group;
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

    /**
     * float16 weights against x in {@link #evensThenOdds} order. One int load holds 2L halves; each is widened
     * with int operations only (Java 17 runs the short-to-int vector conversion through a slow generic path):
     * exponent and mantissa shifted into a float's places and rescaled by 2^112 (subnormals included;
     * weights are finite), then the sign put back. Written out in every kernel rather than in a helper:
     * vectors handed to a method that is not inlined are boxed.
     */
    private static float dotHalf(ByteBuffer w, int row, float[] x, int x0, int vectorEnd) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            IntVector h = IntVector.fromByteBuffer(I, w, 2 * (row + i), LE);
            IntVector even = h.and(0xffff);
            IntVector odd = h.lanewise(VectorOperators.LSHR, 16);
            FloatVector we = even.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_SHIFT)
                    .reinterpretAsInts().or(even.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            FloatVector wo = odd.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_SHIFT)
                    .reinterpretAsInts().or(odd.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            a0 = we.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = wo.fma(FloatVector.fromArray(F, x, x0 + i + L), a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** One float32 weight row against 8 token rows from x0: sums[0..7], each as {@link #dot} adds. */
    private static void rows8(ByteBuffer w, int row, float[] x, int x0, int in, int vectorEnd, float[] sums) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector a4 = FloatVector.zero(F), a5 = FloatVector.zero(F), a6 = FloatVector.zero(F), a7 = FloatVector.zero(F);
        FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), e2 = FloatVector.zero(F), e3 = FloatVector.zero(F);
        FloatVector e4 = FloatVector.zero(F), e5 = FloatVector.zero(F), e6 = FloatVector.zero(F), e7 = FloatVector.zero(F);
        int x1 = x0 + in;
        int x2 = x1 + in;
        int x3 = x2 + in;
        int x4 = x3 + in;
        int x5 = x4 + in;
        int x6 = x5 + in;
        int x7 = x6 + in;
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            FloatVector u = FloatVector.fromByteBuffer(F, w, 4 * (row + i), LE);
            a0 = u.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = u.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = u.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = u.fma(FloatVector.fromArray(F, x, x3 + i), a3);
            a4 = u.fma(FloatVector.fromArray(F, x, x4 + i), a4);
            a5 = u.fma(FloatVector.fromArray(F, x, x5 + i), a5);
            a6 = u.fma(FloatVector.fromArray(F, x, x6 + i), a6);
            a7 = u.fma(FloatVector.fromArray(F, x, x7 + i), a7);
            u = FloatVector.fromByteBuffer(F, w, 4 * (row + i + L), LE);
            e0 = u.fma(FloatVector.fromArray(F, x, x0 + i + L), e0);
            e1 = u.fma(FloatVector.fromArray(F, x, x1 + i + L), e1);
            e2 = u.fma(FloatVector.fromArray(F, x, x2 + i + L), e2);
            e3 = u.fma(FloatVector.fromArray(F, x, x3 + i + L), e3);
            e4 = u.fma(FloatVector.fromArray(F, x, x4 + i + L), e4);
            e5 = u.fma(FloatVector.fromArray(F, x, x5 + i + L), e5);
            e6 = u.fma(FloatVector.fromArray(F, x, x6 + i + L), e6);
            e7 = u.fma(FloatVector.fromArray(F, x, x7 + i + L), e7);
        }
        sums[0] = a0.add(e0).reduceLanes(VectorOperators.ADD);
        sums[1] = a1.add(e1).reduceLanes(VectorOperators.ADD);
        sums[2] = a2.add(e2).reduceLanes(VectorOperators.ADD);
        sums[3] = a3.add(e3).reduceLanes(VectorOperators.ADD);
        sums[4] = a4.add(e4).reduceLanes(VectorOperators.ADD);
        sums[5] = a5.add(e5).reduceLanes(VectorOperators.ADD);
        sums[6] = a6.add(e6).reduceLanes(VectorOperators.ADD);
        sums[7] = a7.add(e7).reduceLanes(VectorOperators.ADD);
    }

    /** One float16 weight row against 8 token rows from x0: sums[0..7], each as {@link #dotHalf} adds. */
    private static void rows8Half(ByteBuffer w, int row, float[] x, int x0, int in, int vectorEnd, float[] sums) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector a4 = FloatVector.zero(F), a5 = FloatVector.zero(F), a6 = FloatVector.zero(F), a7 = FloatVector.zero(F);
        FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), e2 = FloatVector.zero(F), e3 = FloatVector.zero(F);
        FloatVector e4 = FloatVector.zero(F), e5 = FloatVector.zero(F), e6 = FloatVector.zero(F), e7 = FloatVector.zero(F);
        int x1 = x0 + in;
        int x2 = x1 + in;
        int x3 = x2 + in;
        int x4 = x3 + in;
        int x5 = x4 + in;
        int x6 = x5 + in;
        int x7 = x6 + in;
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            IntVector h = IntVector.fromByteBuffer(I, w, 2 * (row + i), LE); // widened as in dotHalf
            IntVector hh = h.and(0xffff);
            FloatVector u = hh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_SHIFT)
                    .reinterpretAsInts().or(hh.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            a0 = u.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = u.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = u.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = u.fma(FloatVector.fromArray(F, x, x3 + i), a3);
            a4 = u.fma(FloatVector.fromArray(F, x, x4 + i), a4);
            a5 = u.fma(FloatVector.fromArray(F, x, x5 + i), a5);
            a6 = u.fma(FloatVector.fromArray(F, x, x6 + i), a6);
            a7 = u.fma(FloatVector.fromArray(F, x, x7 + i), a7);
            hh = h.lanewise(VectorOperators.LSHR, 16);
            u = hh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_SHIFT)
                    .reinterpretAsInts().or(hh.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            e0 = u.fma(FloatVector.fromArray(F, x, x0 + i + L), e0);
            e1 = u.fma(FloatVector.fromArray(F, x, x1 + i + L), e1);
            e2 = u.fma(FloatVector.fromArray(F, x, x2 + i + L), e2);
            e3 = u.fma(FloatVector.fromArray(F, x, x3 + i + L), e3);
            e4 = u.fma(FloatVector.fromArray(F, x, x4 + i + L), e4);
            e5 = u.fma(FloatVector.fromArray(F, x, x5 + i + L), e5);
            e6 = u.fma(FloatVector.fromArray(F, x, x6 + i + L), e6);
            e7 = u.fma(FloatVector.fromArray(F, x, x7 + i + L), e7);
        }
        sums[0] = a0.add(e0).reduceLanes(VectorOperators.ADD);
        sums[1] = a1.add(e1).reduceLanes(VectorOperators.ADD);
        sums[2] = a2.add(e2).reduceLanes(VectorOperators.ADD);
        sums[3] = a3.add(e3).reduceLanes(VectorOperators.ADD);
        sums[4] = a4.add(e4).reduceLanes(VectorOperators.ADD);
        sums[5] = a5.add(e5).reduceLanes(VectorOperators.ADD);
        sums[6] = a6.add(e6).reduceLanes(VectorOperators.ADD);
        sums[7] = a7.add(e7).reduceLanes(VectorOperators.ADD);
    }

    /** One float32 weight row against 4 token rows from x0: sums[0..3], each as {@link #dot} adds. */
    private static void rows4(ByteBuffer w, int row, float[] x, int x0, int in, int vectorEnd, float[] sums) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), e2 = FloatVector.zero(F), e3 = FloatVector.zero(F);
        int x1 = x0 + in;
        int x2 = x1 + in;
        int x3 = x2 + in;
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

    /** One float16 weight row against 4 token rows from x0: sums[0..3], each as {@link #dotHalf} adds. */
    private static void rows4Half(ByteBuffer w, int row, float[] x, int x0, int in, int vectorEnd, float[] sums) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), e2 = FloatVector.zero(F), e3 = FloatVector.zero(F);
        int x1 = x0 + in;
        int x2 = x1 + in;
        int x3 = x2 + in;
        for (int i = 0; i < vectorEnd; i += 2 * L) {
            IntVector h = IntVector.fromByteBuffer(I, w, 2 * (row + i), LE); // widened as in dotHalf
            IntVector hh = h.and(0xffff);
            FloatVector u = hh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_SHIFT)
                    .reinterpretAsInts().or(hh.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            a0 = u.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = u.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = u.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = u.fma(FloatVector.fromArray(F, x, x3 + i), a3);
            hh = h.lanewise(VectorOperators.LSHR, 16);
            u = hh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_SHIFT)
                    .reinterpretAsInts().or(hh.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
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
            // Several: keep a tile of columns for up to four token rows in registers over all inputs; the tile's
            // weights (4L columns × inputs) stay in cache for the next four rows.
            int tileEnd = out - out % (2 * L);
            int c = 0;
            for (; c + 4 * L <= tileEnd; c += 4 * L) {
                // Four vectors of columns (a longer contiguous read per weight row) for four token rows.
                int r = 0;
                for (; r + 4 <= rows; r += 4) {
                    tile4x4(w, out, c, x, r * in, in, from, to, partial, r * out + c, out);
                }
                narrowTiles(w, in, out, c, c + 4 * L, x, r, rows, partial, from, to);
            }
            narrowTiles(w, in, out, c, tileEnd, x, 0, rows, partial, from, to);
            for (int cv = tileEnd; cv < vectorEnd; cv += L) {
                for (int r = 0; r < rows; r++) {
                    FloatVector acc = FloatVector.zero(F);
                    for (int i = from; i < to; i++) {
                        acc = FloatVector.fromByteBuffer(F, w, 4 * (i * out + cv), LE).fma(FloatVector.broadcast(F, x[r * in + i]), acc);
                    }
                    acc.intoArray(partial, r * out + cv);
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

    /** Columns [c0, c1) (multiples of 2L) for token rows [r0, rows), two vectors of columns at a time. */
    private static void narrowTiles(ByteBuffer w, int in, int out, int c0, int c1, float[] x, int r0, int rows,
            float[] partial, int from, int to) {
        for (int c = c0; c < c1; c += 2 * L) {
            int r = r0;
            for (; r + 4 <= rows; r += 4) {
                tileQuad(w, out, c, x, r * in, in, from, to, partial, r * out + c, out);
            }
            for (; r + 2 <= rows; r += 2) {
                tilePair(w, out, c, x, r * in, (r + 1) * in, from, to, partial, r * out + c, (r + 1) * out + c);
            }
            if (r < rows) {
                tile(w, out, c, x, r * in, from, to, partial, r * out + c);
            }
        }
    }

    private static void tile4x4(ByteBuffer w, int out, int c, float[] x, int x0, int in, int from, int to,
            float[] partial, int at, int stride) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F), b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        FloatVector d0 = FloatVector.zero(F), d1 = FloatVector.zero(F), d2 = FloatVector.zero(F), d3 = FloatVector.zero(F);
        for (int i = from; i < to; i++) {
            int base = 4 * (i * out + c);
            FloatVector k0 = FloatVector.fromByteBuffer(F, w, base, LE);
            FloatVector k1 = FloatVector.fromByteBuffer(F, w, base + 4 * L, LE);
            FloatVector k2 = FloatVector.fromByteBuffer(F, w, base + 8 * L, LE);
            FloatVector k3 = FloatVector.fromByteBuffer(F, w, base + 12 * L, LE);
            FloatVector u = FloatVector.broadcast(F, x[x0 + i]);
            a0 = k0.fma(u, a0);
            a1 = k1.fma(u, a1);
            a2 = k2.fma(u, a2);
            a3 = k3.fma(u, a3);
            FloatVector v = FloatVector.broadcast(F, x[x0 + in + i]);
            b0 = k0.fma(v, b0);
            b1 = k1.fma(v, b1);
            b2 = k2.fma(v, b2);
            b3 = k3.fma(v, b3);
            FloatVector s = FloatVector.broadcast(F, x[x0 + 2 * in + i]);
            c0 = k0.fma(s, c0);
            c1 = k1.fma(s, c1);
            c2 = k2.fma(s, c2);
            c3 = k3.fma(s, c3);
            FloatVector t = FloatVector.broadcast(F, x[x0 + 3 * in + i]);
            d0 = k0.fma(t, d0);
            d1 = k1.fma(t, d1);
            d2 = k2.fma(t, d2);
            d3 = k3.fma(t, d3);
        }
        // Written out: handing vectors to a helper method boxes them.
        a0.intoArray(partial, at);
        a1.intoArray(partial, at + L);
        a2.intoArray(partial, at + 2 * L);
        a3.intoArray(partial, at + 3 * L);
        b0.intoArray(partial, at + stride);
        b1.intoArray(partial, at + stride + L);
        b2.intoArray(partial, at + stride + 2 * L);
        b3.intoArray(partial, at + stride + 3 * L);
        c0.intoArray(partial, at + 2 * stride);
        c1.intoArray(partial, at + 2 * stride + L);
        c2.intoArray(partial, at + 2 * stride + 2 * L);
        c3.intoArray(partial, at + 2 * stride + 3 * L);
        d0.intoArray(partial, at + 3 * stride);
        d1.intoArray(partial, at + 3 * stride + L);
        d2.intoArray(partial, at + 3 * stride + 2 * L);
        d3.intoArray(partial, at + 3 * stride + 3 * L);
    }


    private static void tileQuad(ByteBuffer w, int out, int c, float[] x, int x0, int in, int from, int to,
            float[] partial, int at, int stride) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), b0 = FloatVector.zero(F), b1 = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), d0 = FloatVector.zero(F), d1 = FloatVector.zero(F);
        for (int i = from; i < to; i++) {
            FloatVector k0 = FloatVector.fromByteBuffer(F, w, 4 * (i * out + c), LE);
            FloatVector k1 = FloatVector.fromByteBuffer(F, w, 4 * (i * out + c + L), LE);
            FloatVector u = FloatVector.broadcast(F, x[x0 + i]);
            FloatVector v = FloatVector.broadcast(F, x[x0 + in + i]);
            FloatVector s = FloatVector.broadcast(F, x[x0 + 2 * in + i]);
            FloatVector t = FloatVector.broadcast(F, x[x0 + 3 * in + i]);
            a0 = k0.fma(u, a0);
            a1 = k1.fma(u, a1);
            b0 = k0.fma(v, b0);
            b1 = k1.fma(v, b1);
            c0 = k0.fma(s, c0);
            c1 = k1.fma(s, c1);
            d0 = k0.fma(t, d0);
            d1 = k1.fma(t, d1);
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
