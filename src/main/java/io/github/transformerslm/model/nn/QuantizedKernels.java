package io.github.transformerslm.model.nn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Products over {@link QuantizedPanels}, written with the Vector API.
 *
 * <p>One token row (decoding at batch 1) multiplies the codes where they lie.
 * <ul>
 * <li>int8, float32 inputs: each int lane of a load holds four codes; code n is taken out with one AND in
 * place ({@code lane & (0xFF << 8n)}), worth code·2^(8n), and converted to float exactly. The factor
 * 2^-(8n) is moved onto the input instead, once per product ({@link #prepareRow}), so a code costs an AND,
 * a conversion and a multiply-add. The top code is shifted down instead (one instruction either way).
 * <li>int4, inputs quantized to 8 bits per block of 32 as llama.cpp's Q4_0 products quantize theirs
 * ({@link #quantizeRow}): codes times inputs in 16-bit integer lanes, a block's sum converted to float
 * once. A code costs a shift or a mask, a 16-bit multiply and an add, on twice the lanes of a float: about
 * 1.7 times the float path's speed on one thread.
 * </ul>
 * Codes are offset to unsigned; the offset times the block's sum of inputs, computed once per row, is taken
 * off each block's sums before its scales multiply them.
 *
 * <p>Several token rows (batches, prompts) widen each panel once to float32 in a thread's scratch array,
 * scales applied, and multiply every row against it four rows at a time: the widening is shared by the
 * rows, so a batch runs at the speed of float32 weights read from cache. int4 rows are first rounded to the
 * same 8-bit grid ({@link #roundToInt8Grid}), so that a row gets the same result alone and in a batch.
 *
 * <p>Loaded only when the {@code jdk.incubator.vector} module is present (see {@link VectorProduct}).
 */
final class QuantizedKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, I.vectorShape());
    private static final int L = F.length();
    private static final int PANEL = VectorKernels.PANEL;
    private static final int BLOCK = Quantization.BLOCK;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /**
     * A block's float16 scales widen exactly as {@link VectorKernels} widens float16 weights: moved to the top
     * of the int (the low one of a lane shifted up, for the columns [0, L); the high one in place, for [L, 2L)),
     * shifted by 3, the sign's copies masked off, times 2^112. Written out where used: a vector passed to a
     * method that the JIT does not inline is boxed, and the int4 kernel ran at a third of its speed so.
     */
    private static final int HALF_BITS = VectorKernels.HALF_BITS;
    private static final float TWO_112 = VectorKernels.HALF_EXPONENT_SHIFT;

    /** What the input meeting code n of an int8 lane is multiplied by: 2^-(8n), 1 for the top code (shifted down). */
    private static final float[] INT8_FACTORS = {1f, 0x1p-8f, 0x1p-16f, 1f};

    /** A thread's panel widened to float32: [padded in, PANEL]. */
    private static final ThreadLocal<float[][]> WIDENED = ThreadLocal.withInitial(() -> new float[1][0]);

    private QuantizedKernels() {}

    /**
     * One row's input as {@link #oneRowInt8} reads it: two entries per input k (for the columns [0, L) and
     * [L, 2L) of a panel), x[k]·2^-(8n) for the code n it meets (code n = 2m + h of an int lane holds input
     * m of the lane's pair, half h), zeros past {@code in}. blockOffsets[b] = offset · Σ x over block b.
     */
    static float[] prepareRow(float[] x, int in, int blocks, int offset, float[] into, float[] blockOffsets) {
        int padded = blocks * BLOCK;
        float[] p = into != null && into.length >= 2 * padded ? into : new float[2 * padded];
        for (int k0 = 0; k0 < padded; k0 += 2) {
            for (int m = 0; m < 2; m++) {
                int k = k0 + m;
                float v = k < in ? x[k] : 0f;
                p[2 * k] = v * INT8_FACTORS[2 * m];
                p[2 * k + 1] = v * INT8_FACTORS[2 * m + 1];
            }
        }
        for (int b = 0; b < blocks; b++) {
            float sum = 0f;
            for (int k = b * BLOCK; k < Math.min(in, (b + 1) * BLOCK); k++) {
                sum += x[k];
            }
            blockOffsets[b] = offset * sum;
        }
        return p;
    }

    /** Ints {@link #quantizeRow} writes for a row of {@code blocks} blocks. */
    static int quantizedRowInts(int blocks) {
        return blocks * (BLOCK / 2 + 1);
    }

    /**
     * One row quantized to 8 bits for {@link #oneRowInt4}, as llama.cpp quantizes the input of its Q4_0
     * products (Q8_0): per block of 32 inputs a scale d = max|x| / 127 (into scales[b]) and codes
     * round(x / d) in [-127, 127], ties to even. Into q, per block: for each group of four inputs the pairs (x0, x2) and
     * (x1, x3) as the two 16-bit halves of an int (the inputs that the low and high codes of an int lane
     * meet), then the block's offset correction 8 · Σ codes.
     */
    static void quantizeRow(float[] x, int in, int blocks, int[] q, float[] scales) {
        int perBlock = BLOCK / 2 + 1;
        for (int b = 0; b < blocks; b++) {
            int from = b * BLOCK;
            int to = Math.min(in, from + BLOCK);
            float d = int8Scale(x, from, to);
            float inverse = d == 0f ? 0f : 1f / d;
            int at = b * perBlock;
            int sum = 0;
            for (int t = 0; t < BLOCK / 4; t++) {
                int k = from + 4 * t;
                int c0 = k < to ? nearest(x[k] * inverse) : 0;
                int c1 = k + 1 < to ? nearest(x[k + 1] * inverse) : 0;
                int c2 = k + 2 < to ? nearest(x[k + 2] * inverse) : 0;
                int c3 = k + 3 < to ? nearest(x[k + 3] * inverse) : 0;
                q[at + 2 * t] = (c0 & 0xFFFF) | (c2 << 16);
                q[at + 2 * t + 1] = (c1 & 0xFFFF) | (c3 << 16);
                sum += c0 + c1 + c2 + c3;
            }
            q[at + BLOCK / 2] = 8 * sum;
            scales[b] = d;
        }
    }

    /**
     * v rounded to the nearest integer, ties to even (as llama.cpp's vector code rounds), for |v| at most
     * 2^22: adding 1.5·2^23 leaves no bits below the units. Two additions where Math.round costs a floor and
     * branches, in a loop over every input of every product.
     */
    static int nearest(float v) {
        return (int) ((v + ROUNDING) - ROUNDING);
    }

    private static final float ROUNDING = 0x1.8p23f;

    /**
     * Rows of x with each block of 32 inputs rounded to its 8-bit grid, the values {@link #quantizeRow}
     * represents: several rows multiplied by int4 panels then see the input that one row alone sees.
     */
    static float[] roundToInt8Grid(float[] x, int rows, int in, float[] into) {
        float[] r = into != null && into.length >= rows * in ? into : new float[rows * in];
        for (int row = 0; row < rows; row++) {
            for (int from = row * in; from < (row + 1) * in; from += BLOCK) {
                int to = Math.min((row + 1) * in, from + BLOCK);
                float d = int8Scale(x, from, to);
                float inverse = d == 0f ? 0f : 1f / d;
                int k = from;
                for (; k + L <= to; k += L) { // as nearest(): the integer part of (v + 1.5·2^23) - 1.5·2^23
                    FloatVector v = FloatVector.fromArray(F, x, k).mul(inverse);
                    v.add(ROUNDING).sub(ROUNDING).mul(d).intoArray(r, k);
                }
                for (; k < to; k++) {
                    r[k] = nearest(x[k] * inverse) * d;
                }
            }
        }
        return r;
    }

    /** The Q8_0 scale of x[from, to): the largest magnitude / 127. */
    private static float int8Scale(float[] x, int from, int to) {
        FloatVector largest = FloatVector.zero(F);
        int k = from;
        for (; k + L <= to; k += L) {
            largest = largest.max(FloatVector.fromArray(F, x, k).abs());
        }
        float m = largest.reduceLanes(VectorOperators.MAX);
        for (; k < to; k++) {
            m = Math.max(m, Math.abs(x[k]));
        }
        return m / 127f;
    }

    static void multiply(QuantizedPanels q, float[] x, float[] blockOffsets, int[] quantized, int rows, float[] y, int yStride,
            int p0, int p1) {
        if (rows == 1) {
            if (q.quantization == Quantization.INT4) {
                oneRowInt4(q.w, q.bias, q.blocks, q.blockBytes, quantized, blockOffsets, y, p0, p1);
            } else {
                oneRowInt8(q.w, q.bias, q.blocks, q.blockBytes, x, blockOffsets, y, p0, p1);
            }
            return;
        }
        float[][] holder = WIDENED.get();
        int size = q.blocks * BLOCK * PANEL;
        if (holder[0].length < size) {
            holder[0] = new float[size];
        }
        float[] widened = holder[0];
        for (int p = p0; p < p1; p++) {
            widen(q, p, widened);
            for (int r = 0; r < rows; r += 4) {
                group4(widened, q.bias, q.in, x, r, rows, y, yStride, p);
            }
        }
    }

    /**
     * One token row against int8 panels [p0, p1), a panel at a time. Per block: four chains of
     * multiply-adds, one per code of a lane (two per half of the panel), offset-corrected and scaled into
     * the panel's totals at the block's end. Few live vectors on purpose: two panels at a time (more reads in
     * flight) kept about sixteen live and decoded at two thirds of this speed inside a forward pass, where
     * the JIT compiled it with spills.
     */
    private static void oneRowInt8(ByteBuffer w, float[] bias, int blocks, int blockBytes, float[] x, float[] blockOffsets,
            float[] y, int p0, int p1) {
        for (int p = p0; p < p1; p++) {
            FloatVector t0 = FloatVector.zero(F), t1 = t0;
            int base = p * blocks * blockBytes;
            for (int b = 0; b < blocks; b++) {
                int at = base + b * blockBytes;
                int xb = 2 * BLOCK * b;
                FloatVector e0 = FloatVector.zero(F), e1 = e0, e2 = e0, e3 = e0;
                for (int t = 0; t < BLOCK / 2; t++) {
                    IntVector v = IntVector.fromByteBuffer(I, w, at + 2 * PANEL + 4 * L * t, LE);
                    int xk = xb + 4 * t;
                    e0 = ((FloatVector) v.and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, x[xk]), e0);
                    e1 = ((FloatVector) v.and(0xFF00).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, x[xk + 1]), e1);
                    e2 = ((FloatVector) v.and(0xFF0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, x[xk + 2]), e2);
                    e3 = ((FloatVector) v.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xk + 3]), e3);
                }
                float offset = blockOffsets[b];
                IntVector scales = IntVector.fromByteBuffer(I, w, at, LE);
                t0 = e0.add(e2).sub(offset).fma(scales.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().mul(TWO_112), t0);
                t1 = e1.add(e3).sub(offset).fma(scales.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().mul(TWO_112), t1);
            }
            int c = p * PANEL;
            t0.add(FloatVector.fromArray(F, bias, c)).intoArray(y, c);
            t1.add(FloatVector.fromArray(F, bias, c + L)).intoArray(y, c + L);
        }
    }

    /**
     * int4 panels times a row quantized to 8 bits ({@link #quantizeRow}), multiplied in 16-bit integer lanes:
     * an int load read as shorts holds in each short four codes of one column pair's two inputs, a code is
     * taken out with a shift and a mask and multiplied by its input's code in the same lane. Unsigned codes
     * (at most 15) times inputs (at most 127 in magnitude), 16 to a lane per block, stay within a short.
     */
    private static void oneRowInt4(ByteBuffer w, float[] bias, int blocks, int blockBytes, int[] xq, float[] xScales,
            float[] y, int p0, int p1) {
        int perBlock = BLOCK / 2 + 1;
        for (int p = p0; p < p1; p++) {
            FloatVector t0 = FloatVector.zero(F), t1 = t0;
            int base = p * blocks * blockBytes;
            for (int b = 0; b < blocks; b++) {
                int at = base + b * blockBytes;
                int xb = perBlock * b;
                ShortVector e = ShortVector.zero(S), o = e;
                for (int t = 0; t < BLOCK / 4; t++) {
                    ShortVector v = IntVector.fromByteBuffer(I, w, at + 2 * PANEL + 4 * L * t, LE).reinterpretAsShorts();
                    ShortVector xa = IntVector.broadcast(I, xq[xb + 2 * t]).reinterpretAsShorts();
                    ShortVector xc = IntVector.broadcast(I, xq[xb + 2 * t + 1]).reinterpretAsShorts();
                    e = e.add(v.and((short) 0xF).mul(xa)).add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(xc));
                    o = o.add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(xa))
                            .add(v.lanewise(VectorOperators.LSHR, 12).mul(xc));
                }
                IntVector offset = IntVector.broadcast(I, xq[xb + BLOCK / 2]);
                IntVector ei = e.reinterpretAsInts();
                IntVector oi = o.reinterpretAsInts();
                IntVector es = ei.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                        .add(ei.lanewise(VectorOperators.ASHR, 16)).sub(offset);
                IntVector os = oi.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                        .add(oi.lanewise(VectorOperators.ASHR, 16)).sub(offset);
                float d = xScales[b];
                IntVector scales = IntVector.fromByteBuffer(I, w, at, LE);
                t0 = ((FloatVector) es.convert(VectorOperators.I2F, 0)).fma(scales.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().mul(TWO_112).mul(d), t0);
                t1 = ((FloatVector) os.convert(VectorOperators.I2F, 0)).fma(scales.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().mul(TWO_112).mul(d), t1);
            }
            int c = p * PANEL;
            t0.add(FloatVector.fromArray(F, bias, c)).intoArray(y, c);
            t1.add(FloatVector.fromArray(F, bias, c + L)).intoArray(y, c + L);
        }
    }

    /**
     * Panel p as float32, scales applied: widened[k·PANEL + j] = weight of column j, input k. Each code is
     * taken out in place as in the one-row kernels, converted, and turned into its weight with one
     * multiply-add by its half's scale (times the power of two its position is worth) and minus the offset
     * times the scale: exactly (code − offset)·scale, rounded once, as a subtraction and a multiplication
     * would give it.
     */
    private static void widen(QuantizedPanels q, int p, float[] widened) {
        if (q.quantization == Quantization.INT8) {
            widenInt8(q.w, q.blocks, q.blockBytes, p, widened);
        } else {
            widenInt4(q.w, q.blocks, q.blockBytes, p, widened);
        }
    }

    private static void widenInt8(ByteBuffer w, int blocks, int blockBytes, int p, float[] widened) {
        int base = p * blocks * blockBytes;
        for (int b = 0; b < blocks; b++) {
            int at = base + b * blockBytes;
            IntVector scales = IntVector.fromByteBuffer(I, w, at, LE);
            FloatVector s0 = scales.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().mul(TWO_112);
            FloatVector s1 = scales.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().mul(TWO_112);
            FloatVector o0 = s0.mul(-128f);
            FloatVector o1 = s1.mul(-128f);
            FloatVector s1n1 = s1.mul(0x1p-8f);
            FloatVector s0n2 = s0.mul(0x1p-16f);
            int out = b * BLOCK * PANEL;
            for (int t = 0; t < BLOCK / 2; t++) {
                IntVector v = IntVector.fromByteBuffer(I, w, at + 2 * PANEL + 4 * L * t, LE);
                int k = out + 2 * t * PANEL;
                ((FloatVector) v.and(0xFF).convert(VectorOperators.I2F, 0)).fma(s0, o0).intoArray(widened, k);
                ((FloatVector) v.and(0xFF00).convert(VectorOperators.I2F, 0)).fma(s1n1, o1).intoArray(widened, k + L);
                ((FloatVector) v.and(0xFF0000).convert(VectorOperators.I2F, 0)).fma(s0n2, o0).intoArray(widened, k + PANEL);
                ((FloatVector) v.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).fma(s1, o1)
                        .intoArray(widened, k + PANEL + L);
            }
        }
    }

    private static void widenInt4(ByteBuffer w, int blocks, int blockBytes, int p, float[] widened) {
        int base = p * blocks * blockBytes;
        for (int b = 0; b < blocks; b++) {
            int at = base + b * blockBytes;
            IntVector scales = IntVector.fromByteBuffer(I, w, at, LE);
            FloatVector s0 = scales.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().mul(TWO_112);
            FloatVector s1 = scales.lanewise(VectorOperators.ASHR, 3).and(HALF_BITS).reinterpretAsFloats().mul(TWO_112);
            FloatVector o0 = s0.mul(-8f);
            FloatVector o1 = s1.mul(-8f);
            FloatVector s1n1 = s1.mul(0x1p-4f);
            FloatVector s0n2 = s0.mul(0x1p-8f);
            FloatVector s1n3 = s1.mul(0x1p-12f);
            FloatVector s0n4 = s0.mul(0x1p-16f);
            FloatVector s1n5 = s1.mul(0x1p-20f);
            FloatVector s0n6 = s0.mul(0x1p-24f);
            int out = b * BLOCK * PANEL;
            for (int t = 0; t < BLOCK / 4; t++) {
                IntVector v = IntVector.fromByteBuffer(I, w, at + 2 * PANEL + 4 * L * t, LE);
                int k = out + 4 * t * PANEL;
                ((FloatVector) v.and(0xF).convert(VectorOperators.I2F, 0)).fma(s0, o0).intoArray(widened, k);
                ((FloatVector) v.and(0xF0).convert(VectorOperators.I2F, 0)).fma(s1n1, o1).intoArray(widened, k + L);
                ((FloatVector) v.and(0xF00).convert(VectorOperators.I2F, 0)).fma(s0n2, o0).intoArray(widened, k + PANEL);
                ((FloatVector) v.and(0xF000).convert(VectorOperators.I2F, 0)).fma(s1n3, o1).intoArray(widened, k + PANEL + L);
                ((FloatVector) v.and(0xF0000).convert(VectorOperators.I2F, 0)).fma(s0n4, o0).intoArray(widened, k + 2 * PANEL);
                ((FloatVector) v.and(0xF00000).convert(VectorOperators.I2F, 0)).fma(s1n5, o1).intoArray(widened, k + 2 * PANEL + L);
                ((FloatVector) v.and(0xF000000).convert(VectorOperators.I2F, 0)).fma(s0n6, o0).intoArray(widened, k + 3 * PANEL);
                ((FloatVector) v.lanewise(VectorOperators.LSHR, 28).convert(VectorOperators.I2F, 0)).fma(s1, o1)
                        .intoArray(widened, k + 3 * PANEL + L);
            }
        }
    }

    /** Token rows [r0, r0 + 4) against a widened panel p, rows past the last standing in as the last. */
    private static void group4(float[] wp, float[] bias, int in, float[] x, int r0, int rows, float[] y, int yStride, int p) {
        int last = rows - 1;
        int ra = Math.min(r0, last);
        int xa = ra * in;
        int rb = Math.min(r0 + 1, last);
        int xb = rb * in;
        int rc = Math.min(r0 + 2, last);
        int xc = rc * in;
        int rd = Math.min(r0 + 3, last);
        int xd = rd * in;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        for (int k = 0; k < in; k++) {
            FloatVector w0 = FloatVector.fromArray(F, wp, k * PANEL);
            FloatVector w1 = FloatVector.fromArray(F, wp, k * PANEL + L);
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
        a0.add(bias0).intoArray(y, ra * yStride + c);
        a1.add(bias1).intoArray(y, ra * yStride + c + L);
        b0.add(bias0).intoArray(y, rb * yStride + c);
        b1.add(bias1).intoArray(y, rb * yStride + c + L);
        c0.add(bias0).intoArray(y, rc * yStride + c);
        c1.add(bias1).intoArray(y, rc * yStride + c + L);
        d0.add(bias0).intoArray(y, rd * yStride + c);
        d1.add(bias1).intoArray(y, rd * yStride + c + L);
    }
}
