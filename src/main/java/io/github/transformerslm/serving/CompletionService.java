package io.github.transformerslm.serving;

import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationPlan;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceListener;
import io.github.transformerslm.generation.ServiceStops;
import io.github.transformerslm.tokenizer.TextTokenizer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.stereotype.Service;

/**
 * Turns prompts with merged generation configs into requests for the model thread and waits for, or
 * streams, their sequences. Everything a request could get wrong is checked here, before it queues.
 */
@Service
public class CompletionService {
    /**
     * A text or token prompt and its fully merged generation parameters.
     *
     * @param tokens the prompt as token ids, or null to tokenize {@code text}
     * @param truncateLeft drop the oldest tokens when prompt plus new tokens exceed the context
     * @param topLogprobs alternatives to report per generated token
     */
    public record Prompt(String text, int[] tokens, GenerationConfig config, boolean truncateLeft, int topLogprobs) {
        public Prompt(String text, GenerationConfig config) {
            this(text, null, config, false, 0);
        }
    }

    /** A prompt's answer: its token count, its plan, and its sequences. */
    public record Completion(int promptTokens, int[] promptIds, GenerationPlan plan, List<GeneratedSequence> sequences) {}

    /** A prompt checked and ready to run. */
    public record Prepared(int[] promptIds, GenerationPlan plan, GenerationRow row) {}

    /** How often a waiting request probes its client's connection: a few decode steps of a small model. */
    static final long CONNECTION_PROBE_MILLIS = 20;

    private final ModelHost host;
    private final ServiceProperties properties;
    private final ConcurrentHashMap<String, AtomicInteger> perClient = new ConcurrentHashMap<>();
    private volatile ServiceStops serviceStops;

    public CompletionService(ModelHost host, ServiceProperties properties) {
        this.host = host;
        this.properties = properties;
    }

    /** The model being served; ModelNotReadyException (503) while it loads. */
    public LoadedModel model() {
        return host.model();
    }

    /** The context a prompt plus its new tokens must fit: the model's, or MAX_INPUT_TOKENS if smaller. */
    public int contextLength() {
        int model = host.model().model().shape().maxPositions();
        return properties.maxInputTokens() > 0 ? Math.min(model, properties.maxInputTokens()) : model;
    }

    /**
     * Tokens in {@code text} without special tokens, counted no further than {@code cap + 1}: enough to know
     * whether it exceeds {@code cap}, with work bounded by the cap rather than by the text.
     */
    public int tokenCount(String text, int cap) {
        try {
            return host.model().tokenizer().encodeAtMost(text, false, cap).length;
        } catch (TextTokenizer.TooManyTokensException e) {
            return cap + 1;
        }
    }

    /** Prompt tokens left once the new tokens {@code config} asks for are set aside (0 when none are). */
    public int promptBudget(GenerationConfig config) {
        try {
            GenerationPlan plan = GenerationPlan.resolve(config, 0, Integer.MAX_VALUE, host.limits(), ServiceStops.NONE);
            return Math.max(0, contextLength() - plan.maxNewTokens());
        } catch (InvalidParameterException e) {
            return 0;
        }
    }

    /** Whether {@code text} plus the new tokens {@code config} asks for fits the context. */
    public boolean fits(String text, GenerationConfig config) {
        int promptTokens;
        try {
            promptTokens = host.model().tokenizer().encodeAtMost(text, true, contextLength()).length;
        } catch (TextTokenizer.TooManyTokensException e) {
            return false;
        }
        try {
            GenerationPlan plan = GenerationPlan.resolve(config, promptTokens, Integer.MAX_VALUE, host.limits(),
                    ServiceStops.NONE);
            return promptTokens + plan.maxNewTokens() <= contextLength();
        } catch (InvalidParameterException e) {
            return false;
        }
    }

    /**
     * Tokenizes and resolves one prompt. {@code paramPrefix} names where its parameters came from in
     * error messages (e.g. {@code configs[1].}).
     */
    public Prepared prepare(Prompt p, String paramPrefix, boolean addServiceStops) {
        LoadedModel model = host.model();
        int context = contextLength();
        int[] ids;
        if (p.tokens() != null) {
            ids = p.tokens();
        } else if (p.truncateLeft()) {
            ids = model.tokenizer().encodeTail(p.text(), context);
        } else {
            try {
                ids = model.tokenizer().encodeAtMost(p.text(), true, context);
            } catch (TextTokenizer.TooManyTokensException e) {
                int maxNew;
                try {
                    maxNew = GenerationPlan.resolve(p.config(), 0, Integer.MAX_VALUE, host.limits(), ServiceStops.NONE)
                            .maxNewTokens();
                } catch (InvalidParameterException invalid) {
                    throw new InvalidParameterException(paramPrefix + invalid.field(), invalid.getMessage());
                }
                throw new InvalidParameterException(paramPrefix + "max_new_tokens", "the prompt's " + e.atLeast()
                        + " or more tokens plus max_new_tokens " + maxNew + " exceed the model's context of " + context
                        + " tokens");
            }
        }
        if (ids.length == 0) {
            throw new InvalidParameterException(paramPrefix + "prompt", "the prompt is empty after tokenization");
        }
        int vocab = model.model().shape().vocabSize();
        for (int id : ids) {
            if (id < 0 || id >= vocab) {
                throw new InvalidParameterException(paramPrefix + "prompt",
                        "token id " + id + " is outside the vocabulary of " + vocab);
            }
        }
        if (p.config().logitBias() != null) {
            for (int id : p.config().logitBias().keySet()) {
                if (id >= vocab) {
                    throw new InvalidParameterException(paramPrefix + "logit_bias",
                            "logit_bias names token " + id + ", outside the vocabulary of " + vocab);
                }
            }
        }
        ServiceStops stops = addServiceStops ? serviceStops(model) : ServiceStops.NONE;
        if (p.config().stop() != null) {
            // The request's stop strings are matched in the text by the plan; those that are special tokens
            // never reach the text, so they stop by id as well.
            ServiceStops special = stopsFor(p.config().stop(), model.tokenizer());
            stops = new ServiceStops(java.util.stream.Stream.concat(stops.eosTokenIds().stream(),
                    special.eosTokenIds().stream()).distinct().toList(), stops.strings());
        }
        GenerationPlan plan;
        try {
            GenerationPlan probe = p.truncateLeft()
                    ? GenerationPlan.resolve(p.config(), 0, Integer.MAX_VALUE, host.limits(), stops) : null;
            if (probe != null && ids.length + probe.maxNewTokens() > context) {
                int keep = context - probe.maxNewTokens();
                if (keep < 1) {
                    throw new InvalidParameterException("max_new_tokens", "max_new_tokens " + probe.maxNewTokens()
                            + " leaves no room for a prompt in the context of " + context + " tokens");
                }
                ids = Arrays.copyOfRange(ids, ids.length - keep, ids.length);
            }
            plan = GenerationPlan.resolve(p.config(), ids.length, context, host.limits(), stops);
        } catch (InvalidParameterException e) {
            throw new InvalidParameterException(paramPrefix + e.field(), e.getMessage());
        }
        GenerationRow row = new GenerationRow(ids, plan, new SplittableRandom(plan.seed()), p.topLogprobs());
        if (row.rows() > properties.maxBatchSize()) {
            throw new InvalidParameterException(paramPrefix + (plan.beamSearch() ? "num_beams" : "num_return_sequences"),
                    "the request needs " + row.rows() + " sequences at once, more than MAX_BATCH_SIZE "
                            + properties.maxBatchSize());
        }
        return new Prepared(ids, plan, row);
    }

    /**
     * A request of more prompts than the service ever holds at once (a full batch plus MAX_QUEUE) can never
     * be served: a 422 naming the limit, not a 503 that a client honouring Retry-After would retry forever.
     */
    public void requireFits(int prompts, String field) {
        int limit = host.maxPromptsInFlight();
        if (prompts > limit) {
            throw new InvalidParameterException(field, field + " holds " + prompts + " items; one request may hold"
                    + " at most " + limit + " (MAX_BATCH_SIZE " + properties.maxBatchSize() + " + MAX_QUEUE "
                    + properties.maxQueue() + "): send them in smaller requests");
        }
    }

    /** Generates every prompt (they run side by side in the batch) and waits for all of them. */
    public List<Completion> complete(List<Prompt> prompts, List<String> paramPrefix, boolean addServiceStops,
            RequestContext ctx) {
        requireFits(prompts.size(), "prompts");
        List<Prepared> prepared = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            prepared.add(prepare(prompts.get(i), paramPrefix.get(i), addServiceStops));
        }
        Runnable release = acquireClientSlot(ctx);
        List<Submission> submissions = new ArrayList<>();
        List<CompletableFuture<List<GeneratedSequence>>> futures = new ArrayList<>();
        try {
            List<SequenceListener> listeners = new ArrayList<>();
            for (int i = 0; i < prepared.size(); i++) {
                CompletableFuture<List<GeneratedSequence>> f = new CompletableFuture<>();
                listeners.add(SequenceListener.completing(f));
                futures.add(f);
            }
            submissions.addAll(host.submitAll(prepared.stream().map(Prepared::row).toList(), listeners, ctx.deadline()));
            List<Completion> out = new ArrayList<>();
            for (int i = 0; i < futures.size(); i++) {
                Prepared p = prepared.get(i);
                out.add(new Completion(p.promptIds().length, p.promptIds(), p.plan(), await(futures.get(i), ctx)));
            }
            return out;
        } catch (RuntimeException e) {
            submissions.forEach(s -> s.cancel(e instanceof ClientDisconnectedException gone ? gone
                    : new java.util.concurrent.CancellationException("request abandoned")));
            throw e;
        } finally {
            release.run();
        }
    }

    /**
     * Starts one prompt and reports its tokens as they come. The returned submission cancels it; the
     * client slot is released when the listener hears the end.
     */
    public Submission stream(Prepared prepared, SequenceListener listener, RequestContext ctx) {
        Runnable release = acquireClientSlot(ctx);
        try {
            return host.submit(prepared.row(), new SequenceListener() {
                @Override
                public void onToken(int sequence, int token, float logprob, List<TokenLogprob> top) {
                    listener.onToken(sequence, token, logprob, top);
                }

                @Override
                public void onFinish(List<GeneratedSequence> sequences) {
                    release.run();
                    listener.onFinish(sequences);
                }

                @Override
                public void onError(Throwable error) {
                    release.run();
                    listener.onError(error);
                }
            }, ctx.deadline());
        } catch (RuntimeException e) {
            release.run();
            throw e;
        }
    }

    private Runnable acquireClientSlot(RequestContext ctx) {
        int limit = properties.maxClientRequests();
        if (limit <= 0) {
            return () -> { };
        }
        AtomicInteger count = perClient.computeIfAbsent(ctx.client(), k -> new AtomicInteger());
        if (count.incrementAndGet() > limit) {
            count.decrementAndGet();
            throw new ClientLimitException("client " + ctx.client() + " already has " + limit + " requests in flight");
        }
        AtomicInteger once = new AtomicInteger();
        return () -> {
            if (once.getAndIncrement() == 0) {
                count.decrementAndGet();
            }
        };
    }

    /**
     * Waits for one prompt's sequences, asking every {@link #CONNECTION_PROBE_MILLIS} whether the client
     * is still there: a closed connection ends the wait with {@link ClientDisconnectedException}, and
     * {@link #complete} cancels the request's sequences with it.
     */
    private static List<GeneratedSequence> await(CompletableFuture<List<GeneratedSequence>> f, RequestContext ctx) {
        try {
            // The model thread ends the request at its deadline; the extra second only guards against a lost answer.
            Instant giveUp = ctx.deadline().plusSeconds(1);
            while (true) {
                long left = Duration.between(Instant.now(), giveUp).toMillis();
                if (left <= 0) {
                    throw new TimeoutException();
                }
                try {
                    return f.get(Math.min(left, CONNECTION_PROBE_MILLIS), TimeUnit.MILLISECONDS);
                } catch (TimeoutException stillRunning) {
                    if (ctx.connection().closed()) {
                        throw new ClientDisconnectedException();
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the model", e);
        } catch (TimeoutException e) {
            throw new RequestTimeoutException("the request did not finish before its deadline");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("generation failed: " + cause.getMessage(), cause);
        }
    }

    /** ADDITIONAL_EOS_TOKENS plus the tokenizer's eos token, as Dream adds it. */
    private ServiceStops serviceStops(LoadedModel model) {
        ServiceStops cached = serviceStops;
        if (cached != null) {
            return cached;
        }
        List<String> tokens = new ArrayList<>(properties.additionalEosTokenList());
        model.tokenizer().eosToken().ifPresent(tokens::add);
        cached = stopsFor(tokens, model.tokenizer());
        serviceStops = cached;
        return cached;
    }

    /**
     * Dream stops when a value occurs anywhere in the decoded text and cuts the text there, so every value
     * is matched as text: "you" stops "How are you?" although GPT-2 emits " you", a token of its own. A
     * special token never appears in decoded text, so it is matched by its id instead.
     */
    static ServiceStops stopsFor(List<String> values, TextTokenizer tokenizer) {
        Set<Integer> ids = new LinkedHashSet<>();
        List<String> strings = new ArrayList<>();
        for (String value : values) {
            tokenizer.specialTokenId(value).ifPresentOrElse(ids::add, () -> strings.add(value));
        }
        return new ServiceStops(List.copyOf(ids), List.copyOf(strings));
    }
}
