package io.github.transformerslm.stream;

import java.io.IOException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * A Server-Sent Events stream that the model thread can feed without ever waiting on a slow client:
 * events queue here and a writer thread sends them in order. When the client goes away (a failed
 * write, a closed connection, a timeout), {@code onClientGone} runs once, to cancel the generation.
 */
public final class SseChannel {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SseChannel.class);
    private static final ExecutorService WRITERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "sse-writer");
        t.setDaemon(true);
        return t;
    });
    private static final Object END = new Object();

    private final SseEmitter emitter;
    private final Runnable onClientGone;
    private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicBoolean gone = new AtomicBoolean();
    private volatile boolean ended;

    public SseChannel(long timeoutMillis, Runnable onClientGone) {
        this.emitter = new SseEmitter(timeoutMillis);
        this.onClientGone = onClientGone;
        emitter.onError(e -> clientGone());
        emitter.onTimeout(this::clientGone);
        emitter.onCompletion(() -> {
            if (!ended) {
                clientGone();
            }
        });
    }

    public SseEmitter emitter() {
        return emitter;
    }

    /** Queues one event's data (a JSON document, or OpenAI's [DONE]). */
    public void send(String data) {
        queue.add(data);
        drain();
    }

    /** Queues the end of the stream. */
    public void complete() {
        queue.add(END);
        drain();
    }

    private void drain() {
        if (draining.compareAndSet(false, true)) {
            WRITERS.execute(() -> {
                try {
                    Object next;
                    while ((next = queue.poll()) != null) {
                        if (gone.get()) {
                            queue.clear();
                            return;
                        }
                        if (next == END) {
                            ended = true;
                            emitter.complete();
                        } else {
                            // "data: {...}" with the space, byte for byte what OpenAI, vLLM and llama.cpp send:
                            // clients that split on "data: " exist. Spring writes "data:" and the rest as given.
                            emitter.send(SseEmitter.event().data(" " + next));
                        }
                    }
                } catch (IOException | IllegalStateException e) {
                    clientGone();
                } finally {
                    draining.set(false);
                    if (!queue.isEmpty() && !gone.get()) {
                        drain();
                    }
                }
            });
        }
    }

    private void clientGone() {
        if (gone.compareAndSet(false, true)) {
            if (!ended) {
                log.info("499: a client closed its event stream before the end; its generation was cancelled");
            }
            onClientGone.run();
        }
    }
}
