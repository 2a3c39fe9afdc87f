package io.github.transformerslm.generation;

import io.github.transformerslm.generation.processors.EpsilonCutoffProcessor;
import io.github.transformerslm.generation.processors.ForcedEosProcessor;
import io.github.transformerslm.generation.processors.LogitBiasProcessor;
import io.github.transformerslm.generation.processors.LogitsProcessor;
import io.github.transformerslm.generation.processors.OpenAiPenaltiesProcessor;
import io.github.transformerslm.generation.processors.MinNewTokensProcessor;
import io.github.transformerslm.generation.processors.MinPProcessor;
import io.github.transformerslm.generation.processors.NoBadWordsProcessor;
import io.github.transformerslm.generation.processors.NoRepeatNGramProcessor;
import io.github.transformerslm.generation.processors.RepetitionPenaltyProcessor;
import io.github.transformerslm.generation.processors.TemperatureProcessor;
import io.github.transformerslm.generation.processors.TopKProcessor;
import io.github.transformerslm.generation.processors.TopPProcessor;
import io.github.transformerslm.generation.processors.TypicalProcessor;
import io.github.transformerslm.generation.sampling.GreedySampler;
import io.github.transformerslm.generation.sampling.MultinomialSampler;
import io.github.transformerslm.generation.sampling.Sampler;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A merged generation config resolved for one prompt: every value checked, the processor chain built
 * in transformers' fixed order, the sampler or beam search chosen. Building it is where bad values are
 * refused, before any model work.
 *
 * @param processors transformers' logits processors, in its order (penalties, n-grams, bad words,
 *     minimum lengths, forced eos)
 * @param warpers the sampling warpers, in its order (temperature, top-k, top-p, min-p, typical,
 *     epsilon); empty when not sampling
 */
public record GenerationPlan(
        int maxNewTokens,
        int numReturnSequences,
        int numBeams,
        double lengthPenalty,
        EarlyStopping earlyStopping,
        boolean sampling,
        long seed,
        int[] eosTokenIds,
        List<String> stopStrings,
        List<LogitsProcessor> processors,
        List<LogitsProcessor> warpers,
        Sampler sampler) {

    /** transformers' early_stopping: true, false (heuristic), or "never" (the canonical beam search). */
    public enum EarlyStopping { TRUE, FALSE, NEVER }

    public boolean beamSearch() {
        return numBeams > 1;
    }

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
        int n = orDefault(config.numReturnSequences(), 1);
        if (n < 1 || n > limits.maxReturnSequences()) {
            throw new InvalidParameterException("num_return_sequences",
                    "num_return_sequences must be between 1 and " + limits.maxReturnSequences() + ", got " + n);
        }
        int beams = orDefault(config.numBeams(), 1);
        if (beams < 1 || beams > limits.maxReturnSequences()) {
            throw new InvalidParameterException("num_beams",
                    "num_beams must be between 1 and " + limits.maxReturnSequences() + ", got " + beams);
        }
        if (beams > 1 && n > beams) {
            throw new InvalidParameterException("num_return_sequences", "num_return_sequences (" + n
                    + ") cannot exceed num_beams (" + beams + ")");
        }
        double lengthPenalty = orDefault(config.lengthPenalty(), 1.0);
        if (!Double.isFinite(lengthPenalty)) {
            throw new InvalidParameterException("length_penalty", "length_penalty must be a finite number");
        }
        EarlyStopping early = config.earlyStopping() == null ? EarlyStopping.FALSE
                : EarlyStopping.valueOf(config.earlyStopping().toUpperCase(java.util.Locale.ROOT));

        LinkedHashSet<Integer> eosIds = new LinkedHashSet<>();
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
        double temperature = orDefault(config.temperature(), 1.0);
        if (temperature < 0 || Double.isNaN(temperature)) {
            throw new InvalidParameterException("temperature", "temperature must be >= 0, got " + temperature);
        }
        // temperature 0 is greedy, as in TGI, vLLM and OpenAI's API.
        boolean sampling = Boolean.TRUE.equals(config.doSample()) && temperature > 0;

        List<LogitsProcessor> processors = new ArrayList<>();
        if (config.logitBias() != null && !config.logitBias().isEmpty()) {
            processors.add(new LogitBiasProcessor(config.logitBias()));
        }
        if (config.presencePenalty() != null || config.frequencyPenalty() != null) {
            double presence = orDefault(config.presencePenalty(), 0.0);
            double frequency = orDefault(config.frequencyPenalty(), 0.0);
            OpenAiPenaltiesProcessor p = new OpenAiPenaltiesProcessor(presence, frequency);
            if (presence != 0 || frequency != 0) {
                processors.add(p);
            }
        }
        if (config.repetitionPenalty() != null) {
            RepetitionPenaltyProcessor p = new RepetitionPenaltyProcessor(config.repetitionPenalty());
            if (config.repetitionPenalty() != 1.0) {
                processors.add(p);
            }
        }
        if (config.noRepeatNgramSize() != null) {
            if (config.noRepeatNgramSize() < 0) {
                throw new InvalidParameterException("no_repeat_ngram_size",
                        "no_repeat_ngram_size must be >= 0, got " + config.noRepeatNgramSize());
            }
            if (config.noRepeatNgramSize() > 0) {
                processors.add(new NoRepeatNGramProcessor(config.noRepeatNgramSize()));
            }
        }
        if (config.badWordsIds() != null) {
            processors.add(new NoBadWordsProcessor(config.badWordsIds(), eos));
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
        if (config.forcedEosTokenId() != null) {
            processors.add(new ForcedEosProcessor(maxNew,
                    config.forcedEosTokenId().stream().mapToInt(Integer::intValue).toArray()));
        }

        // Beam sampling keeps enough candidates for every eos plus one, as transformers does.
        int minKeep = beams > 1 ? (eos.length > 0 ? eos.length + 1 : 2) : 1;
        // Warpers validate their values even for greedy requests: a bad value is a bad request either way.
        List<LogitsProcessor> warpers = new ArrayList<>();
        if (config.topK() != null && config.topK() < 0) {
            throw new InvalidParameterException("top_k", "top_k must be >= 0, got " + config.topK());
        }
        LogitsProcessor t = temperature > 0 && temperature != 1.0 ? new TemperatureProcessor(temperature) : null;
        LogitsProcessor topK = config.topK() != null && config.topK() != 0 ? new TopKProcessor(config.topK(), minKeep) : null;
        LogitsProcessor topP = config.topP() != null ? new TopPProcessor(config.topP(), minKeep) : null;
        LogitsProcessor minP = config.minP() != null ? new MinPProcessor(config.minP(), minKeep) : null;
        LogitsProcessor typical = null;
        if (config.typicalP() != null) {
            if (!(config.typicalP() > 0 && config.typicalP() <= 1)) {
                throw new InvalidParameterException("typical_p", "typical_p must be in (0, 1], got " + config.typicalP());
            }
            typical = config.typicalP() < 1.0 ? new TypicalProcessor(config.typicalP(), minKeep) : null;
        }
        LogitsProcessor epsilon = null;
        if (config.epsilonCutoff() != null) {
            if (!(config.epsilonCutoff() >= 0 && config.epsilonCutoff() < 1)) {
                throw new InvalidParameterException("epsilon_cutoff",
                        "epsilon_cutoff must be in [0, 1), got " + config.epsilonCutoff());
            }
            epsilon = config.epsilonCutoff() > 0 ? new EpsilonCutoffProcessor(config.epsilonCutoff(), minKeep) : null;
        }
        if (sampling) {
            addIf(warpers, t);
            addIf(warpers, topK);
            if (config.topP() != null && config.topP() < 1.0) {
                warpers.add(topP);
            }
            addIf(warpers, minP);
            addIf(warpers, typical);
            addIf(warpers, epsilon);
        }
        long seed = config.seed() != null ? config.seed() : ThreadLocalRandom.current().nextLong();
        List<String> stops = new ArrayList<>(serviceStops.strings());
        if (config.stop() != null) {
            stops.addAll(config.stop());
        }
        Sampler sampler = sampling ? new MultinomialSampler() : new GreedySampler();
        return new GenerationPlan(maxNew, n, beams, lengthPenalty, early, sampling, seed, eos, List.copyOf(stops),
                List.copyOf(processors), List.copyOf(warpers), sampler);
    }

    private static void addIf(List<LogitsProcessor> list, LogitsProcessor p) {
        if (p != null) {
            list.add(p);
        }
    }

    private static <T> T orDefault(T value, T fallback) {
        return value != null ? value : fallback;
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
            throw new InvalidParameterException(key, key + " allows " + maxNew
                    + " new tokens, more than this service's limit of " + limits.maxNewTokens());
        }
        return maxNew;
    }
}
