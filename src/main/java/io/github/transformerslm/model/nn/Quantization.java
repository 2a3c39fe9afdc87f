package io.github.transformerslm.model.nn;

import java.util.Locale;

/**
 * How matrix weights are held in memory (QUANTIZE): as loaded (float32 or float16), or quantized at load
 * to 8 or 4 bits with one float16 scale per block of {@link #BLOCK} inputs of each output (the scheme of
 * llama.cpp's Q8_0 and Q4_0). Norms and the KV cache stay in floating point; int8 products take float32
 * inputs, and int4 products round their inputs to 8 bits per block of 32 as llama.cpp's Q4_0 products do.
 */
public enum Quantization {
    NONE(32),
    INT8(8),
    INT4(4);

    /** Inputs that share one scale. */
    public static final int BLOCK = 32;

    private final int bits;

    Quantization(int bits) {
        this.bits = bits;
    }

    public int bits() {
        return bits;
    }

    /** "none", "int8" or "int4" (what QUANTIZE takes). */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** "int8", "int4" or "none", any case. */
    public static Quantization parse(String value) {
        return switch (value == null ? "" : value.trim().toLowerCase(Locale.ROOT)) {
            case "", "none" -> NONE;
            case "int8" -> INT8;
            case "int4" -> INT4;
            default -> throw new IllegalArgumentException("not int8, int4 or none: " + value);
        };
    }
}
