package io.github.transformerslm.openai;

import io.github.transformerslm.web.RequestContexts;
import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.serving.CompletionService;
import io.github.transformerslm.serving.CompletionService.Completion;
import io.github.transformerslm.serving.CompletionService.Prompt;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.RequestContext;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.SequenceListener.TokenLogprob;
import jakarta.servlet.http.HttpServletRequest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** OpenAI's {@code GET /v1/models} and {@code POST /v1/completions}. */
@RestController
class CompletionsController {
    private static final Set<String> OWN_KEYS = Set.of("model", "prompt", "stream", "stream_options", "logprobs",
            "echo", "user", "suffix", "best_of");
    /** OpenAI's default for /v1/completions. */
    private static final int DEFAULT_MAX_TOKENS = 16;

    private final CompletionService completions;
    private final ServiceProperties properties;
    private final JsonMapper json;

    CompletionsController(CompletionService completions, ServiceProperties properties, JsonMapper json) {
        this.completions = completions;
        this.properties = properties;
        this.json = json;
    }

    static String modelId(ServiceProperties properties, LoadedModel model) {
        return properties.model().isEmpty() ? "transformers-lm-default" : model.name();
    }

    @io.swagger.v3.oas.annotations.tags.Tag(name = "OpenAI")
    @io.swagger.v3.oas.annotations.Operation(summary = "The one model this service serves")
    @GetMapping(path = "/v1/models", produces = "application/json")
    OpenAiBodies.ModelList models() {
        LoadedModel model = completions.model();
        return new OpenAiBodies.ModelList("list", List.of(new OpenAiBodies.ModelCard(modelId(properties, model), "model", 0,
                "transformers-lm", completions.contextLength())));
    }

    @io.swagger.v3.oas.annotations.tags.Tag(name = "OpenAI")
    @io.swagger.v3.oas.annotations.Operation(summary = "OpenAI text completion", description = "Body as OpenAI's: model, prompt (a string, strings, or token ids), max_tokens, temperature, top_p, n, stop, seed, logprobs (0-5), echo, best_of 1, stream. Unknown keys are refused (400).")
    @PostMapping(path = "/v1/completions", consumes = "application/json")
    Object complete(@RequestBody JsonNode body, HttpServletRequest http) {
        RequestContext ctx = RequestContexts.of(http, properties.requestTimeout());
        OpenAiRequests.Completion request = OpenAiRequests.bind(json, body, OpenAiRequests.Completion.class);
        LoadedModel model = completions.model();
        List<int[]> tokenPrompts = new ArrayList<>();
        List<String> textPrompts = new ArrayList<>();
        readPrompts(request.prompt(), textPrompts, tokenPrompts);
        if (request.suffix() != null && !request.suffix().isNull()) {
            throw new OpenAiException(400, "suffix", "unsupported", "suffix is not supported");
        }
        if (request.bestOf() != null && request.bestOf() != 1) {
            throw new OpenAiException(400, "best_of", "unsupported", "best_of other than 1 is not supported");
        }
        int logprobs = 0;
        if (request.logprobs() != null) {
            if (request.logprobs() < 0 || request.logprobs() > 5) {
                throw new OpenAiException(400, "logprobs", "invalid_value", "logprobs must be an integer from 0 to 5");
            }
            logprobs = request.logprobs() + 1; // the chosen token is reported among its alternatives
        }
        boolean echo = OpenAiRequests.isTrue(request.echo());
        boolean stream = OpenAiRequests.isTrue(request.stream());
        SamplingParameters.rememberSentKeys(http, body);
        GenerationConfig config = SamplingParameters.parse(body, OWN_KEYS, model.generationDefaults());
        if (!body.has("max_tokens") || body.get("max_tokens").isNull()) {
            config = config.overlay(GenerationConfigParser.parse("{\"max_new_tokens\": " + DEFAULT_MAX_TOKENS + "}"));
        }
        completions.requireFits(textPrompts.size() + tokenPrompts.size(), "prompt");
        List<Prompt> prompts = new ArrayList<>();
        List<String> prefixes = new ArrayList<>();
        for (String t : textPrompts) {
            prompts.add(new Prompt(t, null, config, false, logprobs));
            prefixes.add("");
        }
        for (int[] ids : tokenPrompts) {
            prompts.add(new Prompt(null, ids, config, false, logprobs));
            prefixes.add("");
        }
        String id = "cmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = System.currentTimeMillis() / 1000;
        OpenAiBodies.Envelope envelope = new OpenAiBodies.Envelope(id, "text_completion", created, modelId(properties, model));
        if (stream) {
            if (prompts.size() != 1) {
                throw new OpenAiException(400, "prompt", "unsupported", "streaming takes one prompt");
            }
            CompletionService.Prepared prepared = completions.prepare(prompts.get(0), "", false);
            String echoed = echo ? promptText(model, prompts.get(0), prepared.promptIds()) : "";
            return OpenAiStreams.stream(completions, model, prepared, ctx, envelope, OpenAiRequests.includeUsage(request.streamOptions()),
                    (i, text) -> new OpenAiBodies.TextChoice(text, i, null, null),
                    echo ? i -> new OpenAiBodies.TextChoice(echoed, i, null, null) : null,
                    (i, s) -> new OpenAiBodies.TextChoice("", i, null, OpenAiStreams.finishReason(s.finishReason())));
        }
        List<Completion> results = completions.complete(prompts, prefixes, false, ctx);
        List<OpenAiBodies.TextChoice> choices = new ArrayList<>();
        int promptTokens = 0;
        int completionTokens = 0;
        for (int p = 0; p < results.size(); p++) {
            Completion c = results.get(p);
            promptTokens += c.promptTokens();
            String prefix = echo ? promptText(model, prompts.get(p), c.promptIds()) : "";
            for (GeneratedSequence s : c.sequences()) {
                choices.add(new OpenAiBodies.TextChoice(prefix + s.text(), choices.size(),
                        logprobs > 0 ? logprobs(model, s, logprobs - 1, prefix.length()) : null,
                        OpenAiStreams.finishReason(s.finishReason())));
                completionTokens += s.tokens().length;
            }
        }
        return envelope.with(choices, new OpenAiBodies.Usage(promptTokens, completionTokens));
    }

    private static String promptText(LoadedModel model, Prompt prompt, int[] ids) {
        return prompt.text() != null ? prompt.text() : model.tokenizer().decode(ids, false);
    }

    /** OpenAI's legacy logprobs: tokens, their logprobs, the top alternatives and text offsets. */
    private static OpenAiBodies.LegacyLogprobs logprobs(LoadedModel model, GeneratedSequence s, int top, int offset) {
        List<String> tokens = new ArrayList<>();
        List<Float> tokenLogprobs = new ArrayList<>();
        List<Map<String, Float>> tops = new ArrayList<>();
        List<Integer> offsets = new ArrayList<>();
        int at = offset;
        for (int i = 0; i < s.tokens().length; i++) {
            String text = model.tokenizer().decode(new int[] {s.tokens()[i]}, false);
            tokens.add(text);
            tokenLogprobs.add(s.logprobs()[i]);
            offsets.add(at);
            at += text.length();
            Map<String, Float> alternatives = new LinkedHashMap<>();
            if (i < s.topLogprobs().size()) {
                for (TokenLogprob t : s.topLogprobs().get(i).subList(0, Math.min(top, s.topLogprobs().get(i).size()))) {
                    alternatives.put(model.tokenizer().decode(new int[] {t.token()}, false), t.logprob());
                }
            }
            tops.add(alternatives);
        }
        return new OpenAiBodies.LegacyLogprobs(tokens, tokenLogprobs, tops, offsets);
    }

    /** A string, a list of strings, a list of token ids, or a list of such lists. */
    private static void readPrompts(JsonNode prompt, List<String> texts, List<int[]> tokens) {
        if (prompt == null || prompt.isNull()) {
            throw new OpenAiException(400, "prompt", "missing", "prompt is required");
        }
        if (prompt.isString()) {
            texts.add(prompt.asString());
        } else if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isIntegralNumber()) {
            tokens.add(ids(prompt));
        } else if (prompt.isArray() && !prompt.isEmpty()) {
            for (JsonNode p : prompt) {
                if (p.isString()) {
                    texts.add(p.asString());
                } else if (p.isArray()) {
                    tokens.add(ids(p));
                } else {
                    throw new OpenAiException(400, "prompt", "invalid_type",
                            "prompt must be a string, a list of strings, or token ids");
                }
            }
        } else {
            throw new OpenAiException(400, "prompt", "invalid_type", "prompt must be a string, a list of strings, or token ids");
        }
    }

    private static int[] ids(JsonNode list) {
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!list.get(i).isIntegralNumber() || !list.get(i).canConvertToInt()) {
                throw new OpenAiException(400, "prompt", "invalid_type", "token ids must be 32-bit integers");
            }
            out[i] = list.get(i).intValue();
        }
        if (out.length == 0) {
            throw new OpenAiException(400, "prompt", "invalid_value", "a token prompt must not be empty");
        }
        return Arrays.copyOf(out, out.length);
    }
}
