package io.github.transformerslm.generation;

import io.github.transformerslm.generation.processors.LogitsProcessor;
import io.github.transformerslm.generation.processors.MinNewTokensProcessor;
import io.github.transformerslm.generation.processors.RepetitionPenaltyProcessor;
import io.github.transformerslm.generation.processors.TemperatureProcessor;
import io.github.transformerslm.generation.processors.TopKProcessor;
import io.github.transformerslm.generation.processors.TopPProcessor;
import io.github.transformerslm.generation.sampling.GreedySampler;
import io.github.transformerslm.generation.sampling.MultinomialSampler;
import io.github.transformerslm.generation.sampling.Sampler;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A merged generation config resolved for one prompt: every value checked, the processor chain built
 * in transformers' fixed order, the sampler chosen. Building it is where bad values are refused, before
 * any model work.
 */
public record GenerationPlan(
        int maxNewTokens,
        int numReturnSequences,
        boolean sampling,
        long seed,
        int[] eosTokenIds,
        List<String> stopStrings,
        List<LogitsProcessor> processors,
        List<LogitsProcessor> warpers,
        Sampler sampler) {

    /**
     * @param config the merged layers
     * @param promptLength tokens in the prompt, for {@code max_length} and the context check
     * @param contextLength the model's maximum positions
     * @param serviceStops what the service adds to every request's stopping (ADDITIONAL_EOS_TOKENS)
     */
    public static GenerationPlan resolve(GenerationConfig config, int promptLength, int contextLength,
            GenerationLimits limits, ServiceStops serviceStops) {
        int maxNew = maxNewTokens(config, promptLength, limits);
        if (promptLength + maxNew > contextLength) {
            throw new InvalidParameterException("max_new_tokens", "the prompt's " + promptLength
                    + " tokens plus max_new_tokens " + maxNew + " exceed the model's context of " + contextLength
                    + " tokens");
        }
        int n = config.numReturnSequences() != null ? config.numReturnSequences() : 1;
        if (n < 1 || n > limits.maxReturnSequences()) {
            throw new InvalidParameterException("num_return_sequences",
                    "num_return_sequences must be between 1 and " + limits.maxReturnSequences() + ", got " + n);
        }
        java.util.LinkedHashSet<Integer> eosIds = new java.util.LinkedHashSet<>();
        if (config.eosTokenId() != null) {
            eosIds.addAll(config.eosTokenId());
        }
        eosIds.addAll(serviceStops.eosTokenIds());
        int[] eos = eosIds.stream().mapToInt(Integer::intValue).toArray();
        for (int id : eos) {
            if (id < 0) {
                throw new InvalidParameterException("eos_token_id", "eos_token_id must be >= 0, got " + id);
            }
        }
        double temperature = config.temperature() != null ? config.temperature() : 1.0;
        if (temperature < 0 || Double.isNaN(temperature)) {
            throw new InvalidParameterException("temperature", "temperature must be >= 0, got " + temperature);
        }
        // temperature 0 is greedy, as in TGI, vLLM and OpenAI's API.
        boolean sampling = Boolean.TRUE.equals(config.doSample()) && temperature > 0;

        List<LogitsProcessor> processors = new ArrayList<>();
        if (config.repetitionPenalty() != null) {
            RepetitionPenaltyProcessor p = new RepetitionPenaltyProcessor(config.repetitionPenalty());
            if (config.repetitionPenalty() != 1.0) {
                processors.add(p);
            }
        }
        if (config.minLength() != null) {
            MinNewTokensProcessor p = MinNewTokensProcessor.minLength(config.minLength(), eos);
            if (config.minLength() > 0 && eos.length > 0) {
                processors.add(p);
            }
        }
        if (config.minNewTokens() != null) {
            MinNewTokensProcessor p = MinNewTokensProcessor.minNewTokens(config.minNewTokens(), eos);
            if (config.minNewTokens() > 0 && eos.length > 0) {
                processors.add(p);
            }
        }
        List<LogitsProcessor> warpers = new ArrayList<>();
        // Warpers validate their values even for greedy requests: a bad value is a bad request either way.
        TemperatureProcessor t = temperature > 0 ? new TemperatureProcessor(temperature) : null;
        TopKProcessor topK = config.topK() != null && config.topK() != 0 ? new TopKProcessor(config.topK(), 1) : null;
        if (config.topK() != null && config.topK() < 0) {
            throw new InvalidParameterException("top_k", "top_k must be >= 0, got " + config.topK());
        }
        TopPProcessor topP = config.topP() != null ? new TopPProcessor(config.topP(), 1) : null;
        if (sampling) {
            if (temperature != 1.0) {
                warpers.add(t);
            }
            if (topK != null) {
                warpers.add(topK);
            }
            if (topP != null && config.topP() < 1.0) {
                warpers.add(topP);
            }
        }
        long seed = config.seed() != null ? config.seed() : ThreadLocalRandom.current().nextLong();
        List<String> stops = new ArrayList<>(serviceStops.strings());
        if (config.stop() != null) {
            stops.addAll(config.stop());
        }
        Sampler sampler = sampling ? new MultinomialSampler() : new GreedySampler();
        return new GenerationPlan(maxNew, n, sampling, seed, eos, List.copyOf(stops), List.copyOf(processors),
                List.copyOf(warpers), sampler);
    }

    private static int maxNewTokens(GenerationConfig config, int promptLength, GenerationLimits limits) {
        int maxNew;
        String key;
        if (config.maxNewTokens() != null) {
            maxNew = config.maxNewTokens();
            key = "max_new_tokens";
        } else if (config.maxLength() != null) {
            maxNew = config.maxLength() - promptLength;
            key = "max_length";
            if (maxNew < 1) {
                throw new InvalidParameterException(key, "max_length " + config.maxLength()
                        + " leaves no room after the prompt's " + promptLength + " tokens");
            }
        } else {
            maxNew = limits.defaultMaxNewTokens();
            key = "max_new_tokens";
        }
        if (maxNew < 1) {
            throw new InvalidParameterException(key, key + " must be >= 1, got " + maxNew);
        }
        if (maxNew > limits.maxNewTokens()) {
            throw new InvalidParameterException(key, key + " allows " + maxNew + " new tokens, more than this service's limit of "
                    + limits.maxNewTokens());
        }
        return maxNew;
    }
}
