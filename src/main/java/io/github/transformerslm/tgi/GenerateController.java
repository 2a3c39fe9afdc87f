package io.github.transformerslm.tgi;

import io.github.transformerslm.web.RequestContexts;
import io.github.transformerslm.serving.CompletionService;
import io.github.transformerslm.serving.CompletionService.Completion;
import io.github.transformerslm.serving.CompletionService.Prompt;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.UnknownParameterException;
import io.github.transformerslm.web.InvalidRequestException;
import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.serving.RequestContext;
import jakarta.servlet.http.HttpServletRequest;
import io.github.transformerslm.serving.CompletionService.Prepared;
import io.github.transformerslm.serving.Submission;
import io.github.transformerslm.generation.SequenceListener;
import io.github.transformerslm.stream.IncrementalText;
import io.github.transformerslm.stream.SseChannel;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import tools.jackson.databind.json.JsonMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Hugging Face TGI's {@code POST /generate}: the raw prompt, TGI's defaults (greedy, one sequence)
 * under the model's generation_config.json, and TGI's response shape with optional token details.
 */
@RestController
class GenerateController {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** TGI keys handled here rather than by the generation config. */
    private static final Set<String> TGI_KEYS = Set.of("details", "return_full_text", "decoder_input_details",
            "best_of", "watermark", "top_n_tokens", "truncate", "grammar", "adapter_id");

    private final CompletionService completions;
    private final ServiceProperties properties;

    GenerateController(CompletionService completions, ServiceProperties properties) {
        this.completions = completions;
        this.properties = properties;
    }

    /** A parsed TGI request: its prompt with merged parameters and TGI's own options. */
    private record TgiCall(String inputs, Prompt prompt, TgiOptions options, RequestContext ctx) {}

    private TgiCall parse(GenerateRequest body, HttpServletRequest http) {
        RequestContext ctx = RequestContexts.of(http, properties.requestTimeout());
        if (body == null || body.inputs() == null) {
            throw new InvalidRequestException("inputs", "inputs must be a string");
        }
        String inputs = body.inputs();
        if (inputs.isEmpty()) {
            throw new InvalidRequestException("inputs", "inputs must not be empty");
        }
        ObjectNode parameters = body.parameters();
        TgiOptions options = TgiOptions.parse(parameters);
        GenerationConfig request;
        try {
            request = GenerationConfigParser.parse(parameters, TGI_KEYS, null);
        } catch (InvalidParameterException e) {
            throw prefixed(e);
        }
        if (request.replacement() != null) {
            throw new InvalidParameterException("parameters.replacement",
                    "replacement is an option of Dream's /respond, not of /generate");
        }
        LoadedModel model = completions.model();
        GenerationConfig merged = GenerationConfig.TGI_DEFAULTS.overlay(model.generationDefaults()).overlay(request);
        if (merged.numReturnSequences() != null && merged.numReturnSequences() != 1) {
            throw new InvalidParameterException("parameters.num_return_sequences",
                    "/generate returns one sequence; num_return_sequences must be 1");
        }
        int[] tokens = null;
        if (options.truncate() != null) {
            tokens = model.tokenizer().encodeTail(inputs, Math.min(options.truncate(), completions.contextLength()));
        }
        return new TgiCall(inputs, new Prompt(inputs, tokens, merged, options.truncateLeft(), 0), options, ctx);
    }

    @io.swagger.v3.oas.annotations.tags.Tag(name = "TGI")
    @io.swagger.v3.oas.annotations.Operation(summary = "TGI text generation", description = "Body: {\"inputs\": str, \"parameters\": {max_new_tokens, do_sample, temperature, top_k, top_p, typical_p, repetition_penalty, stop, seed, truncate, details, return_full_text, ...}}. Unknown keys inside parameters are refused (400); other top-level keys are ignored, as TGI ignores them.")
    @PostMapping(path = "/generate", consumes = "application/json", produces = "application/json")
    TgiReplies.Generated generate(@RequestBody GenerateRequest body, HttpServletRequest http) {
        TgiCall call = parse(body, http);
        Completion c = completions.complete(List.of(call.prompt()), List.of("parameters."), false, call.ctx()).get(0);
        GeneratedSequence s = c.sequences().get(0);
        String text = s.text() + (s.stopString() != null ? s.stopString() : "");
        return new TgiReplies.Generated(call.options().returnFullText() ? call.inputs() + text : text,
                call.options().details() ? details(completions.model(), c, s) : null);
    }

    /**
     * TGI's {@code POST /generate_stream}: one event per token, whose {@code token.text} is the text that
     * token makes safe to show (whole UTF-8 characters, stop strings held back); the last event carries
     * {@code generated_text} and {@code details}.
     */
    @io.swagger.v3.oas.annotations.tags.Tag(name = "TGI")
    @io.swagger.v3.oas.annotations.Operation(summary = "TGI streaming text generation", description = "As /generate; Server-Sent Events, one per token, the last with generated_text and details.")
    @PostMapping(path = "/generate_stream", consumes = "application/json", produces = "text/event-stream")
    SseEmitter generateStream(@RequestBody GenerateRequest body, HttpServletRequest http) {
        TgiCall call = parse(body, http);
        Prepared prepared = completions.prepare(call.prompt(), "parameters.", false);
        if (prepared.plan().beamSearch()) {
            throw new InvalidParameterException("parameters.num_beams", "streaming does not support beam search");
        }
        LoadedModel model = completions.model();
        AtomicReference<Submission> submission = new AtomicReference<>();
        long timeout = Math.max(1000, java.time.Duration.between(java.time.Instant.now(), call.ctx().deadline()).toMillis()) + 5000;
        SseChannel channel = new SseChannel(timeout, () -> {
            Submission s = submission.get();
            if (s != null) {
                s.cancel(new CancellationException("the client closed the stream"));
            }
        });
        IncrementalText text = new IncrementalText(model.tokenizer(), prepared.promptIds(), prepared.plan().stopStrings());
        submission.set(completions.stream(prepared, new SequenceListener() {
            private TgiReplies.StreamEvent pending;
            private int index;

            @Override
            public void onToken(int sequence, int token, float logprob, List<TokenLogprob> top) {
                if (pending != null) {
                    channel.send(JSON.writeValueAsString(pending));
                }
                pending = new TgiReplies.StreamEvent(++index,
                        new TgiReplies.Token(token, text.add(token), logprob, isSpecial(model, token)), null, null);
            }

            @Override
            public void onFinish(List<GeneratedSequence> sequences) {
                GeneratedSequence s = sequences.get(0);
                String full = s.text() + (s.stopString() != null ? s.stopString() : "");
                TgiReplies.StreamDetails details = new TgiReplies.StreamDetails(s.finishReason().wireName(),
                        s.tokens().length, prepared.plan().sampling() ? prepared.plan().seed() : null);
                TgiReplies.Token last = pending == null ? null : new TgiReplies.Token(pending.token().id(),
                        pending.token().text() + text.finish(s.text()), pending.token().logprob(), pending.token().special());
                channel.send(JSON.writeValueAsString(new TgiReplies.StreamEvent(pending == null ? index : pending.index(),
                        last, call.options().returnFullText() ? call.inputs() + full : full, details)));
                channel.complete();
            }

            @Override
            public void onError(Throwable error) {
                channel.send(JSON.writeValueAsString(new TgiReplies.StreamError(String.valueOf(error.getMessage()),
                        error instanceof io.github.transformerslm.serving.RequestTimeoutException ? "timeout"
                                : error instanceof CancellationException ? "cancelled" : "generation")));
                channel.complete();
            }
        }, call.ctx()));
        return channel.emitter();
    }

    static boolean isSpecial(LoadedModel model, int id) {
        String raw = model.tokenizer().decode(new int[] {id}, false);
        return !raw.isEmpty() && model.tokenizer().decode(new int[] {id}, true).isEmpty();
    }

    private static TgiReplies.Details details(LoadedModel model, Completion c, GeneratedSequence s) {
        List<TgiReplies.Token> tokens = new ArrayList<>();
        for (int i = 0; i < s.tokens().length; i++) {
            int id = s.tokens()[i];
            tokens.add(new TgiReplies.Token(id, model.tokenizer().decode(new int[] {id}, false), s.logprobs()[i],
                    isSpecial(model, id)));
        }
        return new TgiReplies.Details(s.finishReason().wireName(), s.tokens().length,
                c.plan().sampling() ? c.plan().seed() : null, List.of(), tokens);
    }

    private static InvalidParameterException prefixed(InvalidParameterException e) {
        String field = "parameters." + e.field();
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
        static TgiOptions parse(ObjectNode p) {
            if (p == null) {
                return new TgiOptions(false, false, null, false);
            }
            neutral(p, "decoder_input_details", n -> n.isBoolean() && !n.booleanValue());
            neutral(p, "watermark", n -> n.isBoolean() && !n.booleanValue());
            neutral(p, "best_of", n -> n.isIntegralNumber() && n.canConvertToInt() && n.intValue() == 1);
            neutral(p, "top_n_tokens", n -> n.isIntegralNumber() && n.canConvertToInt() && n.intValue() == 0);
            neutral(p, "grammar", n -> false);
            neutral(p, "adapter_id", n -> false);
            JsonNode t = p.path("truncate");
            Integer truncate = null;
            boolean left = false;
            if (t.isIntegralNumber() && t.canConvertToInt() && t.intValue() > 0) {
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
                        key + " is not supported by this service (got " + io.github.transformerslm.generation.GenerationConfigParser.shown(n) + ")");
            }
        }
    }
}
