package io.github.transformerslm.model.nn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix products written with the Vector API over weights packed in column panels ({@link PanelWeights}):
 * panel p holds output columns [p·PANEL, (p+1)·PANEL) for every input, input after input, so a product
 * reads its weights as one sequential stream per thread, the layout that BLAS packs its right-hand matrix
 * into. The hardware prefetcher runs ahead of such a stream while the multiply-adds execute, so reading
 * memory and computing overlap; read row by row from the checkpoint's layouts they had alternated
 * (docs/performance.md has the measurements).
 *
 * <p>One pass over a panel serves a group of {@link #GROUP} token rows from registers (two vectors of
 * columns each); a single token row takes four panels at once instead, for four independent chains of
 * multiply-adds. Every output is one lane of one accumulator that adds the inputs in order, whatever the
 * grouping, so a token row's product has the same bits alone, inside a batch or among a prompt's rows, and a
 * sequence gets bit-identical logits alone or inside a batch.
 *
 * <p>Java 17 boxes a vector handed to a method it does not inline, or one that may come from either of two
 * branches: the kernels are written out per dtype and group size accordingly.
 *
 * <p>Loaded only when the {@code jdk.incubator.vector} module is present (see {@link VectorProduct}).
 */
final class VectorKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Output columns in a panel: two vectors. */
    static final int PANEL = 2 * L;
    /**
     * Token rows one pass over a panel serves: their 2·GROUP accumulators, two weight vectors and a
     * broadcast input fit the 32 vector registers of AVX-512 at 8, the 16 of AVX2 at 4.
     */
    static final int GROUP = L >= 16 ? 8 : 4;
    /** 2^112 moves a float16 exponent (bias 15) to a float32 one (bias 127), subnormals included. */
    static final float HALF_EXPONENT_SHIFT = 0x1.0p112f;
    /** A float16's sign, exponent and mantissa after the shift by 3: bit 31 and bits 27..13. */
    static final int HALF_BITS = 0x8fffe000;

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
        int panels = 5; // one row takes four at a time and the fifth alone
        int out = panels * PANEL;
        int rows = 2 * GROUP + 3; // two whole groups, one with stand-ins
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
        float[] bias = new float[out];
        for (int r : new int[] {1, rows}) {
            float[] y = new float[r * out];
            multiply(single, false, bias, in, x, null, r, y, out, 0, panels);
            if (!agrees(y, single, false, x, r, in, out)) {
                return false;
            }
            float[] unscale = new float[r];
            multiply(half, true, bias, in, scaledForHalf(x, r, in, null, unscale), unscale, r, y, out, 0, panels);
            if (!agrees(y, half, true, x, r, in, out)) {
                return false;
            }
        }
        return true;
    }

    /** y against the product computed one multiply-add at a time from the panels, to a relative 1e-4. */
    private static boolean agrees(float[] y, ByteBuffer w, boolean half, float[] x, int rows, int in, int out) {
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double expected = 0;
                double scale = 0;
                for (int i = 0; i < in; i++) {
                    double term = weight(w, half, in, o, i) * (double) x[r * in + i];
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

    /** The weight of output o and input i in panels of {@code in} inputs (see {@link PanelWeights}). */
    static float weight(ByteBuffer panels, boolean half, int in, int o, int i) {
        int p = o / PANEL;
        int j = o % PANEL;
        int at = (p * in + i) * PANEL;
        if (!half) {
            return panels.getFloat(4 * (at + j));
        }
        // float16 panels interleave their two vectors of columns: column j < L at 2j, column L + j at 2j + 1.
        int position = j < L ? 2 * j : 2 * (j - L) + 1;
        return Float16Bits.toFloat(panels.getShort(2 * (at + position)));
    }

    /**
     * Reorders x for float16 keys in the decode attention: one int load holds 2L halves, which widen as the
     * even and the odd ones. Within each block of 2L inputs the evens are moved first, then the odds; the
     * inputs past the last whole block keep their place. x: [rows, in] → same shape.
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
     * The decode attention's input against float16 keys: x in {@link #evensThenOdds} order, its whole blocks
     * scaled as {@link #scaledForHalf} explains. The tail past the last whole block stays unscaled, as the
     * scalar loop that adds it expects. x: [rows, in] → same shape.
     */
    static float[] halfInput(float[] x, int rows, int in, float[] into, float[] unscale) {
        float[] p = evensThenOdds(x, rows, in, into);
        scaleForHalf(p, rows, in, in - in % (2 * L), unscale);
        return p;
    }

    /**
     * The input of the float16 products: x multiplied by 2^112. The kernels then multiply a weight's bits
     * as they lie after the shift (the float16 value times 2^-112) without rescaling each weight vector:
     * (w·2^-112)·(x·2^112) is exactly w·x, so every sum keeps its bits, and one multiply per weight vector
     * is saved (from cache, a float16 product of eight token rows on one core went from 69-78 to 77-84
     * GFLOPS, alternated twice, with the kernels before the panels). x·2^112 stays finite while |x| < 2^16,
     * which holds for any activation a float16 model can carry; a row whose finite values reach 2^16 is
     * multiplied by 2^(112-k) instead, for the least k that keeps it finite, and unscale[r] = 2^k restores
     * its sums (its tiniest products may then lose bits as subnormals; unscale[r] = 1 otherwise). Each
     * row's factor depends on that row alone, so a row still gets the same bits alone or in a batch.
     * x: [rows, in] → same shape.
     */
    static float[] scaledForHalf(float[] x, int rows, int in, float[] into, float[] unscale) {
        int size = rows * in;
        float[] p = into != null && into.length >= size ? into : new float[size];
        System.arraycopy(x, 0, p, 0, size);
        scaleForHalf(p, rows, in, in, unscale);
        return p;
    }

    /** Scales inputs [0, scaledEnd) of each row of p as {@link #scaledForHalf} explains. */
    private static void scaleForHalf(float[] p, int rows, int in, int scaledEnd, float[] unscale) {
        for (int r = 0; r < rows; r++) {
            float largest = 0f;
            for (int i = r * in; i < r * in + scaledEnd; i++) {
                float a = Math.abs(p[i]);
                if (a > largest && a != Float.POSITIVE_INFINITY) { // NaN fails the comparison
                    largest = a;
                }
            }
            int k = Math.max(0, Math.getExponent(largest) - 15);
            unscale[r] = Math.scalb(1f, k);
            float scale = Math.scalb(1f, 112 - k);
            for (int i = r * in; i < r * in + scaledEnd; i++) {
                p[i] *= scale;
            }
        }
    }

    private static float unscaleOf(float[] unscale, int row) {
        return unscale == null ? 1f : unscale[row];
    }

    /**
     * Panels [p0, p1) of y = x·W + bias: columns [p0·PANEL, p1·PANEL) of y. w: the panels (float32, or
     * float16 with x from {@link #scaledForHalf} and its unscale); bias: one float per panel column (zeros
     * where the layer has none); x: [rows, in]; y: [rows, yStride], yStride ≥ p1·PANEL.
     */
    static void multiply(ByteBuffer w, boolean half, float[] bias, int in, float[] x, float[] unscale, int rows,
            float[] y, int yStride, int p0, int p1) {
        if (rows == 1) {
            if (half) {
                oneRowHalf(w, bias, in, x, unscaleOf(unscale, 0), y, p0, p1);
            } else {
                oneRow(w, bias, in, x, y, p0, p1);
            }
            return;
        }
        // Each panel once for every group of rows: its weights (in·PANEL·4 bytes: 96 KB for 768 float32
        // inputs at AVX-512 width) come from memory for the first group and from the core's cache for the others.
        for (int p = p0; p < p1; p++) {
            if (half && GROUP == 8 && p + 1 < p1) {
                // float16 on AVX-512: two panels at once for four rows (two streams, half the broadcasts per
                // multiply-add). It pays for float16, whose widening leaves the core room; float32 ran slower
                // that way, so it keeps one panel.
                for (int r = 0; r < rows; r += 4) {
                    pairHalf(w, bias, in, x, unscale, r, rows, y, yStride, p);
                }
                p++;
                continue;
            }
            for (int r = 0; r < rows; r += GROUP) {
                if (GROUP == 8) {
                    if (half) {
                        group8Half(w, bias, in, x, unscale, r, rows, y, yStride, p);
                    } else {
                        group8(w, bias, in, x, unscale, r, rows, y, yStride, p);
                    }
                } else if (half) {
                    group4Half(w, bias, in, x, unscale, r, rows, y, yStride, p);
                } else {
                    group4(w, bias, in, x, unscale, r, rows, y, yStride, p);
                }
            }
        }
    }

    /**
     * One token row: four panels at a time (four independent chains of multiply-adds, four sequential
     * streams), the one to three left over one at a time: four chains keep more reads in flight than two,
     * which measured faster.
     */
    /** Panels {@link #oneRow} and {@link #oneRowHalf} read side by side. */
    static final int ONE_ROW_PANELS = 4;

    private static void oneRow(ByteBuffer w, float[] bias, int in, float[] x, float[] y, int p0, int p1) {
        int p = p0;
        int panelBytes = 4 * in * PANEL;
        for (; p + 4 <= p1; p += 4) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
            int s0 = p * panelBytes;
            int s1 = s0 + panelBytes;
            int s2 = s1 + panelBytes;
            int s3 = s2 + panelBytes;
            for (int k = 0; k < in; k++) {
                FloatVector u = FloatVector.broadcast(F, x[k]);
                int at = 4 * PANEL * k;
                a0 = FloatVector.fromByteBuffer(F, w, s0 + at, LE).fma(u, a0);
                a1 = FloatVector.fromByteBuffer(F, w, s0 + at + 4 * L, LE).fma(u, a1);
                b0 = FloatVector.fromByteBuffer(F, w, s1 + at, LE).fma(u, b0);
                b1 = FloatVector.fromByteBuffer(F, w, s1 + at + 4 * L, LE).fma(u, b1);
                c0 = FloatVector.fromByteBuffer(F, w, s2 + at, LE).fma(u, c0);
                c1 = FloatVector.fromByteBuffer(F, w, s2 + at + 4 * L, LE).fma(u, c1);
                d0 = FloatVector.fromByteBuffer(F, w, s3 + at, LE).fma(u, d0);
                d1 = FloatVector.fromByteBuffer(F, w, s3 + at + 4 * L, LE).fma(u, d1);
            }
            int c = p * PANEL;
            a0.add(FloatVector.fromArray(F, bias, c)).intoArray(y, c);
            a1.add(FloatVector.fromArray(F, bias, c + L)).intoArray(y, c + L);
            b0.add(FloatVector.fromArray(F, bias, c + PANEL)).intoArray(y, c + PANEL);
            b1.add(FloatVector.fromArray(F, bias, c + PANEL + L)).intoArray(y, c + PANEL + L);
            c0.add(FloatVector.fromArray(F, bias, c + 2 * PANEL)).intoArray(y, c + 2 * PANEL);
            c1.add(FloatVector.fromArray(F, bias, c + 2 * PANEL + L)).intoArray(y, c + 2 * PANEL + L);
            d0.add(FloatVector.fromArray(F, bias, c + 3 * PANEL)).intoArray(y, c + 3 * PANEL);
            d1.add(FloatVector.fromArray(F, bias, c + 3 * PANEL + L)).intoArray(y, c + 3 * PANEL + L);
        }
        for (; p < p1; p++) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            int s0 = p * panelBytes;
            for (int k = 0; k < in; k++) {
                FloatVector u = FloatVector.broadcast(F, x[k]);
                a0 = FloatVector.fromByteBuffer(F, w, s0 + 4 * PANEL * k, LE).fma(u, a0);
                a1 = FloatVector.fromByteBuffer(F, w, s0 + 4 * PANEL * k + 4 * L, LE).fma(u, a1);
            }
            int c = p * PANEL;
            a0.add(FloatVector.fromArray(F, bias, c)).intoArray(y, c);
            a1.add(FloatVector.fromArray(F, bias, c + L)).intoArray(y, c + L);
        }
    }

    /**
     * {@link #oneRow} for float16 panels. One int load holds a panel row's 2L halves, its columns [0, L) in
     * the low 16 bits and [L, 2L) in the high ones (see {@link #weight}). Each is widened with int
     * operations only (Java 17 runs the short-to-int vector conversion through a slow generic path): moved
     * to the top 16 bits, shifted arithmetically by 3 (sign stays at bit 31, exponent and mantissa land in a
     * float's places), the sign copies and the other half masked off: the float16 value times 2^-112
     * (subnormals included; weights are finite), which x, scaled by 2^112 in {@link #scaledForHalf},
     * multiplies back to the exact product.
     */
    private static void oneRowHalf(ByteBuffer w, float[] bias, int in, float[] x, float unscale, float[] y, int p0, int p1) {
        int p = p0;
        int panelBytes = 2 * in * PANEL;
        for (; p + 4 <= p1; p += 4) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
            int s0 = p * panelBytes;
            int s1 = s0 + panelBytes;
            int s2 = s1 + panelBytes;
            int s3 = s2 + panelBytes;
            for (int k = 0; k < in; k++) {
                FloatVector u = FloatVector.broadcast(F, x[k]);
                int at = 2 * PANEL * k;
                IntVector h0 = IntVector.fromByteBuffer(I, w, s0 + at, LE);
                IntVector h1 = IntVector.fromByteBuffer(I, w, s1 + at, LE);
                IntVector h2 = IntVector.fromByteBuffer(I, w, s2 + at, LE);
                IntVector h3 = IntVector.fromByteBuffer(I, w, s3 + at, LE);
                a0 = h0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(u, a0);
                a1 = h0.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(u, a1);
                b0 = h1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(u, b0);
                b1 = h1.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(u, b1);
                c0 = h2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(u, c0);
                c1 = h2.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(u, c1);
                d0 = h3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(u, d0);
                d1 = h3.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(u, d1);
            }
            int c = p * PANEL;
            a0.mul(unscale).add(FloatVector.fromArray(F, bias, c)).intoArray(y, c);
            a1.mul(unscale).add(FloatVector.fromArray(F, bias, c + L)).intoArray(y, c + L);
            b0.mul(unscale).add(FloatVector.fromArray(F, bias, c + PANEL)).intoArray(y, c + PANEL);
            b1.mul(unscale).add(FloatVector.fromArray(F, bias, c + PANEL + L)).intoArray(y, c + PANEL + L);
            c0.mul(unscale).add(FloatVector.fromArray(F, bias, c + 2 * PANEL)).intoArray(y, c + 2 * PANEL);
            c1.mul(unscale).add(FloatVector.fromArray(F, bias, c + 2 * PANEL + L)).intoArray(y, c + 2 * PANEL + L);
            d0.mul(unscale).add(FloatVector.fromArray(F, bias, c + 3 * PANEL)).intoArray(y, c + 3 * PANEL);
            d1.mul(unscale).add(FloatVector.fromArray(F, bias, c + 3 * PANEL + L)).intoArray(y, c + 3 * PANEL + L);
        }
        for (; p < p1; p++) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            int s0 = p * panelBytes;
            for (int k = 0; k < in; k++) {
                FloatVector u = FloatVector.broadcast(F, x[k]);
                IntVector h = IntVector.fromByteBuffer(I, w, s0 + 2 * PANEL * k, LE);
                a0 = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(u, a0);
                a1 = h.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().fma(u, a1);
            }
            int c = p * PANEL;
            a0.mul(unscale).add(FloatVector.fromArray(F, bias, c)).intoArray(y, c);
            a1.mul(unscale).add(FloatVector.fromArray(F, bias, c + L)).intoArray(y, c + L);
        }
    }

    /** Panels p and p + 1 (float16) for token rows [r0, r0 + 4), rows past the last standing in as the last. */
    private static void pairHalf(ByteBuffer w, float[] bias, int in, float[] x, float[] unscale, int r0, int rows,
            float[] y, int yStride, int p) {
        int last = rows - 1;
        int ra = r0;
        int rb = Math.min(r0 + 1, last);
        int rc = Math.min(r0 + 2, last);
        int rd = Math.min(r0 + 3, last);
        int xa = ra * in;
        int xb = rb * in;
        int xc = rc * in;
        int xd = rd * in;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, d0 = a0, d1 = a0, d2 = a0, d3 = a0;
        int first = 2 * p * in * PANEL;
        int second = first + 2 * in * PANEL;
        for (int k = 0; k < in; k++) {
            IntVector h = IntVector.fromByteBuffer(I, w, first + 2 * PANEL * k, LE);
            IntVector g = IntVector.fromByteBuffer(I, w, second + 2 * PANEL * k, LE);
            FloatVector w0 = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector w1 = h.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector w2 = g.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector w3 = g.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector u = FloatVector.broadcast(F, x[xa + k]);
            a0 = w0.fma(u, a0);
            a1 = w1.fma(u, a1);
            a2 = w2.fma(u, a2);
            a3 = w3.fma(u, a3);
            u = FloatVector.broadcast(F, x[xb + k]);
            b0 = w0.fma(u, b0);
            b1 = w1.fma(u, b1);
            b2 = w2.fma(u, b2);
            b3 = w3.fma(u, b3);
            u = FloatVector.broadcast(F, x[xc + k]);
            c0 = w0.fma(u, c0);
            c1 = w1.fma(u, c1);
            c2 = w2.fma(u, c2);
            c3 = w3.fma(u, c3);
            u = FloatVector.broadcast(F, x[xd + k]);
            d0 = w0.fma(u, d0);
            d1 = w1.fma(u, d1);
            d2 = w2.fma(u, d2);
            d3 = w3.fma(u, d3);
        }
        int c = p * PANEL;
        FloatVector bias0 = FloatVector.fromArray(F, bias, c);
        FloatVector bias1 = FloatVector.fromArray(F, bias, c + L);
        FloatVector bias2 = FloatVector.fromArray(F, bias, c + PANEL);
        FloatVector bias3 = FloatVector.fromArray(F, bias, c + PANEL + L);
        a0.mul(unscaleOf(unscale, ra)).add(bias0).intoArray(y, ra * yStride + c);
        a1.mul(unscaleOf(unscale, ra)).add(bias1).intoArray(y, ra * yStride + c + L);
        a2.mul(unscaleOf(unscale, ra)).add(bias2).intoArray(y, ra * yStride + c + PANEL);
        a3.mul(unscaleOf(unscale, ra)).add(bias3).intoArray(y, ra * yStride + c + PANEL + L);
        b0.mul(unscaleOf(unscale, rb)).add(bias0).intoArray(y, rb * yStride + c);
        b1.mul(unscaleOf(unscale, rb)).add(bias1).intoArray(y, rb * yStride + c + L);
        b2.mul(unscaleOf(unscale, rb)).add(bias2).intoArray(y, rb * yStride + c + PANEL);
        b3.mul(unscaleOf(unscale, rb)).add(bias3).intoArray(y, rb * yStride + c + PANEL + L);
        c0.mul(unscaleOf(unscale, rc)).add(bias0).intoArray(y, rc * yStride + c);
        c1.mul(unscaleOf(unscale, rc)).add(bias1).intoArray(y, rc * yStride + c + L);
        c2.mul(unscaleOf(unscale, rc)).add(bias2).intoArray(y, rc * yStride + c + PANEL);
        c3.mul(unscaleOf(unscale, rc)).add(bias3).intoArray(y, rc * yStride + c + PANEL + L);
        d0.mul(unscaleOf(unscale, rd)).add(bias0).intoArray(y, rd * yStride + c);
        d1.mul(unscaleOf(unscale, rd)).add(bias1).intoArray(y, rd * yStride + c + L);
        d2.mul(unscaleOf(unscale, rd)).add(bias2).intoArray(y, rd * yStride + c + PANEL);
        d3.mul(unscaleOf(unscale, rd)).add(bias3).intoArray(y, rd * yStride + c + PANEL + L);
    }

    /*
     * The group kernels below are written out per group size and dtype: one body per row, so that every
     * accumulator stays a register (see the class comment).
     */

    /** Panel p for token rows [r0, r0 + 8), rows past the last standing in as the last. */
    private static void group8(ByteBuffer w, float[] bias, int in, float[] x, float[] unscale, int r0, int rows,
            float[] y, int yStride, int p) {
        int last = rows - 1;
        int ra = Math.min(r0 + 0, last);
        int xa = ra * in;
        int rb = Math.min(r0 + 1, last);
        int xb = rb * in;
        int rc = Math.min(r0 + 2, last);
        int xc = rc * in;
        int rd = Math.min(r0 + 3, last);
        int xd = rd * in;
        int re = Math.min(r0 + 4, last);
        int xe = re * in;
        int rf = Math.min(r0 + 5, last);
        int xf = rf * in;
        int rg = Math.min(r0 + 6, last);
        int xg = rg * in;
        int rh = Math.min(r0 + 7, last);
        int xh = rh * in;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        FloatVector b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0, e0 = a0, e1 = a0, f0 = a0, f1 = a0, g0 = a0, g1 = a0, h0 = a0, h1 = a0;
        int base = 4 * p * in * PANEL;
        for (int k = 0; k < in; k++) {
            int at = base + 4 * PANEL * k;
            FloatVector w0 = FloatVector.fromByteBuffer(F, w, at, LE);
            FloatVector w1 = FloatVector.fromByteBuffer(F, w, at + 4 * L, LE);
            FloatVector u = FloatVector.broadcast(F, x[xa + k]);
            a0 = w0.fma(u, a0);
            a1 = w1.fma(u, a1);
            u = FloatVector.broadcast(F, x[xb + k]);
            b0 = w0.fma(u, b0);
            b1 = w1.fma(u, b1);
            u = FloatVector.broadcast(F, x[xc + k]);
            c0 = w0.fma(u, c0);
            c1 = w1.fma(u, c1);
            u = FloatVector.broadcast(F, x[xd + k]);
            d0 = w0.fma(u, d0);
            d1 = w1.fma(u, d1);
            u = FloatVector.broadcast(F, x[xe + k]);
            e0 = w0.fma(u, e0);
            e1 = w1.fma(u, e1);
            u = FloatVector.broadcast(F, x[xf + k]);
            f0 = w0.fma(u, f0);
            f1 = w1.fma(u, f1);
            u = FloatVector.broadcast(F, x[xg + k]);
            g0 = w0.fma(u, g0);
            g1 = w1.fma(u, g1);
            u = FloatVector.broadcast(F, x[xh + k]);
            h0 = w0.fma(u, h0);
            h1 = w1.fma(u, h1);
        }
        int c = p * PANEL;
        FloatVector bias0 = FloatVector.fromArray(F, bias, c);
        FloatVector bias1 = FloatVector.fromArray(F, bias, c + L);
        a0.mul(unscaleOf(unscale, ra)).add(bias0).intoArray(y, ra * yStride + c);
        a1.mul(unscaleOf(unscale, ra)).add(bias1).intoArray(y, ra * yStride + c + L);
        b0.mul(unscaleOf(unscale, rb)).add(bias0).intoArray(y, rb * yStride + c);
        b1.mul(unscaleOf(unscale, rb)).add(bias1).intoArray(y, rb * yStride + c + L);
        c0.mul(unscaleOf(unscale, rc)).add(bias0).intoArray(y, rc * yStride + c);
        c1.mul(unscaleOf(unscale, rc)).add(bias1).intoArray(y, rc * yStride + c + L);
        d0.mul(unscaleOf(unscale, rd)).add(bias0).intoArray(y, rd * yStride + c);
        d1.mul(unscaleOf(unscale, rd)).add(bias1).intoArray(y, rd * yStride + c + L);
        e0.mul(unscaleOf(unscale, re)).add(bias0).intoArray(y, re * yStride + c);
        e1.mul(unscaleOf(unscale, re)).add(bias1).intoArray(y, re * yStride + c + L);
        f0.mul(unscaleOf(unscale, rf)).add(bias0).intoArray(y, rf * yStride + c);
        f1.mul(unscaleOf(unscale, rf)).add(bias1).intoArray(y, rf * yStride + c + L);
        g0.mul(unscaleOf(unscale, rg)).add(bias0).intoArray(y, rg * yStride + c);
        g1.mul(unscaleOf(unscale, rg)).add(bias1).intoArray(y, rg * yStride + c + L);
        h0.mul(unscaleOf(unscale, rh)).add(bias0).intoArray(y, rh * yStride + c);
        h1.mul(unscaleOf(unscale, rh)).add(bias1).intoArray(y, rh * yStride + c + L);
    }

    /** {@link #group8} for float16 panels, widened as in {@link #oneRowHalf}. */
    private static void group8Half(ByteBuffer w, float[] bias, int in, float[] x, float[] unscale, int r0, int rows,
            float[] y, int yStride, int p) {
        int last = rows - 1;
        int ra = Math.min(r0 + 0, last);
        int xa = ra * in;
        int rb = Math.min(r0 + 1, last);
        int xb = rb * in;
        int rc = Math.min(r0 + 2, last);
        int xc = rc * in;
        int rd = Math.min(r0 + 3, last);
        int xd = rd * in;
        int re = Math.min(r0 + 4, last);
        int xe = re * in;
        int rf = Math.min(r0 + 5, last);
        int xf = rf * in;
        int rg = Math.min(r0 + 6, last);
        int xg = rg * in;
        int rh = Math.min(r0 + 7, last);
        int xh = rh * in;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        FloatVector b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0, e0 = a0, e1 = a0, f0 = a0, f1 = a0, g0 = a0, g1 = a0, h0 = a0, h1 = a0;
        int base = 2 * p * in * PANEL;
        for (int k = 0; k < in; k++) {
            IntVector h = IntVector.fromByteBuffer(I, w, base + 2 * PANEL * k, LE);
            FloatVector w0 = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector w1 = h.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector u = FloatVector.broadcast(F, x[xa + k]);
            a0 = w0.fma(u, a0);
            a1 = w1.fma(u, a1);
            u = FloatVector.broadcast(F, x[xb + k]);
            b0 = w0.fma(u, b0);
            b1 = w1.fma(u, b1);
            u = FloatVector.broadcast(F, x[xc + k]);
            c0 = w0.fma(u, c0);
            c1 = w1.fma(u, c1);
            u = FloatVector.broadcast(F, x[xd + k]);
            d0 = w0.fma(u, d0);
            d1 = w1.fma(u, d1);
            u = FloatVector.broadcast(F, x[xe + k]);
            e0 = w0.fma(u, e0);
            e1 = w1.fma(u, e1);
            u = FloatVector.broadcast(F, x[xf + k]);
            f0 = w0.fma(u, f0);
            f1 = w1.fma(u, f1);
            u = FloatVector.broadcast(F, x[xg + k]);
            g0 = w0.fma(u, g0);
            g1 = w1.fma(u, g1);
            u = FloatVector.broadcast(F, x[xh + k]);
            h0 = w0.fma(u, h0);
            h1 = w1.fma(u, h1);
        }
        int c = p * PANEL;
        FloatVector bias0 = FloatVector.fromArray(F, bias, c);
        FloatVector bias1 = FloatVector.fromArray(F, bias, c + L);
        a0.mul(unscaleOf(unscale, ra)).add(bias0).intoArray(y, ra * yStride + c);
        a1.mul(unscaleOf(unscale, ra)).add(bias1).intoArray(y, ra * yStride + c + L);
        b0.mul(unscaleOf(unscale, rb)).add(bias0).intoArray(y, rb * yStride + c);
        b1.mul(unscaleOf(unscale, rb)).add(bias1).intoArray(y, rb * yStride + c + L);
        c0.mul(unscaleOf(unscale, rc)).add(bias0).intoArray(y, rc * yStride + c);
        c1.mul(unscaleOf(unscale, rc)).add(bias1).intoArray(y, rc * yStride + c + L);
        d0.mul(unscaleOf(unscale, rd)).add(bias0).intoArray(y, rd * yStride + c);
        d1.mul(unscaleOf(unscale, rd)).add(bias1).intoArray(y, rd * yStride + c + L);
        e0.mul(unscaleOf(unscale, re)).add(bias0).intoArray(y, re * yStride + c);
        e1.mul(unscaleOf(unscale, re)).add(bias1).intoArray(y, re * yStride + c + L);
        f0.mul(unscaleOf(unscale, rf)).add(bias0).intoArray(y, rf * yStride + c);
        f1.mul(unscaleOf(unscale, rf)).add(bias1).intoArray(y, rf * yStride + c + L);
        g0.mul(unscaleOf(unscale, rg)).add(bias0).intoArray(y, rg * yStride + c);
        g1.mul(unscaleOf(unscale, rg)).add(bias1).intoArray(y, rg * yStride + c + L);
        h0.mul(unscaleOf(unscale, rh)).add(bias0).intoArray(y, rh * yStride + c);
        h1.mul(unscaleOf(unscale, rh)).add(bias1).intoArray(y, rh * yStride + c + L);
    }

    /** Panel p for token rows [r0, r0 + 4), rows past the last standing in as the last. */
    private static void group4(ByteBuffer w, float[] bias, int in, float[] x, float[] unscale, int r0, int rows,
            float[] y, int yStride, int p) {
        int last = rows - 1;
        int ra = Math.min(r0 + 0, last);
        int xa = ra * in;
        int rb = Math.min(r0 + 1, last);
        int xb = rb * in;
        int rc = Math.min(r0 + 2, last);
        int xc = rc * in;
        int rd = Math.min(r0 + 3, last);
        int xd = rd * in;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        FloatVector b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        int base = 4 * p * in * PANEL;
        for (int k = 0; k < in; k++) {
            int at = base + 4 * PANEL * k;
            FloatVector w0 = FloatVector.fromByteBuffer(F, w, at, LE);
            FloatVector w1 = FloatVector.fromByteBuffer(F, w, at + 4 * L, LE);
            FloatVector u = FloatVector.broadcast(F, x[xa + k]);
            a0 = w0.fma(u, a0);
            a1 = w1.fma(u, a1);
            u = FloatVector.broadcast(F, x[xb + k]);
            b0 = w0.fma(u, b0);
            b1 = w1.fma(u, b1);
            u = FloatVector.broadcast(F, x[xc + k]);
            c0 = w0.fma(u, c0);
            c1 = w1.fma(u, c1);
            u = FloatVector.broadcast(F, x[xd + k]);
            d0 = w0.fma(u, d0);
            d1 = w1.fma(u, d1);
        }
        int c = p * PANEL;
        FloatVector bias0 = FloatVector.fromArray(F, bias, c);
        FloatVector bias1 = FloatVector.fromArray(F, bias, c + L);
        a0.mul(unscaleOf(unscale, ra)).add(bias0).intoArray(y, ra * yStride + c);
        a1.mul(unscaleOf(unscale, ra)).add(bias1).intoArray(y, ra * yStride + c + L);
        b0.mul(unscaleOf(unscale, rb)).add(bias0).intoArray(y, rb * yStride + c);
        b1.mul(unscaleOf(unscale, rb)).add(bias1).intoArray(y, rb * yStride + c + L);
        c0.mul(unscaleOf(unscale, rc)).add(bias0).intoArray(y, rc * yStride + c);
        c1.mul(unscaleOf(unscale, rc)).add(bias1).intoArray(y, rc * yStride + c + L);
        d0.mul(unscaleOf(unscale, rd)).add(bias0).intoArray(y, rd * yStride + c);
        d1.mul(unscaleOf(unscale, rd)).add(bias1).intoArray(y, rd * yStride + c + L);
    }

    /** {@link #group4} for float16 panels, widened as in {@link #oneRowHalf}. */
    private static void group4Half(ByteBuffer w, float[] bias, int in, float[] x, float[] unscale, int r0, int rows,
            float[] y, int yStride, int p) {
        int last = rows - 1;
        int ra = Math.min(r0 + 0, last);
        int xa = ra * in;
        int rb = Math.min(r0 + 1, last);
        int xb = rb * in;
        int rc = Math.min(r0 + 2, last);
        int xc = rc * in;
        int rd = Math.min(r0 + 3, last);
        int xd = rd * in;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        FloatVector b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        int base = 2 * p * in * PANEL;
        for (int k = 0; k < in; k++) {
            IntVector h = IntVector.fromByteBuffer(I, w, base + 2 * PANEL * k, LE);
            FloatVector w0 = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector w1 = h.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats();
            FloatVector u = FloatVector.broadcast(F, x[xa + k]);
            a0 = w0.fma(u, a0);
            a1 = w1.fma(u, a1);
            u = FloatVector.broadcast(F, x[xb + k]);
            b0 = w0.fma(u, b0);
            b1 = w1.fma(u, b1);
            u = FloatVector.broadcast(F, x[xc + k]);
            c0 = w0.fma(u, c0);
            c1 = w1.fma(u, c1);
            u = FloatVector.broadcast(F, x[xd + k]);
            d0 = w0.fma(u, d0);
            d1 = w1.fma(u, d1);
        }
        int c = p * PANEL;
        FloatVector bias0 = FloatVector.fromArray(F, bias, c);
        FloatVector bias1 = FloatVector.fromArray(F, bias, c + L);
        a0.mul(unscaleOf(unscale, ra)).add(bias0).intoArray(y, ra * yStride + c);
        a1.mul(unscaleOf(unscale, ra)).add(bias1).intoArray(y, ra * yStride + c + L);
        b0.mul(unscaleOf(unscale, rb)).add(bias0).intoArray(y, rb * yStride + c);
        b1.mul(unscaleOf(unscale, rb)).add(bias1).intoArray(y, rb * yStride + c + L);
        c0.mul(unscaleOf(unscale, rc)).add(bias0).intoArray(y, rc * yStride + c);
        c1.mul(unscaleOf(unscale, rc)).add(bias1).intoArray(y, rc * yStride + c + L);
        d0.mul(unscaleOf(unscale, rd)).add(bias0).intoArray(y, rd * yStride + c);
        d1.mul(unscaleOf(unscale, rd)).add(bias1).intoArray(y, rd * yStride + c + L);
    }
}
