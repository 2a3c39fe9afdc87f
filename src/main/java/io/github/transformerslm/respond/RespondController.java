package io.github.transformerslm.respond;

import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.engine.CompletionService;
import io.github.transformerslm.engine.CompletionService.Prompt;
import io.github.transformerslm.engine.ModelHost;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.web.InvalidRequestException;
import io.github.transformerslm.web.JsonBodies;
import io.github.transformerslm.engine.RequestContext;
import jakarta.servlet.http.HttpServletRequest;
import java.util.ArrayList;
import org.springframework.http.ResponseEntity;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;

/**
 * Dream's {@code POST /respond}: {@code dialog_contexts}, optional {@code prompts} and {@code configs}
 * of the same length; answers one list of hypotheses per dialog. Each config is merged over the
 * defaults (model, then GENERATIVE_CONFIG), not substituted for them.
 */
@RestController
class RespondController {
    private static final Logger log = LoggerFactory.getLogger(RespondController.class);

    private final CompletionService completions;
    private final ModelHost host;
    private final DreamGenerativeConfig serviceDefaults;
    private final ServiceProperties properties;

    RespondController(CompletionService completions, ModelHost host, DreamGenerativeConfig serviceDefaults,
            ServiceProperties properties) {
        this.completions = completions;
        this.host = host;
        this.serviceDefaults = serviceDefaults;
        this.properties = properties;
    }

    /** Names, per dialog, how many of its oldest utterances were dropped to fit the model's context. */
    static final String TRUNCATED_HEADER = "X-Dialog-Truncated-Turns";

    @PostMapping(path = "/respond", consumes = "application/json", produces = "application/json")
    ResponseEntity<List<List<String>>> respond(@RequestBody JsonNode body, HttpServletRequest http) {
        long start = System.nanoTime();
        RequestContext ctx = RequestContext.of(http, properties.requestTimeout());
        JsonBodies.requireObject(body);
        List<JsonNode> contexts = JsonBodies.optionalList(body, "dialog_contexts");
        if (contexts == null) {
            throw new InvalidRequestException("dialog_contexts", "dialog_contexts is required: a list of dialogs,"
                    + " each a list of utterances");
        }
        // Dream treats an empty list like a missing one.
        List<JsonNode> prompts = emptyToNull(JsonBodies.optionalList(body, "prompts"));
        List<JsonNode> configs = emptyToNull(JsonBodies.optionalList(body, "configs"));
        requireSameLength("prompts", prompts, contexts.size());
        requireSameLength("configs", configs, contexts.size());
        if (contexts.isEmpty()) {
            return ResponseEntity.ok(List.of());
        }
        GenerationConfig defaults = GenerationConfig.TRANSFORMERS_DEFAULTS
                .overlay(host.model().generationDefaults())
                .overlay(serviceDefaults.config());
        List<Prompt> items = new ArrayList<>();
        List<String> prefixes = new ArrayList<>();
        List<Integer> truncated = new ArrayList<>();
        for (int i = 0; i < contexts.size(); i++) {
            List<String> utterances = JsonBodies.strings(contexts.get(i), "dialog_contexts[" + i + "]");
            if (utterances.isEmpty()) {
                throw new InvalidRequestException("dialog_contexts[" + i + "]", "dialog_contexts[" + i
                        + "] is empty: a dialog needs at least one utterance");
            }
            String prompt = prompts == null || prompts.get(i).isNull() ? ""
                    : JsonBodies.string(prompts.get(i), "prompts[" + i + "]");
            GenerationConfig request = configs == null ? GenerationConfig.EMPTY : parseConfig(configs.get(i), i);
            GenerationConfig merged = defaults.overlay(request);
            // Like a person who forgets the start of a long talk: drop the oldest turns until it fits.
            int dropped = 0;
            String text = Replacement.toModel(DialogPrompt.format(prompt, utterances, properties.language()),
                    merged.replacement());
            while (utterances.size() - dropped > 1 && !completions.fits(text, merged)) {
                dropped++;
                text = Replacement.toModel(DialogPrompt.format(prompt, utterances.subList(dropped, utterances.size()),
                        properties.language()), merged.replacement());
            }
            truncated.add(dropped);
            items.add(new Prompt(text, merged));
            prefixes.add(configs == null ? "" : "configs[" + i + "].");
        }
        List<CompletionService.Completion> results = completions.complete(items, prefixes, true, ctx);
        List<List<String>> answer = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            List<List<String>> replacement = items.get(i).config().replacement();
            List<String> hypotheses = new ArrayList<>();
            for (GeneratedSequence s : results.get(i).sequences()) {
                hypotheses.add(Hypotheses.extract(Replacement.fromModel(s.text(), replacement)));
            }
            answer.add(hypotheses);
        }
        log.info("/respond: {} dialogs answered in {} ms", contexts.size(), (System.nanoTime() - start) / 1_000_000);
        ResponseEntity.BodyBuilder response = ResponseEntity.ok();
        if (truncated.stream().anyMatch(n -> n > 0)) {
            response.header(TRUNCATED_HEADER, truncated.stream().map(String::valueOf)
                    .collect(java.util.stream.Collectors.joining(",")));
        }
        return response.body(answer);
    }

    private static GenerationConfig parseConfig(JsonNode config, int index) {
        if (config.isNull()) {
            return GenerationConfig.EMPTY;
        }
        try {
            return GenerationConfigParser.parse(config);
        } catch (InvalidParameterException e) {
            String field = "configs[" + index + "]." + e.parameter();
            if (e instanceof io.github.transformerslm.generation.UnknownParameterException) {
                throw new io.github.transformerslm.generation.UnknownParameterException(field, e.getMessage());
            }
            throw new InvalidParameterException(field, e.getMessage());
        }
    }

    private static List<JsonNode> emptyToNull(List<JsonNode> list) {
        return list == null || list.isEmpty() ? null : list;
    }

    private static void requireSameLength(String field, List<JsonNode> list, int expected) {
        if (list != null && list.size() != expected) {
            throw new InvalidRequestException(field, field + " has " + list.size() + " items but dialog_contexts has "
                    + expected + ": they must be the same length");
        }
    }
}
