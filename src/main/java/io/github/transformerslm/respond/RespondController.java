package io.github.transformerslm.respond;

import io.github.transformerslm.chat.Hypotheses;
import io.github.transformerslm.chat.DialogPrompt;
import io.github.transformerslm.web.RequestContexts;
import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.serving.CompletionService;
import io.github.transformerslm.serving.CompletionService.Prompt;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.web.InvalidRequestException;
import io.github.transformerslm.web.JsonBodies;
import io.github.transformerslm.serving.RequestContext;
import jakarta.servlet.http.HttpServletRequest;
import java.util.ArrayList;
import org.springframework.http.ResponseEntity;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Dream's API: {@code POST /respond}: {@code dialog_contexts}, optional {@code prompts} and {@code configs}
 * of the same length; answers one list of hypotheses per dialog. Each config is merged over the
 * defaults (model, then GENERATIVE_CONFIG), not substituted for them. {@code POST /generate_goals}
 * answers the same way for Dream's goal-setting meta-prompt.
 */
@RestController
class RespondController {
    private static final Logger log = LoggerFactory.getLogger(RespondController.class);

    private final CompletionService completions;
    private final JsonMapper json;
    private final DreamGenerativeConfig serviceDefaults;
    private final ServiceProperties properties;
    private final GoalsPrompt goalsPrompt;

    RespondController(CompletionService completions, DreamGenerativeConfig serviceDefaults, ServiceProperties properties,
            GoalsPrompt goalsPrompt, JsonMapper json) {
        this.completions = completions;
        this.json = json;
        this.serviceDefaults = serviceDefaults;
        this.properties = properties;
        this.goalsPrompt = goalsPrompt;
    }

    /** Names, per dialog, how many of its oldest utterances were dropped to fit the model's context. */
    static final String TRUNCATED_HEADER = "X-Dialog-Truncated-Turns";

    /** One dialog to continue: Dream's prompt, its utterances, and its config with where it came from. */
    private record Dialog(String prompt, List<String> utterances, GenerationConfig config, String configPrefix) {}

    /** A dialog's hypotheses and how many of its oldest utterances were dropped to fit. */
    private record Answer(List<String> hypotheses, int droppedTurns) {}

    /** Dream's /respond body; {@code prompts} and {@code configs} entries may be null. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record RespondRequest(@JsonProperty("dialog_contexts") List<List<String>> dialogContexts, List<String> prompts,
            List<ObjectNode> configs) {}

    /** Dream's /generate_goals body. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record GoalsRequest(List<String> prompts, List<ObjectNode> configs) {}

    private static final java.util.Set<String> RESPOND_KEYS = java.util.Set.of("dialog_contexts", "prompts", "configs");
    private static final java.util.Set<String> GOALS_KEYS = java.util.Set.of("prompts", "configs");
    private final java.util.Set<String> ignoredKeysLogged = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @io.swagger.v3.oas.annotations.tags.Tag(name = "Dream")
    @io.swagger.v3.oas.annotations.Operation(summary = "Dream's dialog responses", description = "Body: {\"dialog_contexts\": [[utterance, ...], ...], \"prompts\": [str, ...]?, \"configs\": [object or null, ...]?}. Answers one list of hypotheses per dialog. Configs hold transformers generation parameters, merged over GENERATIVE_CONFIG; unknown parameters are refused (400); other top-level keys (Dream's sending_variables) are ignored.")
    @PostMapping(path = "/respond", consumes = "application/json", produces = "application/json")
    ResponseEntity<List<List<String>>> respond(@RequestBody JsonNode body, HttpServletRequest http) {
        long start = System.nanoTime();
        RequestContext ctx = RequestContexts.of(http, properties.requestTimeout());
        RespondRequest request = readDreamBody(body, RESPOND_KEYS, "/respond", RespondRequest.class);
        List<List<String>> contexts = request.dialogContexts();
        if (contexts == null) {
            throw new InvalidRequestException("dialog_contexts", "dialog_contexts is required: a list of dialogs,"
                    + " each a list of utterances");
        }
        // Dream treats an empty list like a missing one.
        List<String> prompts = emptyToNull(request.prompts());
        List<ObjectNode> configs = emptyToNull(request.configs());
        requireSameLength("prompts", prompts, contexts.size(), "dialog_contexts");
        requireSameLength("configs", configs, contexts.size(), "dialog_contexts");
        completions.requireFits(contexts.size(), "dialog_contexts");
        List<Dialog> dialogs = new ArrayList<>();
        for (int i = 0; i < contexts.size(); i++) {
            List<String> utterances = contexts.get(i);
            if (utterances == null || utterances.contains(null)) {
                throw new InvalidRequestException("dialog_contexts[" + i + "]", "dialog_contexts[" + i
                        + "] must be a list of strings");
            }
            if (utterances.isEmpty()) {
                throw new InvalidRequestException("dialog_contexts[" + i + "]", "dialog_contexts[" + i
                        + "] is empty: a dialog needs at least one utterance");
            }
            String prompt = prompts == null || prompts.get(i) == null ? "" : prompts.get(i);
            dialogs.add(new Dialog(prompt, utterances, configs == null ? GenerationConfig.EMPTY : parseConfig(configs.get(i), i),
                    configs == null ? "" : "configs[" + i + "]."));
        }
        List<Answer> answers = answer(dialogs, ctx);
        log.info("/respond: {} dialogs answered in {} ms", contexts.size(), (System.nanoTime() - start) / 1_000_000);
        ResponseEntity.BodyBuilder response = ResponseEntity.ok();
        if (answers.stream().anyMatch(a -> a.droppedTurns() > 0)) {
            response.header(TRUNCATED_HEADER, answers.stream().map(a -> String.valueOf(a.droppedTurns()))
                    .collect(java.util.stream.Collectors.joining(",")));
        }
        return response.body(answers.stream().map(Answer::hypotheses).toList());
    }

    /**
     * Dream's {@code POST /generate_goals} ({@code common/prompts.py}, {@code get_goals_from_prompt}):
     * {@code {"prompts": [str, ...], "configs": [obj or null, ...]}} → one string per prompt, a short
     * statement of the goals the prompt sets the assistant. Each prompt becomes Dream's two-turn dialog
     * (see {@link GoalsPrompt}), answered like /respond; the first hypothesis is the answer, as in Dream.
     */
    @io.swagger.v3.oas.annotations.tags.Tag(name = "Dream")
    @io.swagger.v3.oas.annotations.Operation(summary = "Dream's goals of a prompt", description = "Body: {\"prompts\": [str, ...], \"configs\": [object or null, ...]?}. Answers one string per prompt: the goals the prompt sets the assistant.")
    @PostMapping(path = "/generate_goals", consumes = "application/json", produces = "application/json")
    List<String> generateGoals(@RequestBody JsonNode body, HttpServletRequest http) {
        long start = System.nanoTime();
        RequestContext ctx = RequestContexts.of(http, properties.requestTimeout());
        GoalsRequest request = readDreamBody(body, GOALS_KEYS, "/generate_goals", GoalsRequest.class);
        List<String> prompts = request.prompts() != null ? request.prompts() : List.of();
        List<ObjectNode> configs = emptyToNull(request.configs());
        requireSameLength("configs", configs, prompts.size(), "prompts");
        completions.requireFits(prompts.size(), "prompts");
        List<Dialog> dialogs = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            String prompt = prompts.get(i);
            if (prompt == null) {
                throw new InvalidRequestException("prompts[" + i + "]", "prompts[" + i + "] must be a string");
            }
            dialogs.add(new Dialog("", goalsPrompt.dialogFor(prompt),
                    configs == null ? GenerationConfig.EMPTY : parseConfig(configs.get(i), i),
                    configs == null ? "" : "configs[" + i + "]."));
        }
        List<String> goals = answer(dialogs, ctx).stream()
                .map(a -> a.hypotheses().isEmpty() ? "" : a.hypotheses().get(0)).toList();
        log.info("/generate_goals: {} prompts answered in {} ms", prompts.size(), (System.nanoTime() - start) / 1_000_000);
        return goals;
    }

    private List<Answer> answer(List<Dialog> dialogs, RequestContext ctx) {
        if (dialogs.isEmpty()) {
            return List.of();
        }
        GenerationConfig defaults = GenerationConfig.TRANSFORMERS_DEFAULTS
                .overlay(completions.model().generationDefaults())
                .overlay(serviceDefaults.config());
        List<Prompt> items = new ArrayList<>();
        List<String> prefixes = new ArrayList<>();
        List<Integer> truncated = new ArrayList<>();
        for (Dialog dialog : dialogs) {
            GenerationConfig merged = defaults.overlay(dialog.config());
            Fitted fitted = fit(dialog, merged, ctx);
            String text = fitted.text();
            int dropped = fitted.droppedTurns();
            truncated.add(dropped);
            items.add(new Prompt(text, merged));
            prefixes.add(dialog.configPrefix());
        }
        List<CompletionService.Completion> results = completions.complete(items, prefixes, true, ctx);
        List<Answer> answers = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            List<List<String>> replacement = items.get(i).config().replacement();
            List<String> hypotheses = new ArrayList<>();
            for (GeneratedSequence s : results.get(i).sequences()) {
                hypotheses.add(Hypotheses.extract(Replacement.fromModel(s.text(), replacement)));
            }
            answers.add(new Answer(hypotheses, truncated.get(i)));
        }
        return answers;
    }

    /** The model's input for a dialog and how many of its oldest utterances it leaves out. */
    private record Fitted(String text, int droppedTurns) {}

    /**
     * Like a person who forgets the start of a long talk: the oldest turns are dropped until the dialog fits
     * the context beside the new tokens. Each turn is tokenized once, newest first, and the walk stops when
     * the budget is spent, so a dialog of 10,000 turns costs what the turns that fit cost. A passed deadline
     * or a client that has gone ends the work.
     */
    private Fitted fit(Dialog dialog, GenerationConfig config, RequestContext ctx) {
        List<String> utterances = dialog.utterances();
        String whole = input(dialog.prompt(), utterances, config);
        if (completions.fits(whole, config)) {
            return new Fitted(whole, 0);
        }
        int budget = completions.promptBudget(config);
        int n = utterances.size();
        String[] names = DialogPrompt.speakers(properties.language());
        int used = completions.tokenCount(input(dialog.prompt(), utterances.subList(n - 1, n), config), budget);
        int kept = 1;
        for (int i = n - 2; i >= 0 && used <= budget; i--) {
            if ((n - i) % 64 == 0) {
                ctx.checkStillWanted();
            }
            String speaker = (n - 1 - i) % 2 == 0 ? names[1] : names[0];
            int turn = completions.tokenCount(Replacement.toModel(speaker + ": " + utterances.get(i) + "\n",
                    config.replacement()), budget);
            if (used + turn > budget) {
                break;
            }
            used += turn;
            kept++;
        }
        // Token boundaries between turns can differ from the sum of the parts: check the text itself.
        String text = input(dialog.prompt(), utterances.subList(n - kept, n), config);
        while (kept > 1 && !completions.fits(text, config)) {
            ctx.checkStillWanted();
            kept--;
            text = input(dialog.prompt(), utterances.subList(n - kept, n), config);
        }
        return new Fitted(text, n - kept);
    }

    private String input(String prompt, List<String> utterances, GenerationConfig config) {
        return Replacement.toModel(DialogPrompt.format(prompt, utterances, properties.language()), config.replacement());
    }

    /**
     * A Dream body is a JSON object. Dream's agent adds its sending_variables ({@code "openai_api_keys":
     * [null]}, ...) to it for the services that need them; Dream's own service ignores what it does not use,
     * and so does this one.
     */
    private <T> T readDreamBody(JsonNode body, java.util.Set<String> known, String endpoint, Class<T> type) {
        T request = JsonBodies.bind(json, body, type);
        for (String key : body.propertyNames()) {
            if (!known.contains(key) && ignoredKeysLogged.add(endpoint + " " + key)) {
                log.debug("{}: ignoring top-level key '{}' (Dream's sending_variables; logged once)", endpoint, key);
            }
        }
        return request;
    }

    private static GenerationConfig parseConfig(ObjectNode config, int index) {
        if (config == null) {
            return GenerationConfig.EMPTY;
        }
        try {
            return GenerationConfigParser.parse(config);
        } catch (InvalidParameterException e) {
            String field = "configs[" + index + "]." + e.field();
            if (e instanceof io.github.transformerslm.generation.UnknownParameterException) {
                throw new io.github.transformerslm.generation.UnknownParameterException(field, e.getMessage());
            }
            throw new InvalidParameterException(field, e.getMessage());
        }
    }

    private static <T> List<T> emptyToNull(List<T> list) {
        return list == null || list.isEmpty() ? null : list;
    }

    private static void requireSameLength(String field, List<?> list, int expected, String reference) {
        if (list != null && list.size() != expected) {
            throw new InvalidRequestException(field, field + " has " + list.size() + " items but " + reference
                    + " has " + expected + ": they must be the same length");
        }
    }
}
