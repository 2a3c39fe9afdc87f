package io.github.transformerslm.tgi;

import io.github.transformerslm.engine.CompletionService;
import io.github.transformerslm.engine.CompletionService.Completion;
import io.github.transformerslm.engine.CompletionService.Prompt;
import io.github.transformerslm.engine.LoadedModel;
import io.github.transformerslm.engine.ModelHost;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.UnknownParameterException;
import io.github.transformerslm.web.InvalidRequestException;
import io.github.transformerslm.web.JsonBodies;
import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.engine.RequestContext;
import jakarta.servlet.http.HttpServletRequest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;

/**
 * Hugging Face TGI's {@code POST /generate}: the raw prompt, TGI's defaults (greedy, one sequence)
 * under the model's generation_config.json, and TGI's response shape with optional token details.
 */
@RestController
class GenerateController {
    /** TGI keys handled here rather than by the generation config. */
    private static final Set<String> TGI_KEYS = Set.of("details", "return_full_text", "decoder_input_details",
            "best_of", "watermark", "top_n_tokens", "truncate", "grammar", "adapter_id");

    private final CompletionService completions;
    private final ModelHost host;
    private final ServiceProperties properties;

    GenerateController(CompletionService completions, ModelHost host, ServiceProperties properties) {
        this.completions = completions;
        this.host = host;
        this.properties = properties;
    }

    @PostMapping(path = "/generate", consumes = "application/json", produces = "application/json")
    Map<String, Object> generate(@RequestBody JsonNode body, HttpServletRequest http) {
        RequestContext ctx = RequestContext.of(http, properties.requestTimeout());
        JsonBodies.requireObject(body);
        String inputs = JsonBodies.string(body.get("inputs"), "inputs");
        if (inputs.isEmpty()) {
            throw new InvalidRequestException("inputs", "inputs must not be empty");
        }
        JsonNode parameters = body.path("parameters");
        if (!parameters.isMissingNode() && !parameters.isNull() && !parameters.isObject()) {
            throw new InvalidRequestException("parameters", "parameters must be a JSON object");
        }
        TgiOptions options = TgiOptions.parse(parameters);
        GenerationConfig request;
        try {
            request = GenerationConfigParser.parse(parameters.isObject() ? parameters : null, TGI_KEYS, null);
        } catch (InvalidParameterException e) {
            throw prefixed(e);
        }
        if (request.replacement() != null) {
            throw new InvalidParameterException("parameters.replacement",
                    "replacement is an option of Dream's /respond, not of /generate");
        }
        LoadedModel model = host.model();
        GenerationConfig merged = GenerationConfig.TGI_DEFAULTS.overlay(model.generationDefaults()).overlay(request);
        if (merged.numReturnSequences() != null && merged.numReturnSequences() != 1) {
            throw new InvalidParameterException("parameters.num_return_sequences",
                    "/generate returns one sequence; num_return_sequences must be 1");
        }
        int[] tokens = null;
        if (options.truncate() != null) {
            int[] all = model.tokenizer().encode(inputs);
            tokens = Arrays.copyOfRange(all, Math.max(0, all.length - options.truncate()), all.length);
        }
        Prompt prompt = new Prompt(inputs, tokens, merged, options.truncateLeft(), 0);
        Completion c = completions.complete(List.of(prompt), List.of("parameters."), false, ctx).get(0);
        GeneratedSequence s = c.sequences().get(0);
        String text = s.text() + (s.stopString() != null ? s.stopString() : "");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("generated_text", options.returnFullText() ? inputs + text : text);
        if (options.details()) {
            out.put("details", details(model, c, s));
        }
        return out;
    }

    private static Map<String, Object> details(LoadedModel model, Completion c, GeneratedSequence s) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("finish_reason", s.finishReason().wireName());
        d.put("generated_tokens", s.tokens().length);
        d.put("seed", c.plan().sampling() ? c.plan().seed() : null);
        d.put("prefill", List.of());
        List<Map<String, Object>> tokens = new ArrayList<>();
        for (int i = 0; i < s.tokens().length; i++) {
            int id = s.tokens()[i];
            String raw = model.tokenizer().decode(new int[] {id}, false);
            boolean special = !raw.isEmpty() && model.tokenizer().decode(new int[] {id}, true).isEmpty();
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("id", id);
            t.put("text", raw);
            t.put("logprob", s.logprobs()[i]);
            t.put("special", special);
            tokens.add(t);
        }
        d.put("tokens", tokens);
        return d;
    }

    private static InvalidParameterException prefixed(InvalidParameterException e) {
        String field = "parameters." + e.parameter();
        return e instanceof UnknownParameterException
                ? new UnknownParameterException(field, e.getMessage())
                : new InvalidParameterException(field, e.getMessage());
    }

    /**
     * TGI's own options: supported ones read, unsupported ones accepted only at their neutral value.
     * {@code truncate} is TGI's (keep the last N prompt tokens) or {@code "left"} (drop the oldest tokens
     * that do not fit the context).
     */
    record TgiOptions(boolean details, boolean returnFullText, Integer truncate, boolean truncateLeft) {
        static TgiOptions parse(JsonNode p) {
            if (!p.isObject()) {
                return new TgiOptions(false, false, null, false);
            }
            neutral(p, "decoder_input_details", n -> n.isBoolean() && !n.booleanValue());
            neutral(p, "watermark", n -> n.isBoolean() && !n.booleanValue());
            neutral(p, "best_of", n -> n.isIntegralNumber() && n.intValue() == 1);
            neutral(p, "top_n_tokens", n -> n.isIntegralNumber() && n.intValue() == 0);
            neutral(p, "grammar", n -> false);
            neutral(p, "adapter_id", n -> false);
            JsonNode t = p.path("truncate");
            Integer truncate = null;
            boolean left = false;
            if (t.isIntegralNumber() && t.intValue() > 0) {
                truncate = t.intValue();
            } else if (t.isString() && t.asString().equals("left")) {
                left = true;
            } else if (!t.isMissingNode() && !t.isNull()) {
                throw new InvalidParameterException("parameters.truncate",
                        "truncate must be a positive number of tokens or \"left\", got " + t);
            }
            return new TgiOptions(flag(p, "details"), flag(p, "return_full_text"), truncate, left);
        }

        private static boolean flag(JsonNode p, String key) {
            JsonNode n = p.get(key);
            if (n == null || n.isNull()) {
                return false;
            }
            if (!n.isBoolean()) {
                throw new InvalidParameterException("parameters." + key, key + " must be true or false, got " + n);
            }
            return n.booleanValue();
        }

        private static void neutral(JsonNode p, String key, java.util.function.Predicate<JsonNode> isNeutral) {
            JsonNode n = p.get(key);
            if (n != null && !n.isNull() && !isNeutral.test(n)) {
                throw new InvalidParameterException("parameters." + key,
                        key + " is not supported by this service (got " + n + ")");
            }
        }
    }
}
