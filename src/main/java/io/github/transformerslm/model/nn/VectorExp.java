package io.github.transformerslm.model.nn;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * e^x for float vectors, built from additions, fused multiply-adds and bit operations only, with a scalar
 * twin that gives the same bits.
 *
 * <p>Why not {@code lanewise(VectorOperators.EXP)}: HotSpot answers it with a compiled intrinsic once the
 * calling method reaches C2, and with a Java fallback before that, and the two differ in the last bit. A
 * fresh service's first greedy request ran part of softmax and GELU on the fallback and returned other
 * log-probabilities than the same request a minute later (measured: 3 restarts of 3). Every operation used
 * here is exactly rounded IEEE arithmetic in both forms, so a result does not depend on what the JIT has
 * done yet.
 *
 * <p>The method is Cody and Waite's: x = n·ln 2 + r with n an integer and |r| ≤ ln 2 / 2, then
 * e^x = 2^n · e^r, e^r from its Taylor polynomial of degree 7 (truncation under 0.1 ulp on that interval;
 * within 2 ulp of {@link Math#exp} overall, tested). Arguments under ln(2^-126) give 0, as subnormal
 * results are of no use to the callers (softmax weights, sigmoid denominators) and cost microcode assists
 * on Intel cores; arguments over 127·ln 2 + ln 2 / 2 ≈ 88.376 give +∞ (the true value overflows from 88.723).
 */
public final class VectorExp {
    private VectorExp() {}

    /** ln(2^-126): e^x is below the smallest normal float under this. */
    private static final float LOW = -87.33654f;
    /** 127.5·ln 2, the largest argument whose n is 127. */
    private static final float HIGH = 88.37626f;
    private static final float LOG2_E = 1.44269504f;
    /** ln 2 in two parts: the high one has 9 significant bits, so n·LN2_HIGH is exact for |n| ≤ 127. */
    private static final float LN2_HIGH = 0.693359375f;
    private static final float LN2_LOW = -2.12194440e-4f;
    /** 1.5·2^23: adding it rounds a float of magnitude under 2^22 to an integer, held in the low bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    /** e^x in every lane. */
    public static FloatVector exp(FloatVector x) {
        FloatVector clamped = x.max(LOW).min(HIGH); // NaN stays NaN: max and min are Math.max and Math.min
        FloatVector shifted = clamped.fma(LOG2_E, ROUNDER); // ROUNDER + n
        FloatVector n = shifted.sub(ROUNDER);
        FloatVector r = n.mul(-LN2_HIGH).add(clamped); // the product is exact
        r = n.fma(x.broadcast(-LN2_LOW), r);
        FloatVector p = r.fma(C7, C6);
        p = p.fma(r, x.broadcast(C5));
        p = p.fma(r, x.broadcast(C4));
        p = p.fma(r, x.broadcast(C3));
        p = p.fma(r, x.broadcast(C2));
        p = p.fma(r, x.broadcast(1f));
        p = p.fma(r, x.broadcast(1f));
        FloatVector twoToN = shifted.reinterpretAsInts().sub(ROUNDER_BITS - 127)
                .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats(); // exponent field n + 127
        FloatVector e = p.mul(twoToN);
        return e.blend(0f, x.compare(VectorOperators.LT, LOW))
                .blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, HIGH));
    }

    /** The same function for one float: the same operations in the same order, so the same bits. */
    public static float exp(float x) {
        if (x < LOW) {
            return 0f;
        }
        if (x > HIGH) {
            return Float.POSITIVE_INFINITY;
        }
        if (Float.isNaN(x)) {
            return x;
        }
        float shifted = Math.fma(x, LOG2_E, ROUNDER);
        float n = shifted - ROUNDER;
        float r = n * -LN2_HIGH + x;
        r = Math.fma(n, -LN2_LOW, r);
        float p = Math.fma(r, C7, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        float twoToN = Float.intBitsToFloat((Float.floatToRawIntBits(shifted) - (ROUNDER_BITS - 127)) << 23);
        return p * twoToN;
    }
}
