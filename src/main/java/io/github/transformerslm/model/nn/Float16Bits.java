package io.github.transformerslm.model.nn;

/**
 * IEEE 754 binary16 conversions for values Java holds as floats (Java 17 has no {@code Float.floatToFloat16}).
 * Used where float16 data is written and read outside libtorch: the KV cache of a float16 model.
 */
public final class Float16Bits {
    /** The largest finite float16, 65504. */
    public static final float MAX = 65504f;

    private Float16Bits() {}

    /**
     * The float16 nearest to {@code f} (ties to even, as libtorch's cast rounds), except that values beyond
     * the float16 range saturate at ±65504 instead of becoming infinite: a key or value that a float32
     * forward pass computed finite stays finite in the cache. NaN stays NaN.
     */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) {
            return (short) (sign | 0x7e00); // NaN
        }
        if (abs >= 0x477ff000) { // 65520 and above (infinity included) would round to infinity
            return (short) (sign | 0x7bff);
        }
        if (abs >= 0x38800000) { // a normal float16: round the 13 dropped mantissa bits to nearest even
            int rounded = abs + 0x0fff + ((abs >>> 13) & 1);
            return (short) (sign | ((rounded - 0x38000000) >>> 13));
        }
        if (abs < 0x33000000) { // at most half the smallest subnormal, 2^-25: rounds to zero
            return (short) sign;
        }
        // A float16 subnormal: m × 2^-24 with m = round(significand × 2^(exponent - 126)).
        int exponent = abs >>> 23;
        int significand = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - exponent; // 14..24
        int m = significand >>> shift;
        int rest = significand & ((1 << shift) - 1);
        int halfway = 1 << (shift - 1);
        if (rest > halfway || (rest == halfway && (m & 1) != 0)) {
            m++; // may carry into the smallest normal, whose encoding follows the largest subnormal's
        }
        return (short) (sign | m);
    }

    /** The float value of float16 bits {@code h}, exactly (subnormals included; infinity and NaN too). */
    public static float toFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int magnitude = bits & 0x7fff;
        if (magnitude >= 0x7c00) {
            return Float.intBitsToFloat(sign | 0x7f800000 | ((magnitude & 0x3ff) << 13));
        }
        // Exponent and mantissa moved into a float's places, then rescaled by 2^112 (bias 127 against 15).
        return Float.intBitsToFloat(sign | Float.floatToRawIntBits(Float.intBitsToFloat(magnitude << 13) * 0x1.0p112f));
    }
}
