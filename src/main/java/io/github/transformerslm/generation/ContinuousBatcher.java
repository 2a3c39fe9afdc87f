package io.github.transformerslm.generation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.model.CausalLanguageModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.KvCache;
import io.github.transformerslm.model.SlotKvCache;
import io.github.transformerslm.model.nn.HostCopies;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CancellationException;

/**
 * Continuous batching over one model, driven by one thread. Requests wait in arrival order; between
 * any two decode steps, those that fit (MAX_BATCH_SIZE rows, MAX_BATCH_TOKENS prompt tokens per
 * prefill) are prefilled together and join the running batch; a finished or cancelled request leaves at
 * once and frees its rows. Each running sequence keeps its own slot of the KV cache, its own positions
 * and its own stopping, so its tokens do not depend on what else runs beside it.
 */
public final class ContinuousBatcher implements AutoCloseable {
    /** Additive mask value: large enough to zero a softmax weight, finite so padded rows never make NaN. */
    static final float MASKED = -1e9f;

    /** @param maxBatchSize rows decoded together; @param maxBatchTokens prompt tokens per prefill */
    public record Limits(int maxBatchSize, int maxBatchTokens) {}

    /** A submitted request, as the submitting thread sees it. */
    public static final class Handle {
        private volatile Throwable cancellation;

        /** Ends the request at the next step with {@code reason} (CancellationException, TimeoutException...). */
        public void cancel(Throwable reason) {
            cancellation = reason;
        }

        boolean cancelled() {
            return cancellation != null;
        }
    }

    private static final class Request {
        final GenerationRow row;
        final SequenceListener listener;
        final Handle handle;
        final List<DecodingUnit> units = new ArrayList<>();
        boolean done;

        Request(GenerationRow row, SequenceListener listener, Handle handle) {
            this.row = row;
            this.listener = listener;
            this.handle = handle;
        }
    }

    /** A decoding unit in the running batch, in slot order. */
    private record Running(Request request, DecodingUnit unit, int index) {}

    private final CausalLanguageModel model;
    private final TextDecoder decoder;
    private final NDManager manager;
    private final Limits limits;
    private final int window;
    private final Deque<Request> waiting = new ArrayDeque<>();
    private final List<Running> running = new ArrayList<>();
    private final SlotKvCache slots;
    private float[] logitsBuffer = new float[0]; // [batch, vocab] of the latest step, see readLogits
    private int logitsVocab;

    public ContinuousBatcher(CausalLanguageModel model, TextDecoder decoder, NDManager parent, Limits limits) {
        this.model = model;
        this.decoder = decoder;
        this.manager = parent.newSubManager();
        this.limits = limits;
        this.window = model.shape().slidingWindow();
        this.slots = new SlotKvCache(manager, model.cacheShape(), limits.maxBatchSize(), 64, model.servingType(), model.pool());
    }

    /** Queues a request; it joins the batch at a later step. Call from the thread that steps. */
    public Handle submit(GenerationRow row, SequenceListener listener) {
        if (row.rows() > limits.maxBatchSize()) {
            throw new InvalidParameterException(row.plan().beamSearch() ? "num_beams" : "num_return_sequences",
                    "the request needs " + row.rows() + " rows, more than MAX_BATCH_SIZE " + limits.maxBatchSize());
        }
        Handle handle = new Handle();
        waiting.add(new Request(row, listener, handle));
        return handle;
    }

    /**
     * Copies a step's logits ({@code [batch, vocab]} float32) into a buffer kept across steps and sets
     * {@link #logitsVocab}. A fresh array per step (3 MB for 16 GPT-2 rows, 10 MB for a 150k vocabulary)
     * is promoted into the old generation by every young collection that runs while the step holds it,
     * and there it stays until a full collection: hundreds of MB of resident garbage after a burst.
     */
    private float[] readLogits(NDArray logits) {
        Shape shape = logits.getShape();
        logitsVocab = (int) shape.get(shape.dimension() - 1);
        logitsBuffer = HostCopies.read(logits, logitsBuffer, Math.toIntExact(shape.size())); // before the scope closes
        return logitsBuffer;
    }

    /** Called when the batch has been idle a while: frees the KV cache's growth. */
    public void releaseIdleMemory() {
        if (!hasWork()) {
            slots.shrinkWhenEmpty();
        }
    }

    public boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    public int waitingCount() {
        return waiting.size();
    }

    public long kvCacheBytes() {
        return slots.bytes();
    }

    /** What the KV cache stores keys and values as (float16 for a float16 model decoding in Java). */
    public ai.djl.ndarray.types.DataType kvCacheStorage() {
        return slots.storage();
    }

    public int runningRows() {
        return slots.active();
    }

    /** One iteration: drop cancelled requests, then prefill newcomers if any fit, else decode one token for all. */
    public void step() {
        dropCancelled();
        List<Request> admitted = admit();
        if (!admitted.isEmpty()) {
            prefill(admitted);
        } else if (!running.isEmpty()) {
            decode();
        }
    }

    /** Ends every request, waiting or running, with {@code error}: the model failed under them. */
    public void failAll(Throwable error) {
        List<Request> all = new ArrayList<>(waiting);
        waiting.clear();
        for (Running r : running) {
            if (!all.contains(r.request())) {
                all.add(r.request());
            }
        }
        running.clear();
        slots.rearrange(new int[0]);
        for (Request r : all) {
            r.done = true;
            r.listener.onError(error);
        }
    }

    private void dropCancelled() {
        waiting.removeIf(r -> {
            if (r.handle.cancelled()) {
                r.listener.onError(r.handle.cancellation);
                return true;
            }
            return false;
        });
        if (running.stream().anyMatch(r -> r.request().handle.cancelled())) {
            List<Integer> keep = new ArrayList<>();
            List<Running> kept = new ArrayList<>();
            int row = 0;
            for (Running r : running) {
                Request q = r.request();
                if (q.handle.cancelled()) {
                    if (!q.done) {
                        q.done = true;
                        q.listener.onError(q.handle.cancellation);
                    }
                } else {
                    for (int i = 0; i < r.unit().rows(); i++) {
                        keep.add(row + i);
                    }
                    kept.add(r);
                }
                row += r.unit().rows();
            }
            running.clear();
            running.addAll(kept);
            slots.rearrange(keep.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    private List<Request> admit() {
        List<Request> admitted = new ArrayList<>();
        int rows = slots.active();
        int tokens = 0;
        while (!waiting.isEmpty()) {
            Request next = waiting.peek();
            int need = next.row.rows();
            int promptTokens = next.row.prompt().length * need;
            if (rows + need > limits.maxBatchSize()) {
                break;
            }
            if (!admitted.isEmpty() && tokens + promptTokens > limits.maxBatchTokens()) {
                break;
            }
            waiting.poll();
            admitted.add(next);
            rows += need;
            tokens += promptTokens;
        }
        return admitted;
    }

    /** Prefills the newcomers as one left-padded batch, takes their first tokens, and moves them into slots. */
    private void prefill(List<Request> admitted) {
        List<int[]> prompts = new ArrayList<>();
        List<Running> fresh = new ArrayList<>();
        for (Request r : admitted) {
            if (r.row.plan().beamSearch()) {
                BeamSearchUnit unit = new BeamSearchUnit(r.row);
                r.units.add(unit);
                fresh.add(new Running(r, unit, 0));
            } else {
                java.util.SplittableRandom random = r.row.random();
                for (int n = 0; n < r.row.plan().numReturnSequences(); n++) {
                    // Each copy draws from its own stream, split deterministically from the request's seed.
                    SamplingUnit unit = new SamplingUnit(r.row, random.split());
                    r.units.add(unit);
                    fresh.add(new Running(r, unit, n));
                }
            }
            for (int i = 0; i < r.row.rows(); i++) {
                prompts.add(r.row.prompt());
            }
        }
        int batch = prompts.size();
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        boolean[][] keyMask = new boolean[batch][longest];
        long[] ids = new long[batch * longest];
        long[] positions = new long[batch * longest];
        int[] padding = new int[batch];
        for (int b = 0; b < batch; b++) {
            int[] prompt = prompts.get(b);
            padding[b] = longest - prompt.length;
            for (int j = 0; j < longest; j++) {
                boolean real = j >= padding[b];
                keyMask[b][j] = real;
                ids[b * longest + j] = real ? prompt[j - padding[b]] : 0;
                positions[b * longest + j] = real ? j - padding[b] : 0;
            }
        }
        model.pool().prepareForRows((long) batch * longest);
        try (KvCache cache = model.newCache(manager, batch, longest)) {
            float[] logits;
            try (NDScope scope = new NDScope()) {
                NDArray mask = manager.create(prefillMask(keyMask, longest, window), new Shape(batch, 1, longest, longest));
                NDArray keyPositions = manager.create(keyPositions(keyMask, longest), new Shape(batch, longest));
                logits = readLogits(model.forward(new ForwardInput(manager.create(ids, new Shape(batch, longest)),
                        manager.create(positions, new Shape(batch, longest)), mask, keyPositions), cache));
                scope.suppressNotUsedWarning();
            }
            int vocab = logitsVocab;
            int offset = 0;
            for (Running r : fresh) {
                int[] tokens = new int[r.unit().rows()];
                int[] sources = new int[r.unit().rows()];
                r.unit().step(logits, offset, vocab, tokens, sources, decoder);
                notifyToken(r);
                for (int i = 0; i < r.unit().rows(); i++) {
                    int from = offset + sources[i];
                    slots.admit(cache, from, padding[from], prompts.get(from).length);
                }
                running.add(r);
                offset += r.unit().rows();
            }
        }
        retireFinished(null);
    }

    private void decode() {
        slots.beginStep();
        int batch = slots.active();
        model.pool().prepareForRows(batch);
        int total = slots.stepColumns();
        long[] ids = new long[batch];
        long[] positions = new long[batch];
        float[] mask = new float[batch * total];
        float[] keyPositions = new float[batch * total];
        int row = 0;
        for (Running r : running) {
            for (int i = 0; i < r.unit().rows(); i++, row++) {
                ids[row] = r.unit().lastToken(i);
                int position = slots.length(row);
                positions[row] = position;
                for (int j = 0; j < total; j++) {
                    boolean visible = j <= position && (window <= 0 || position - j < window);
                    mask[row * total + j] = visible ? 0f : MASKED;
                    keyPositions[row * total + j] = j <= position ? j : 0;
                }
            }
        }
        float[] logits;
        try (NDScope scope = new NDScope()) {
            logits = readLogits(model.forward(new ForwardInput(manager.create(ids, new Shape(batch, 1)),
                    manager.create(positions, new Shape(batch, 1)), manager.create(mask, new Shape(batch, 1, 1, total)),
                    manager.create(keyPositions, new Shape(batch, total))), slots));
            scope.suppressNotUsedWarning();
        }
        int vocab = logitsVocab;
        List<Running> units = List.copyOf(running);
        int[] offsets = new int[units.size()]; // each unit's first row
        int[][] unitTokens = new int[units.size()][];
        int[][] unitSources = new int[units.size()][];
        int offset = 0;
        for (int u = 0; u < units.size(); u++) {
            int n = units.get(u).unit().rows();
            offsets[u] = offset;
            unitTokens[u] = new int[n];
            unitSources[u] = new int[n];
            offset += n;
        }
        // Each unit reads its own rows of the logits and keeps its own state and random numbers, so the units
        // sample side by side on the product threads (top_p without top_k over GPT-2's vocabulary takes about
        // a millisecond a row); listeners hear of the tokens afterwards, in order, on this thread.
        model.pool().forEach(units.size(), u -> units.get(u).unit().step(logits, offsets[u], vocab, unitTokens[u],
                unitSources[u], decoder));
        int[] sources = new int[batch];
        for (int u = 0; u < units.size(); u++) {
            notifyToken(units.get(u));
            for (int i = 0; i < unitSources[u].length; i++) {
                sources[offsets[u] + i] = offsets[u] + unitSources[u][i];
            }
        }
        retireFinished(sources);
    }

    private static void notifyToken(Running r) {
        if (r.unit() instanceof SamplingUnit s && !r.request().done) {
            r.request().listener.onToken(r.index(), s.lastTokenGenerated(), s.lastLogprob(), s.lastTop());
        }
    }

    /**
     * Frees the rows of finished units and reports requests whose units are all done. {@code sources}
     * (beam reordering of this step, or null) is applied in the same rearrangement.
     */
    private void retireFinished(int[] sources) {
        List<Integer> keep = new ArrayList<>();
        List<Running> kept = new ArrayList<>();
        int row = 0;
        for (Running r : running) {
            int n = r.unit().rows();
            if (!r.unit().finished()) {
                for (int i = 0; i < n; i++) {
                    keep.add(sources != null ? sources[row + i] : row + i);
                }
                kept.add(r);
            }
            row += n;
        }
        List<Request> finished = new ArrayList<>();
        for (Running r : running) {
            Request q = r.request();
            if (!q.done && !finished.contains(q) && q.units.stream().allMatch(DecodingUnit::finished)) {
                finished.add(q);
            }
        }
        running.clear();
        running.addAll(kept);
        slots.rearrange(keep.stream().mapToInt(Integer::intValue).toArray());
        for (Request q : finished) {
            q.done = true;
            List<GeneratedSequence> out = new ArrayList<>();
            for (DecodingUnit u : q.units) {
                out.addAll(u.results(decoder));
            }
            q.listener.onFinish(out);
        }
    }

    /** [batch, total]: each real key's position within its own sequence. */
    static float[] keyPositions(boolean[][] keyMask, int total) {
        int batch = keyMask.length;
        float[] out = new float[batch * total];
        for (int b = 0; b < batch; b++) {
            int position = 0;
            for (int j = 0; j < total; j++) {
                out[b * total + j] = keyMask[b][j] ? position++ : 0;
            }
        }
        return out;
    }

    /** [batch, 1, seq, seq]: causal over real keys, within the sliding window if any. */
    static float[] prefillMask(boolean[][] keyMask, int seq, int window) {
        int batch = keyMask.length;
        float[] mask = new float[batch * seq * seq];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seq; t++) {
                for (int j = 0; j < seq; j++) {
                    boolean visible = keyMask[b][j] && j <= t && (window <= 0 || t - j < window);
                    mask[(b * seq + t) * seq + j] = visible ? 0f : MASKED;
                }
            }
        }
        return mask;
    }

    @Override
    public void close() {
        failAll(new CancellationException("the model is shutting down"));
        slots.close();
        manager.close();
    }
}
