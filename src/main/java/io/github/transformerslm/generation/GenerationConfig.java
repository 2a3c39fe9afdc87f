package io.github.transformerslm.generation;

import java.util.List;

/**
 * One layer of generation parameters, with transformers' key names; a null field is "not set in this
 * layer". Layers are merged with {@link #overlay}: the model's generation_config.json, then the
 * service's generative_configs file, then the request.
 */
public record GenerationConfig(
        Integer maxNewTokens,
        Integer maxLength,
        Integer minNewTokens,
        Integer minLength,
        Boolean doSample,
        Double temperature,
        Integer topK,
        Double topP,
        Double repetitionPenalty,
        Integer numReturnSequences,
        List<Integer> eosTokenId,
        Integer padTokenId,
        Long seed,
        List<String> stop) {

    public static final GenerationConfig EMPTY =
            new GenerationConfig(null, null, null, null, null, null, null, null, null, null, null, null, null, null);

    /** transformers' GenerationConfig() defaults that matter here: sampling keeps the 50 best tokens. */
    public static final GenerationConfig TRANSFORMERS_DEFAULTS =
            new GenerationConfig(null, null, null, null, false, 1.0, 50, 1.0, 1.0, 1, null, null, null, null);

    /** TGI's defaults: greedy unless asked, one sequence, no top-k unless asked. */
    public static final GenerationConfig TGI_DEFAULTS =
            new GenerationConfig(100, null, null, null, false, 1.0, null, 1.0, 1.0, 1, null, null, null, null);

    /** This layer with every field that {@code over} sets replaced by its value. */
    public GenerationConfig overlay(GenerationConfig over) {
        return new GenerationConfig(
                pick(over.maxNewTokens, maxNewTokens),
                pick(over.maxLength, maxLength),
                pick(over.minNewTokens, minNewTokens),
                pick(over.minLength, minLength),
                pick(over.doSample, doSample),
                pick(over.temperature, temperature),
                pick(over.topK, topK),
                pick(over.topP, topP),
                pick(over.repetitionPenalty, repetitionPenalty),
                pick(over.numReturnSequences, numReturnSequences),
                pick(over.eosTokenId, eosTokenId),
                pick(over.padTokenId, padTokenId),
                pick(over.seed, seed),
                pick(over.stop, stop));
    }

    private static <T> T pick(T over, T base) {
        return over != null ? over : base;
    }
}
