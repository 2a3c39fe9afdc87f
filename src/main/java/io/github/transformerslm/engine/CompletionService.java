package io.github.transformerslm.engine;

import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationPlan;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.ServiceStops;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.springframework.stereotype.Service;

/**
 * Turns prompts with merged generation configs into one batch for the model, and the batch's rows back
 * into each prompt's sequences. Everything a request could get wrong is checked here, before queueing.
 */
@Service
public class CompletionService {
    /** A text prompt and its fully merged generation parameters. */
    public record Prompt(String text, GenerationConfig config) {}

    /** A prompt's answer: its tokens count, its plan, and its num_return_sequences sequences. */
    public record Completion(int promptTokens, GenerationPlan plan, List<GeneratedSequence> sequences) {}

    private final ModelHost host;
    private final ServiceProperties properties;
    private volatile ServiceStops serviceStops;

    public CompletionService(ModelHost host, ServiceProperties properties) {
        this.host = host;
        this.properties = properties;
    }

    /**
     * Generates every prompt in one batch. {@code paramPrefix} names where a prompt's parameters came
     * from in error messages (e.g. {@code configs[1].}).
     */
    public List<Completion> complete(List<Prompt> prompts, List<String> paramPrefix, boolean addServiceStops) {
        LoadedModel model = host.model();
        int context = model.model().shape().maxPositions();
        ServiceStops stops = addServiceStops ? serviceStops(model) : ServiceStops.NONE;
        List<GenerationRow> rows = new ArrayList<>();
        List<int[]> promptIds = new ArrayList<>();
        List<GenerationPlan> plans = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            Prompt p = prompts.get(i);
            int[] ids = model.tokenizer().encode(p.text());
            if (ids.length == 0) {
                throw new InvalidParameterException(paramPrefix.get(i) + "prompt", "the prompt is empty after tokenization");
            }
            GenerationPlan plan;
            try {
                plan = GenerationPlan.resolve(p.config(), ids.length, context, host.limits(), stops);
            } catch (InvalidParameterException e) {
                throw new InvalidParameterException(paramPrefix.get(i) + e.parameter(), e.getMessage());
            }
            rows.add(new GenerationRow(ids, plan, new SplittableRandom(plan.seed())));
            promptIds.add(ids);
            plans.add(plan);
        }
        List<List<GeneratedSequence>> generated = await(host, rows);
        List<Completion> out = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            out.add(new Completion(promptIds.get(i).length, plans.get(i), generated.get(i)));
        }
        return out;
    }

    private static List<List<GeneratedSequence>> await(ModelHost host, List<GenerationRow> rows) {
        try {
            return host.generate(rows).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the model", e);
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("generation failed: " + cause.getMessage(), cause);
        }
    }

    /**
     * ADDITIONAL_EOS_TOKENS plus the tokenizer's eos token, as Dream adds it. A string that is exactly
     * one vocabulary token is matched by id (special tokens never appear in decoded text); any other
     * string is matched in the text.
     */
    private ServiceStops serviceStops(LoadedModel model) {
        ServiceStops cached = serviceStops;
        if (cached != null) {
            return cached;
        }
        Set<Integer> ids = new LinkedHashSet<>();
        List<String> strings = new ArrayList<>();
        List<String> tokens = new ArrayList<>(properties.additionalEosTokenList());
        model.tokenizer().eosToken().ifPresent(tokens::add);
        for (String token : tokens) {
            model.tokenizer().singleTokenId(token).ifPresentOrElse(ids::add, () -> strings.add(token));
        }
        cached = new ServiceStops(List.copyOf(ids), List.copyOf(strings));
        serviceStops = cached;
        return cached;
    }
}
