package io.github.transformerslm.openai;

import io.github.transformerslm.serving.CompletionService;
import io.github.transformerslm.serving.CompletionService.Prepared;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.RequestContext;
import io.github.transformerslm.serving.Submission;
import io.github.transformerslm.generation.FinishReason;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.SequenceListener;
import io.github.transformerslm.stream.IncrementalText;
import io.github.transformerslm.stream.SseChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import tools.jackson.databind.json.JsonMapper;

/** Shared pieces of OpenAI's responses: finish reasons, usage, logprobs, and the SSE stream of chunks. */
final class OpenAiStreams {
    static final JsonMapper JSON = JsonMapper.builder().build();

    private OpenAiStreams() {}

    static String finishReason(FinishReason reason) {
        return reason == FinishReason.LENGTH ? "length" : "stop";
    }

    /**
     * Streams one prompt's {@code n} choices as chunks: {@code delta} builds a choice's chunk from its text
     * delta; {@code finalChunk} its closing chunk from the finished sequence. Ends with a usage chunk when
     * asked for, then [DONE].
     */
    static SseEmitter stream(CompletionService completions, LoadedModel model, Prepared prepared, RequestContext ctx,
            OpenAiBodies.Envelope envelope, boolean includeUsage, BiFunction<Integer, String, Object> delta,
            Function<Integer, Object> first, BiFunction<Integer, GeneratedSequence, Object> finalChunk) {
        int n = prepared.plan().numReturnSequences();
        AtomicReference<Submission> submission = new AtomicReference<>();
        long timeout = Math.max(1000, Duration.between(Instant.now(), ctx.deadline()).toMillis()) + 5000;
        SseChannel channel = new SseChannel(timeout, () -> {
            Submission s = submission.get();
            if (s != null) {
                s.cancel(new CancellationException("the client closed the stream"));
            }
        });
        List<IncrementalText> texts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            texts.add(new IncrementalText(model.tokenizer(), prepared.promptIds(), prepared.plan().stopStrings()));
            if (first != null) {
                channel.send(chunk(envelope, first.apply(i)));
            }
        }
        submission.set(completions.stream(prepared, new SequenceListener() {
            @Override
            public void onToken(int sequence, int token, float logprob, List<TokenLogprob> top) {
                String text = texts.get(sequence).add(token);
                if (!text.isEmpty()) {
                    channel.send(chunk(envelope, delta.apply(sequence, text)));
                }
            }

            @Override
            public void onFinish(List<GeneratedSequence> sequences) {
                int completion = 0;
                for (int i = 0; i < sequences.size(); i++) {
                    GeneratedSequence s = sequences.get(i);
                    String rest = texts.get(i).finish(s.text());
                    if (!rest.isEmpty()) {
                        channel.send(chunk(envelope, delta.apply(i, rest)));
                    }
                    channel.send(chunk(envelope, finalChunk.apply(i, s)));
                    completion += s.tokens().length;
                }
                if (includeUsage) {
                    OpenAiBodies.Usage usage = new OpenAiBodies.Usage(prepared.promptIds().length, completion);
                    channel.send(JSON.writeValueAsString(envelope.with(List.of(), usage)));
                }
                channel.send("[DONE]");
                channel.complete();
            }

            @Override
            public void onError(Throwable error) {
                String code = error instanceof io.github.transformerslm.serving.RequestTimeoutException ? "timeout" : null;
                channel.send(JSON.writeValueAsString(new OpenAiBodies.ErrorBody(
                        new OpenAiBodies.Error(String.valueOf(error.getMessage()), "server_error", null, code))));
                channel.complete();
            }
        }, ctx));
        return channel.emitter();
    }

    private static String chunk(OpenAiBodies.Envelope envelope, Object choice) {
        return JSON.writeValueAsString(envelope.with(List.of(choice), null));
    }

    static List<Integer> bytes(String s) {
        List<Integer> out = new ArrayList<>();
        for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            out.add(b & 0xFF);
        }
        return out;
    }
}
