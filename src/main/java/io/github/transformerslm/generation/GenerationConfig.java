package io.github.transformerslm.generation;

import java.util.List;

/**
 * One layer of generation parameters, with transformers' key names; a null field is "not set in this
 * layer". Layers are merged with {@link #overlay}: the model's generation_config.json, then the
 * service's generative_configs file, then the request. {@code seed} and {@code stop} are TGI's;
 * {@code replacement} is Dream's (applied to /respond's input and reversed on its output);
 * {@code presence_penalty}, {@code frequency_penalty} and {@code logit_bias} are OpenAI's.
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
        Double minP,
        Double typicalP,
        Double epsilonCutoff,
        Double repetitionPenalty,
        Integer noRepeatNgramSize,
        List<List<Integer>> badWordsIds,
        Integer numReturnSequences,
        Integer numBeams,
        Double lengthPenalty,
        String earlyStopping,
        List<Integer> eosTokenId,
        List<Integer> forcedEosTokenId,
        Integer padTokenId,
        Long seed,
        List<String> stop,
        List<List<String>> replacement,
        Double presencePenalty,
        Double frequencyPenalty,
        java.util.Map<Integer, Double> logitBias) {

    public static final GenerationConfig EMPTY = new GenerationConfig(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);

    /** transformers' GenerationConfig() defaults that matter here: sampling keeps the 50 best tokens. */
    public static final GenerationConfig TRANSFORMERS_DEFAULTS = new GenerationConfig(null, null, null, null, false, 1.0, 50, 1.0, null, null, null, 1.0, null, null, 1, 1, 1.0, null, null, null, null, null, null, null, null, null, null);

    /** TGI's defaults: greedy unless asked, one sequence, 100 new tokens, no top-k unless asked. */
    public static final GenerationConfig TGI_DEFAULTS = new GenerationConfig(100, null, null, null, false, 1.0, null, 1.0, null, null, null, 1.0, null, null, 1, 1, 1.0, null, null, null, null, null, null, null, null, null, null);

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
                pick(over.minP, minP),
                pick(over.typicalP, typicalP),
                pick(over.epsilonCutoff, epsilonCutoff),
                pick(over.repetitionPenalty, repetitionPenalty),
                pick(over.noRepeatNgramSize, noRepeatNgramSize),
                pick(over.badWordsIds, badWordsIds),
                pick(over.numReturnSequences, numReturnSequences),
                pick(over.numBeams, numBeams),
                pick(over.lengthPenalty, lengthPenalty),
                pick(over.earlyStopping, earlyStopping),
                pick(over.eosTokenId, eosTokenId),
                pick(over.forcedEosTokenId, forcedEosTokenId),
                pick(over.padTokenId, padTokenId),
                pick(over.seed, seed),
                pick(over.stop, stop),
                pick(over.replacement, replacement),
                pick(over.presencePenalty, presencePenalty),
                pick(over.frequencyPenalty, frequencyPenalty),
                pick(over.logitBias, logitBias));
    }

    private static <T> T pick(T over, T base) {
        return over != null ? over : base;
    }
}
