package io.github.transformerslm.generation;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import tools.jackson.databind.JsonNode;

/**
 * Reads one layer of generation parameters from JSON. Only known keys: an unknown key is an error
 * naming it, so that a typo never silently falls back to a default. Type errors name the key too.
 */
public final class GenerationConfigParser {
    /** Keys transformers writes into generation_config.json that mean nothing to generation here. */
    private static final Set<String> MODEL_FILE_METADATA =
            Set.of("_from_model_config", "transformers_version", "bos_token_id", "decoder_start_token_id");

    private static final Map<String, BiConsumer<Builder, JsonNode>> KEYS = new HashMap<>();

    static {
        KEYS.put("max_new_tokens", (b, v) -> b.maxNewTokens = integer("max_new_tokens", v));
        KEYS.put("max_length", (b, v) -> b.maxLength = integer("max_length", v));
        KEYS.put("min_new_tokens", (b, v) -> b.minNewTokens = integer("min_new_tokens", v));
        KEYS.put("min_length", (b, v) -> b.minLength = integer("min_length", v));
        KEYS.put("do_sample", (b, v) -> b.doSample = bool("do_sample", v));
        KEYS.put("temperature", (b, v) -> b.temperature = number("temperature", v));
        KEYS.put("top_k", (b, v) -> b.topK = integer("top_k", v));
        KEYS.put("top_p", (b, v) -> b.topP = number("top_p", v));
        KEYS.put("min_p", (b, v) -> b.minP = number("min_p", v));
        KEYS.put("typical_p", (b, v) -> b.typicalP = number("typical_p", v));
        KEYS.put("epsilon_cutoff", (b, v) -> b.epsilonCutoff = number("epsilon_cutoff", v));
        KEYS.put("repetition_penalty", (b, v) -> b.repetitionPenalty = number("repetition_penalty", v));
        KEYS.put("no_repeat_ngram_size", (b, v) -> b.noRepeatNgramSize = integer("no_repeat_ngram_size", v));
        KEYS.put("bad_words_ids", (b, v) -> b.badWordsIds = integerLists("bad_words_ids", v));
        KEYS.put("num_return_sequences", (b, v) -> b.numReturnSequences = integer("num_return_sequences", v));
        KEYS.put("num_beams", (b, v) -> b.numBeams = integer("num_beams", v));
        KEYS.put("length_penalty", (b, v) -> b.lengthPenalty = number("length_penalty", v));
        KEYS.put("early_stopping", (b, v) -> b.earlyStopping = earlyStopping("early_stopping", v));
        KEYS.put("eos_token_id", (b, v) -> b.eosTokenId = integers("eos_token_id", v));
        KEYS.put("forced_eos_token_id", (b, v) -> b.forcedEosTokenId = integers("forced_eos_token_id", v));
        KEYS.put("pad_token_id", (b, v) -> b.padTokenId = integer("pad_token_id", v));
        KEYS.put("seed", (b, v) -> b.seed = longInteger("seed", v));
        KEYS.put("stop", (b, v) -> b.stop = strings("stop", v));
        KEYS.put("replacement", (b, v) -> b.replacement = replacementPairs("replacement", v));
        KEYS.put("presence_penalty", (b, v) -> b.presencePenalty = number("presence_penalty", v));
        KEYS.put("frequency_penalty", (b, v) -> b.frequencyPenalty = number("frequency_penalty", v));
        KEYS.put("logit_bias", (b, v) -> b.logitBias = logitBias("logit_bias", v));
    }

    private GenerationConfigParser() {}

    public static Set<String> knownKeys() {
        return Collections.unmodifiableSet(KEYS.keySet());
    }

    /** Parses a JSON object given as text (tests, fixed service settings). */
    public static GenerationConfig parse(String json) {
        return parse(tools.jackson.databind.json.JsonMapper.builder().build().readTree(json));
    }

    /** A request's or the service's layer: every key must be known. Null values mean "not set". */
    public static GenerationConfig parse(JsonNode object) {
        return parse(object, Set.of(), null);
    }

    /**
     * Like {@link #parse(JsonNode)} but keys in {@code ignored} are skipped (the caller handles them), and
     * unknown keys are reported to {@code unknownSink} instead of failing when it is not null.
     */
    public static GenerationConfig parse(JsonNode object, Set<String> ignored, List<String> unknownSink) {
        if (object == null || object.isNull() || object.isMissingNode()) {
            return GenerationConfig.EMPTY;
        }
        if (!object.isObject()) {
            throw new InvalidParameterException("parameters", "generation parameters must be a JSON object");
        }
        Builder b = new Builder();
        for (Map.Entry<String, JsonNode> e : object.properties()) {
            String key = e.getKey();
            if (ignored.contains(key)) {
                continue;
            }
            BiConsumer<Builder, JsonNode> setter = KEYS.get(key);
            if (setter == null) {
                if (unknownSink != null) {
                    unknownSink.add(key);
                    continue;
                }
                throw new UnknownParameterException(key, "unknown generation parameter '" + key + "' (known: "
                        + String.join(", ", new java.util.TreeSet<>(KEYS.keySet())) + ")");
            }
            if (!e.getValue().isNull()) {
                setter.accept(b, e.getValue());
            }
        }
        return b.build();
    }

    /** The model's generation_config.json: metadata skipped, unsupported keys returned for a warning. */
    public static GenerationConfig parseModelFile(JsonNode object, List<String> unsupported) {
        return parse(object, MODEL_FILE_METADATA, unsupported);
    }

    /** A value as an error message shows it: long numbers cut, so that a 401-digit one is not echoed whole. */
    public static String shown(JsonNode v) {
        String text = String.valueOf(v);
        return text.length() <= 40 ? text : text.substring(0, 37) + "...";
    }

    /** A JSON number as a double, or NaN-free failure: huge integers and decimals become infinite here. */
    public static double finiteDouble(String key, JsonNode v) {
        double d = v.isBigInteger() || v.isBigDecimal() ? v.decimalValue().doubleValue() : v.doubleValue();
        if (!Double.isFinite(d)) {
            throw new InvalidParameterException(key, key + " must be a finite number, got " + shown(v));
        }
        return d;
    }

    private static Integer integer(String key, JsonNode v) {
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new InvalidParameterException(key, key + " must be an integer between " + Integer.MIN_VALUE + " and "
                    + Integer.MAX_VALUE + ", got " + shown(v));
        }
        return v.intValue();
    }

    private static Long longInteger(String key, JsonNode v) {
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new InvalidParameterException(key, key + " must be a 64-bit integer, got " + shown(v));
        }
        return v.longValue();
    }

    private static Double number(String key, JsonNode v) {
        if (!v.isNumber()) {
            throw new InvalidParameterException(key, key + " must be a number, got " + shown(v));
        }
        return finiteDouble(key, v);
    }

    private static Boolean bool(String key, JsonNode v) {
        if (!v.isBoolean()) {
            throw new InvalidParameterException(key, key + " must be true or false, got " + v);
        }
        return v.booleanValue();
    }

    private static List<Integer> integers(String key, JsonNode v) {
        if (v.isIntegralNumber()) {
            return List.of(integer(key, v));
        }
        if (!v.isArray()) {
            throw new InvalidParameterException(key, key + " must be an integer or a list of integers, got " + v);
        }
        Set<Integer> out = new LinkedHashSet<>();
        for (JsonNode item : v) {
            out.add(integer(key, item));
        }
        return List.copyOf(out);
    }

    private static List<List<Integer>> integerLists(String key, JsonNode v) {
        if (!v.isArray()) {
            throw new InvalidParameterException(key, key + " must be a list of lists of token ids, got " + v);
        }
        List<List<Integer>> out = new ArrayList<>();
        for (JsonNode item : v) {
            if (!item.isArray()) {
                throw new InvalidParameterException(key, key + " must be a list of lists of token ids, got " + v);
            }
            List<Integer> ids = new ArrayList<>();
            for (JsonNode id : item) {
                ids.add(integer(key, id));
            }
            out.add(List.copyOf(ids));
        }
        return List.copyOf(out);
    }

    /** OpenAI's {"token id": bias} with biases in [-100, 100]. */
    private static java.util.Map<Integer, Double> logitBias(String key, JsonNode v) {
        if (!v.isObject()) {
            throw new InvalidParameterException(key, key + " must map token ids to biases, got " + v);
        }
        java.util.Map<Integer, Double> out = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw new InvalidParameterException(key, key + " keys must be token ids, got '" + e.getKey() + "'");
            }
            if (!e.getValue().isNumber() || Math.abs(finiteDouble("logit_bias", e.getValue())) > 100 || id < 0) {
                throw new InvalidParameterException(key, key + " biases must be numbers in [-100, 100] for token ids"
                        + " >= 0, got " + e.getKey() + ": " + e.getValue());
            }
            out.put(id, finiteDouble("logit_bias", e.getValue()));
        }
        return java.util.Map.copyOf(out);
    }

    /** transformers accepts true, false and "never". */
    private static String earlyStopping(String key, JsonNode v) {
        if (v.isBoolean()) {
            return Boolean.toString(v.booleanValue());
        }
        if (v.isString() && v.asString().equals("never")) {
            return "never";
        }
        throw new InvalidParameterException(key, key + " must be true, false or \"never\", got " + v);
    }

    /** Dream's [[pattern, replacement], ...]. */
    private static List<List<String>> replacementPairs(String key, JsonNode v) {
        if (!v.isArray()) {
            throw new InvalidParameterException(key, key + " must be a list of [pattern, replacement] pairs");
        }
        List<List<String>> out = new ArrayList<>();
        for (JsonNode pair : v) {
            if (!pair.isArray() || pair.size() != 2 || !pair.get(0).isString() || !pair.get(1).isString()
                    || pair.get(0).asString().isEmpty() || pair.get(1).asString().isEmpty()) {
                throw new InvalidParameterException(key, key + " must hold [pattern, replacement] pairs of non-empty"
                        + " strings, got " + pair);
            }
            out.add(List.of(pair.get(0).asString(), pair.get(1).asString()));
        }
        return List.copyOf(out);
    }

    private static List<String> strings(String key, JsonNode v) {
        if (v.isString()) {
            return List.of(v.asString());
        }
        if (!v.isArray()) {
            throw new InvalidParameterException(key, key + " must be a string or a list of strings, got " + v);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode item : v) {
            if (!item.isString() || item.asString().isEmpty()) {
                throw new InvalidParameterException(key, key + " must hold non-empty strings, got " + item);
            }
            out.add(item.asString());
        }
        return List.copyOf(out);
    }

    private static final class Builder {
        Integer maxNewTokens;
        Integer maxLength;
        Integer minNewTokens;
        Integer minLength;
        Boolean doSample;
        Double temperature;
        Integer topK;
        Double topP;
        Double minP;
        Double typicalP;
        Double epsilonCutoff;
        Double repetitionPenalty;
        Integer noRepeatNgramSize;
        List<List<Integer>> badWordsIds;
        Integer numReturnSequences;
        Integer numBeams;
        Double lengthPenalty;
        String earlyStopping;
        List<Integer> eosTokenId;
        List<Integer> forcedEosTokenId;
        Integer padTokenId;
        Long seed;
        List<String> stop;
        List<List<String>> replacement;
        Double presencePenalty;
        Double frequencyPenalty;
        java.util.Map<Integer, Double> logitBias;

        GenerationConfig build() {
            return new GenerationConfig(maxNewTokens, maxLength, minNewTokens, minLength, doSample, temperature, topK, topP, minP, typicalP, epsilonCutoff, repetitionPenalty, noRepeatNgramSize, badWordsIds, numReturnSequences, numBeams, lengthPenalty, earlyStopping, eosTokenId, forcedEosTokenId, padTokenId, seed, stop, replacement, presencePenalty, frequencyPenalty, logitBias);
        }
    }
}
