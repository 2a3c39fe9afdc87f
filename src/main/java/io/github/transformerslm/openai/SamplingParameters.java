package io.github.transformerslm.openai;

import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.InvalidParameterException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The sampling keys both OpenAI endpoints share, mapped onto transformers' generation parameters:
 * temperature decides sampling (0 is greedy), max_tokens is max_new_tokens, n is num_return_sequences.
 * vLLM's extensions top_k, min_p and repetition_penalty are accepted too. Unknown keys are refused.
 */
final class SamplingParameters {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** OpenAI key → transformers key, for keys that translate one to one. */
    private static final Map<String, String> RENAMED = Map.ofEntries(
            Map.entry("temperature", "temperature"), Map.entry("top_p", "top_p"), Map.entry("n", "num_return_sequences"),
            Map.entry("stop", "stop"), Map.entry("seed", "seed"), Map.entry("presence_penalty", "presence_penalty"),
            Map.entry("frequency_penalty", "frequency_penalty"), Map.entry("logit_bias", "logit_bias"),
            Map.entry("top_k", "top_k"), Map.entry("min_p", "min_p"), Map.entry("repetition_penalty", "repetition_penalty"),
            Map.entry("max_tokens", "max_new_tokens"), Map.entry("max_completion_tokens", "max_new_tokens"));

    private SamplingParameters() {}

    /**
     * @param endpointKeys keys the endpoint handles itself (messages, prompt, stream...)
     * @param modelDefaults the model's generation_config.json layer
     */
    static GenerationConfig parse(JsonNode body, Set<String> endpointKeys, GenerationConfig modelDefaults) {
        ObjectNode hf = JSON.createObjectNode();
        for (Map.Entry<String, JsonNode> e : body.properties()) {
            String key = e.getKey();
            if (endpointKeys.contains(key)) {
                continue;
            }
            String mapped = RENAMED.get(key);
            if (mapped == null) {
                throw new OpenAiException(400, key, "unknown_parameter", "unrecognized request argument: " + key);
            }
            if (!e.getValue().isNull()) {
                hf.set(mapped, e.getValue());
            }
        }
        GenerationConfig request;
        try {
            request = GenerationConfigParser.parse(hf);
        } catch (InvalidParameterException e) {
            throw new OpenAiException(400, openAiName(e.field()), "invalid_value", e.getMessage());
        }
        // Sampling follows temperature (OpenAI's default 1.0), not the model's do_sample.
        GenerationConfig merged = modelDefaults.overlay(request);
        double temperature = merged.temperature() != null ? merged.temperature() : 1.0;
        if (temperature < 0 || temperature > 2) {
            throw new OpenAiException(400, "temperature", "invalid_value",
                    "temperature must be between 0 and 2, got " + temperature);
        }
        Map<String, Object> sampling = new LinkedHashMap<>();
        sampling.put("do_sample", temperature > 0);
        sampling.put("temperature", temperature);
        return merged.overlay(GenerationConfigParser.parse(JSON.valueToTree(sampling)));
    }

    /** Request attribute: the top-level keys the client sent, so that errors name parameters its way. */
    static final String SENT_KEYS = SamplingParameters.class.getName() + ".sentKeys";

    static void rememberSentKeys(jakarta.servlet.http.HttpServletRequest request, JsonNode body) {
        java.util.Set<String> keys = new java.util.HashSet<>();
        body.propertyNames().forEach(keys::add);
        request.setAttribute(SENT_KEYS, keys);
    }

    static String openAiName(String hfKey) {
        return openAiName(hfKey, java.util.Set.of());
    }

    /** The OpenAI name of one of our parameters: the key the client sent where several map to it. */
    static String openAiName(String hfKey, java.util.Set<String> sent) {
        String fallback = hfKey;
        for (Map.Entry<String, String> e : RENAMED.entrySet()) {
            if (e.getValue().equals(hfKey) && !e.getKey().equals(hfKey)) {
                if (sent.contains(e.getKey())) {
                    return e.getKey();
                }
                if (!e.getKey().equals("max_completion_tokens")) {
                    fallback = e.getKey();
                }
            }
        }
        return fallback;
    }
}
