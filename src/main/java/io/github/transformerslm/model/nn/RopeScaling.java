package io.github.transformerslm.model.nn;

import io.github.transformerslm.weights.CheckpointException;
import java.util.Locale;
import tools.jackson.databind.JsonNode;

/**
 * Rotary frequencies for every {@code rope_scaling} type of transformers' {@code modeling_rope_utils.py}
 * (4.47): default, linear, dynamic (NTK), ntk, yarn, llama3, longrope (and its old name su). Types that
 * depend on the sequence length (dynamic, longrope) are evaluated per step from the longest position.
 */
public final class RopeScaling {
    /** Inverse frequencies for rotaryDim / 2 pairs and the factor cos and sin are multiplied by. */
    public record Frequencies(float[] inverse, float attentionScaling) {}

    private final String type;
    private final double base;
    private final int dim;
    private final int maxPositions;
    private final JsonNode params;
    private final int originalMaxPositions;
    private final Frequencies fixed;

    private RopeScaling(String type, double base, int dim, int maxPositions, JsonNode params, int originalMaxPositions) {
        this.type = type;
        this.base = base;
        this.dim = dim;
        this.maxPositions = maxPositions;
        this.params = params;
        this.originalMaxPositions = originalMaxPositions;
        this.fixed = switch (type) {
            case "default" -> new Frequencies(defaults(base), 1f);
            case "linear" -> linear();
            case "ntk" -> new Frequencies(defaults(base * Math.pow(factor(), dim / (dim - 2.0))), 1f);
            case "yarn" -> yarn();
            case "llama3" -> llama3();
            case "dynamic", "longrope" -> null;
            default -> throw new CheckpointException("config.json: rope_scaling type '" + type
                    + "' is not supported (supported: default, linear, dynamic, ntk, yarn, llama3, longrope, su)");
        };
    }

    /**
     * @param ropeScaling config.json's rope_scaling (null or JSON null for none)
     * @param originalMaxPositions Phi-3's top-level original_max_position_embeddings, or 0
     */
    public static RopeScaling fromConfig(JsonNode ropeScaling, double theta, int rotaryDim, int maxPositions,
            int originalMaxPositions) {
        if (ropeScaling == null || ropeScaling.isNull() || ropeScaling.isMissingNode()) {
            return new RopeScaling("default", theta, rotaryDim, maxPositions, null, originalMaxPositions);
        }
        String type = ropeScaling.path("rope_type").asString(ropeScaling.path("type").asString("default"))
                .toLowerCase(Locale.ROOT);
        if (type.equals("su")) {
            type = "longrope";
        }
        return new RopeScaling(type, theta, rotaryDim, maxPositions, ropeScaling, originalMaxPositions);
    }

    public static RopeScaling none(double theta, int rotaryDim) {
        return new RopeScaling("default", theta, rotaryDim, Integer.MAX_VALUE, null, 0);
    }

    public String type() {
        return type;
    }

    /** The frequencies in force when the longest sequence of a step reaches {@code seqLen} positions. */
    public Frequencies at(int seqLen) {
        if (fixed != null) {
            return fixed;
        }
        return type.equals("dynamic") ? dynamic(seqLen) : longrope(seqLen);
    }

    private double factor() {
        JsonNode f = params.path("factor");
        if (!f.isNumber()) {
            throw new CheckpointException("config.json: rope_scaling '" + type + "' needs a numeric factor");
        }
        return f.doubleValue();
    }

    /** 1 / base^(2i/dim), in float32 as transformers computes it. */
    private float[] defaults(double b) {
        float[] inv = new float[dim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = (float) (1.0 / Math.pow(b, (float) (2 * i) / (float) dim));
        }
        return inv;
    }

    private Frequencies linear() {
        float[] inv = defaults(base);
        float f = (float) factor();
        for (int i = 0; i < inv.length; i++) {
            inv[i] /= f;
        }
        return new Frequencies(inv, 1f);
    }

    private Frequencies dynamic(int seqLen) {
        double f = factor();
        int len = Math.max(seqLen, maxPositions);
        double b = base * Math.pow((f * len / maxPositions) - (f - 1), dim / (dim - 2.0));
        return new Frequencies(defaults(b), 1f);
    }

    private Frequencies yarn() {
        double f = factor();
        double attention = params.path("attention_factor").isNumber() ? params.path("attention_factor").doubleValue()
                : 0.1 * Math.log(f) + 1.0;
        double betaFast = params.path("beta_fast").isNumber() ? params.path("beta_fast").doubleValue() : 32;
        double betaSlow = params.path("beta_slow").isNumber() ? params.path("beta_slow").doubleValue() : 1;
        double low = Math.max(Math.floor(correctionDim(betaFast)), 0);
        double high = Math.min(Math.ceil(correctionDim(betaSlow)), dim - 1);
        if (low == high) {
            high += 0.001;
        }
        float[] inv = new float[dim / 2];
        for (int i = 0; i < inv.length; i++) {
            double posFreq = Math.pow(base, (float) (2 * i) / (float) dim);
            double extrapolation = 1.0 / posFreq;
            double interpolation = 1.0 / (f * posFreq);
            double ramp = Math.min(Math.max((i - low) / (high - low), 0), 1);
            double extrapolationFactor = 1 - ramp;
            inv[i] = (float) (interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor);
        }
        return new Frequencies(inv, (float) attention);
    }

    private double correctionDim(double rotations) {
        return (dim * Math.log(maxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
    }

    private Frequencies llama3() {
        double f = factor();
        double lowFreqFactor = params.path("low_freq_factor").asDouble(1);
        double highFreqFactor = params.path("high_freq_factor").asDouble(4);
        double oldContext = params.path("original_max_position_embeddings").asDouble(8192);
        double lowFreqWavelen = oldContext / lowFreqFactor;
        double highFreqWavelen = oldContext / highFreqFactor;
        float[] inv = defaults(base);
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowFreqWavelen) {
                inv[i] = (float) (inv[i] / f);
            } else if (wavelen >= highFreqWavelen) {
                double smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                inv[i] = (float) ((1 - smooth) * inv[i] / f + smooth * inv[i]);
            }
        }
        return new Frequencies(inv, 1f);
    }

    /** Phi-3's LongRoPE: short factors up to the original context, long factors beyond it. */
    private Frequencies longrope(int seqLen) {
        int original = originalMaxPositions > 0 ? originalMaxPositions
                : params.path("original_max_position_embeddings").asInt(maxPositions);
        double scale = (double) maxPositions / original;
        double attention = params.path("attention_factor").isNumber() ? params.path("attention_factor").doubleValue()
                : scale <= 1.0 ? 1.0 : Math.sqrt(1 + Math.log(scale) / Math.log(original));
        JsonNode factors = seqLen > original ? params.path("long_factor") : params.path("short_factor");
        if (!factors.isArray() || factors.size() != dim / 2) {
            throw new CheckpointException("config.json: rope_scaling longrope needs short_factor and long_factor of "
                    + dim / 2 + " numbers");
        }
        float[] inv = new float[dim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = (float) (1.0 / (factors.get(i).floatValue() * Math.pow(base, (float) (2 * i) / (float) dim)));
        }
        return new Frequencies(inv, (float) attention);
    }
}
