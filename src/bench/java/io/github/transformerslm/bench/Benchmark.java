package io.github.transformerslm.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.generation.ContinuousBatcher;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.GenerationLimits;
import io.github.transformerslm.generation.GenerationPlan;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.Generator;
import io.github.transformerslm.generation.SequenceListener;
import io.github.transformerslm.generation.ServiceStops;
import io.github.transformerslm.runtime.MatmulPool;
import io.github.transformerslm.model.nn.Quantization;
import io.github.transformerslm.model.nn.VectorBoundsChecks;
import io.github.transformerslm.weights.SafetensorsWriter;
import io.github.transformerslm.weights.TensorDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.DoubleSummaryStatistics;
import java.util.List;

import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The performance benchmark (not a test): builds GPT-2-small- and Llama-shaped models with random weights,
 * runs them through the real generation path, and prints tokens/s, prefill, time to first token, load
 * time, resident memory, the machine's memory bandwidth and GFLOPS, and concurrent-client throughput with
 * latency percentiles; also batch 8 sampling with top_p. Run: see docs/performance.md.
 *
 * <p>Arguments: {@code quick} for 3 runs of 32 tokens instead of 5 of 128; {@code gpt2} or {@code llama}
 * for one model only; {@code fp32}, {@code fp16}, {@code int8}, {@code int4} or {@code int4-pure} for those weight formats only (default: all but int4-pure); {@code decode} for the decode rows only;
 * {@code b1} for batch 1 only (or {@code -Dbatches=1,8}); {@code -Dtokens=N} generates N new tokens per run
 * instead of 128 (a longer context to attend over). {@code -Dexport=DIR} only writes the GPT-2-shaped
 * model (or the Llama-shaped one with {@code llama}) to DIR, for the service to serve, or for llama.cpp's
 * converter. With LLAMA_CPP_DIR set (see {@link LlamaCppPeer}) it runs the GPT-2-shaped model side by side
 * with llama.cpp instead ({@code -Drounds=N} alternated rounds, 2 by default).
 */
public final class Benchmark {
    static int runs = 5;
    static int newTokens = 128;
    /** Threads each loaded model's matmul pool runs on (-Dsplit). */
    static int split = 1;
    static boolean decodeOnly;
    static boolean prefillOnly; // prefill and time to first token only
    static int[] batches = {1, 8, 32};

    public static void main(String[] args) throws Exception {
        VectorBoundsChecks.offUnlessConfigured(); // as the service runs
        List<String> a = Arrays.asList(args);
        if (a.contains("quick")) {
            runs = 3;
            newTokens = 32;
        }
        decodeOnly = a.contains("decode");
        prefillOnly = a.contains("prefill");
        if (prefillOnly) {
            batches = new int[0];
        }
        if (a.contains("b1")) {
            batches = new int[] {1};
        }
        if (System.getProperty("tokens") != null) { // longer generations: decoding over a longer context
            newTokens = Integer.parseInt(System.getProperty("tokens"));
        }
        if (System.getProperty("batches") != null) {
            batches = Arrays.stream(System.getProperty("batches").split(",")).mapToInt(Integer::parseInt).toArray();
        }
        if (System.getProperty("export") != null) {
            // The same random-weight model as a directory the service can serve (PRETRAINED_MODEL_NAME_OR_PATH),
            // to measure the service itself: resident memory, HTTP latency.
            Path exported = build(Path.of(System.getProperty("export")), a.contains("llama") ? "llama" : "gpt2");
            System.out.println("model written to " + exported.toAbsolutePath());
            return;
        }
        int threads = Integer.parseInt(System.getProperty("threads", String.valueOf(Runtime.getRuntime().availableProcessors())));
        int split = Integer.parseInt(System.getProperty("split", String.valueOf(Runtime.getRuntime().availableProcessors())));
        TorchRuntime.start(threads);
        TorchRuntime.prepareInferenceThread();
        Benchmark.split = split;
        System.out.printf("machine: %d cores, torch threads %d, matmul split %d, OMP_WAIT_POLICY=%s%n",
                Runtime.getRuntime().availableProcessors(), threads, split, System.getenv("OMP_WAIT_POLICY"));
        double bandwidth = bandwidthGBs();
        double gflops = gflops();
        System.out.printf("memory bandwidth (torch sum over 512 MB): %.1f GB/s; fp32 matmul: %.1f GFLOPS%n%n", bandwidth, gflops);
        // ~1 GB of checkpoints per run: removed afterwards, or repeated runs fill the disk.
        Path dir = Files.createTempDirectory("lm-bench");
        java.util.Optional<LlamaCppPeer> peer = LlamaCppPeer.fromEnvironment();
        if (peer.isPresent() && !a.contains("llama")) {
            try {
                boolean chosen = Mode.ALL.stream().anyMatch(m -> a.contains(m.name()));
                List<Mode> modes = Mode.ALL.stream().filter(m -> chosen ? a.contains(m.name()) : true).toList();
                sideBySide(peer.get(), build(dir.resolve("gpt2"), "gpt2"), modes, split);
            } finally {
                deleteTree(dir);
            }
            return;
        }
        try {
            for (String model : List.of("gpt2", "llama")) {
                if ((a.contains("gpt2") || a.contains("llama")) && !a.contains(model)) {
                    continue;
                }
                Path modelDir = build(dir.resolve(model), model);
                boolean chosen = Mode.ALL.stream().anyMatch(m -> a.contains(m.name()));
                for (Mode mode : Mode.ALL) {
                    if (chosen ? !a.contains(mode.name()) : mode.name().equals("int4-pure")) {
                        continue;
                    }
                    run(model, modelDir, mode, bandwidth, gflops);
                }
            }
        } finally {
            deleteTree(dir);
        }
    }

    /**
     * How the weights are served: float32, float16, int8 (QUANTIZE=int8), int4 with the head at 8 bits
     * (QUANTIZE=int4, the default, as llama.cpp keeps its output matrix at Q6_K), int4 everywhere
     * (QUANTIZE_HEAD=int4, llama.cpp's --pure). bytesPerWeight counts the scales.
     */
    record Mode(String name, DataType dtype, Quantization quantization, Quantization head, double bytesPerWeight) {
        static final List<Mode> ALL = List.of(
                new Mode("fp32", DataType.FLOAT32, Quantization.NONE, Quantization.NONE, 4),
                new Mode("fp16", DataType.FLOAT16, Quantization.NONE, Quantization.NONE, 2),
                new Mode("int8", DataType.FLOAT32, Quantization.INT8, Quantization.INT8, 1 + 2.0 / 32),
                new Mode("int4", DataType.FLOAT32, Quantization.INT4, Quantization.INT8, 0.5 + 2.0 / 32),
                new Mode("int4-pure", DataType.FLOAT32, Quantization.INT4, Quantization.INT4, 0.5 + 2.0 / 32));
    }

    static void run(String name, Path dir, Mode mode, double bandwidth, double gflops) {
        DataType dtype = mode.dtype();
        // Building the models left gigabytes of garbage in this JVM's heap; with it resident, first touching
        // fresh pages costs more on this VM (a load harness: 0.70 s alone, 1.87 s beside a 3 GB pre-touched
        // heap), and the load below writes every weight into fresh memory. A collection first, as a service
        // starts from a small heap.
        System.gc();
        long start = System.nanoTime();
        try (LoadedModel model = ModelLoader.load(dir, dtype, mode.quantization(), mode.head(), new MatmulPool(split))) {
            double loadMs = (System.nanoTime() - start) / 1e6;
            long params = model.model().shape().parameterCount();
            double weightBytes = params * mode.bytesPerWeight();
            System.out.printf("== %s-shaped, %,d parameters, %s: load %.0f ms (file %,d MB)%n", name, params,
                    mode.name(), loadMs, Files.size(dir.resolve("model.safetensors")) / 1_000_000);
            System.out.printf("%-28s %10s %10s %10s %s%n", "scenario", "median", "min", "max", "unit");
            warmUp(model);
            for (int batch : batches) {
                // Batch 1 is bound by reading the weights: the bandwidth is measured again right before each
                // run, because this VM's moves between 35 and 80 GB/s within minutes, and each run is set
                // against its own bound.
                List<double[]> paired = new ArrayList<>(); // {bandwidth GB/s, tokens/s}
                Stats s;
                try (Bandwidth probe = batch == 1 ? new Bandwidth(model.model().pool()) : null) {
                    s = repeat(() -> {
                        double before = probe == null ? 0 : probe.measure(3);
                        long t0 = System.nanoTime();
                        generate(model, batch, 16, newTokens);
                        double tokensPerSecond = batch * newTokens / ((System.nanoTime() - t0) / 1e9);
                        paired.add(new double[] {before, tokensPerSecond});
                        return tokensPerSecond;
                    });
                }
                s.print("decode batch " + batch, "tokens/s");
                if (batch == 1) {
                    double bound = bandwidth * 1e9 / weightBytes;
                    System.out.printf("%-28s %10.1f %10s %10s tokens/s (%.0f%% reached)%n", "  bandwidth bound batch 1",
                            bound, "", "", 100 * s.median() / bound);
                    double[] fractions = paired.stream().mapToDouble(p -> p[1] / (p[0] * 1e9 / weightBytes)).sorted().toArray();
                    DoubleSummaryStatistics measured = paired.stream().mapToDouble(p -> p[0]).summaryStatistics();
                    System.out.printf("%-28s %10.0f %10.0f %10.0f %% of each run's bound (bandwidth %.1f-%.1f GB/s just before)%n",
                            "  paired with bandwidth", 100 * fractions[fractions.length / 2], 100 * fractions[0],
                            100 * fractions[fractions.length - 1], measured.getMin(), measured.getMax());
                }
            }
            if (!prefillOnly && !a1(batches)) {
                // Sampling as an OpenAI or TGI client asks for it (top_p without top_k): the processors run
                // over the whole vocabulary for every token of every row. Random weights give nearly flat
                // distributions, where top_p keeps the most tokens: its dearest case.
                repeat(() -> {
                    long t0 = System.nanoTime();
                    generate(model, 8, 16, newTokens, SAMPLING);
                    return 8 * newTokens / ((System.nanoTime() - t0) / 1e9);
                }).print("decode batch 8, top_p 0.9", "tokens/s");
            }
            if (decodeOnly) {
                return;
            }
            Stats prefill = repeat(() -> {
                long t0 = System.nanoTime();
                generate(model, 1, 512, 1);
                return 512 / ((System.nanoTime() - t0) / 1e9);
            });
            prefill.print("prefill 512 tokens", "tokens/s");
            double flopsPerToken = 2.0 * params;
            System.out.printf("%-28s %10.0f %10s %10s %% of %.1f GFLOPS%n", "  prefill compute use",
                    100 * prefill.median() * flopsPerToken / (gflops * 1e9), "", "", gflops);
            repeat(() -> {
                long t0 = System.nanoTime();
                generate(model, 1, 16, 1);
                return (System.nanoTime() - t0) / 1e6;
            }).print("time to first token (16)", "ms");
            if (model.model().shape().maxPositions() > 2000) { // the Llama shape: a long prompt
                repeat(() -> {
                    long t0 = System.nanoTime();
                    generate(model, 1, 2000, 1);
                    return (System.nanoTime() - t0) / 1e6;
                }).print("time to first token (2000)", "ms");
            }
            if (prefillOnly) {
                return;
            }
            if (!"false".equals(System.getProperty("clients"))) { // -Dclients=false leaves the concurrent clients out
                concurrency(model);
            }
            Runtime rt = Runtime.getRuntime();
            System.out.printf("%-28s %10d MB (weights %,d MB; JVM heap in use %d MB, of which the benchmark's own"
                    + " model building is part)%n%n", "resident memory now", rssMb("VmRSS:"), (long) (weightBytes / 1_000_000),
                    (rt.totalMemory() - rt.freeMemory()) / 1_000_000);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * LLAMA_CPP_DIR set: our GPT-2-small-shaped model and llama.cpp's conversion of it, in each weight
     * format, alternated: ROUNDS times ours (decode of 128 tokens at batch 1 after a 16-token prompt, timed
     * from the first new token to the last ({@link #tokensAfterTheFirst}); prefill of 512 tokens; the median
     * of three each) then llama-bench (tg128, pp512, the mean of three), so that both sides meet
     * the same state of the VM. Prints one table with the ratios.
     */
    static void sideBySide(LlamaCppPeer peer, Path modelDir, List<Mode> modes, int threads) {
        int rounds = Integer.parseInt(System.getProperty("rounds", "2"));
        batches = new int[] {1}; // what warmUp runs: the shapes measured here
        System.out.printf("side by side with llama.cpp (%d threads, %d alternated rounds each)%n", threads, rounds);
        List<String> lines = new ArrayList<>();
        List<String> summary = new ArrayList<>();
        for (Mode mode : modes) {
            String type = LlamaCppPeer.typeOf(mode.name());
            java.util.Optional<Path> gguf = peer.model(type);
            if (gguf.isEmpty()) {
                lines.add(String.format("%-10s llama.cpp's gpt2-small-%s.gguf is missing: convert the -Dexport model", mode.name(), type));
                continue;
            }
            System.gc();
            try (LoadedModel model = ModelLoader.load(modelDir, mode.dtype(), mode.quantization(), mode.head(), new MatmulPool(split))) {
                int saved = runs;
                runs = 3;
                warmUp(model);
                List<Double> decodeRatios = new ArrayList<>();
                List<Double> prefillRatios = new ArrayList<>();
                for (int round = 1; round <= rounds; round++) {
                    double decode = repeat(() -> tokensAfterTheFirst(model, 16, 128)).median();
                    double prefill = repeat(() -> {
                        long t0 = System.nanoTime();
                        generate(model, 1, 512, 1);
                        return 512 / ((System.nanoTime() - t0) / 1e9);
                    }).median();
                    LlamaCppPeer.Result theirs = peer.run(gguf.get(), threads, 3);
                    String line = String.format("%-10s %-10s round %d   decode b1 %7.1f vs %7.1f (%.2fx)   prefill 512 %7.1f vs %7.1f (%.2fx)",
                            mode.name(), type, round, decode, theirs.decode(), decode / theirs.decode(), prefill,
                            theirs.prefill(), prefill / theirs.prefill());
                    System.out.println(line);
                    lines.add(line);
                    decodeRatios.add(decode / theirs.decode());
                    prefillRatios.add(prefill / theirs.prefill());
                }
                summary.add(String.format("%-10s %-10s decode b1 ratio %s   prefill 512 ratio %s", mode.name(), type,
                        ratios(decodeRatios), ratios(prefillRatios)));
                runs = saved;
            }
        }
        System.out.println();
        System.out.println("ours vs llama.cpp, tokens/s (ratio > 1: ours faster)");
        lines.forEach(System.out::println);
        System.out.println();
        System.out.println("ratios over the rounds: median (lowest-highest)");
        summary.forEach(System.out::println);
    }

    /** "median (lowest-highest)" of a format's ratios over the rounds. */
    private static String ratios(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
        return String.format("%.2f (%.2f-%.2f)", median, sorted.get(0), sorted.get(n - 1));
    }

    /**
     * Decoding speed at batch 1 as llama-bench's tg measures it, through the real generation path: tokens
     * per second from the first new token to the last ({@code maxNew - 1} tokens over that time), so that the
     * prompt's prefill and the first token's latency (what prefill and time to first token measure) are
     * left out. llama-bench's tg runs no prompt at all; sampling, stop checks and detokenisation stay in ours.
     */
    static double tokensAfterTheFirst(LoadedModel model, int promptLength, int maxNew) {
        long[] first = {0};
        long[] last = {0};
        new Generator(model.model(), model.tokenizer()).generate(model.manager(),
                List.of(row(model, promptLength, maxNew, 0, "")), (request, sequence, token) -> {
                    last[0] = System.nanoTime();
                    if (first[0] == 0) {
                        first[0] = last[0];
                    }
                });
        return (maxNew - 1) / ((last[0] - first[0]) / 1e9);
    }

    /** Clients that each send requests back to back through the continuous batcher, as the service runs it. */
    static void concurrency(LoadedModel model) {
        double single = 0;
        for (int clients : new int[] {1, 4, 8, 16}) {
            int perClient = Math.max(2, 8 / clients);
            List<Double> latencies = new CopyOnWriteArrayList<>();
            ConcurrentLinkedQueue<Runnable> incoming = new ConcurrentLinkedQueue<>();
            CountDownLatch done = new CountDownLatch(clients * perClient);
            long t0 = System.nanoTime();
            try (ContinuousBatcher batcher = new ContinuousBatcher(model.model(), model.tokenizer(), model.manager(),
                    new ContinuousBatcher.Limits(16, 8192))) {
                List<Thread> threads = new ArrayList<>();
                for (int c = 0; c < clients; c++) {
                    int seed = c;
                    Thread t = new Thread(() -> {
                        for (int r = 0; r < perClient; r++) {
                            CountDownLatch one = new CountDownLatch(1);
                            long start = System.nanoTime();
                            GenerationRow row = row(model, 16, newTokens, seed * 100 + r);
                            incoming.add(() -> batcher.submit(row, new SequenceListener() {
                                @Override
                                public void onFinish(List<GeneratedSequence> sequences) {
                                    latencies.add((System.nanoTime() - start) / 1e6);
                                    one.countDown();
                                    done.countDown();
                                }

                                @Override
                                public void onError(Throwable error) {
                                    one.countDown();
                                    done.countDown();
                                }
                            }));
                            try {
                                one.await();
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    });
                    t.start();
                    threads.add(t);
                }
                while (done.getCount() > 0) {
                    Runnable next;
                    while ((next = incoming.poll()) != null) {
                        next.run();
                    }
                    if (batcher.hasWork()) {
                        batcher.step();
                    } else {
                        Thread.onSpinWait();
                    }
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double throughput = clients * perClient * newTokens / seconds;
            if (clients == 1) {
                single = throughput;
            }
            List<Double> sorted = new ArrayList<>(latencies);
            Collections.sort(sorted);
            System.out.printf("%-28s %10.1f tokens/s (%.1fx one client)  latency p50 %.0f ms, p90 %.0f ms, p99 %.0f ms%n",
                    clients + " concurrent clients", throughput, throughput / single, pct(sorted, 50), pct(sorted, 90),
                    pct(sorted, 99));
        }
    }

    static double pct(List<Double> sorted, int p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }

    /** Removes a directory and everything under it (the benchmarks' temporary checkpoints). */
    static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** The sampling row's parameters: temperature 0.9 and top_p 0.9, no top_k. */
    static final String SAMPLING = ", \"do_sample\": true, \"temperature\": 0.9, \"top_p\": 0.9, \"top_k\": 0";

    /** Whether only batch 1 runs (the b1 argument): the sampling row is left out with the other batches. */
    private static boolean a1(int[] batches) {
        return batches.length == 1 && batches[0] == 1;
    }

    static GenerationRow row(LoadedModel model, int promptLength, int maxNew, int seed) {
        return row(model, promptLength, maxNew, seed, "");
    }

    /** A row of random prompt tokens; parameters: more generation parameters, each with a leading comma. */
    static GenerationRow row(LoadedModel model, int promptLength, int maxNew, int seed, String parameters) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] prompt = new int[promptLength];
        for (int i = 0; i < promptLength; i++) {
            prompt[i] = 10 + r.nextInt(model.model().shape().vocabSize() - 20);
        }
        // No eos: every sequence runs its full length, so runs compare.
        GenerationPlan plan = GenerationPlan.resolve(GenerationConfigParser.parse("{\"max_new_tokens\": " + maxNew
                + ", \"eos_token_id\": []" + parameters + "}"), promptLength, 4096, new GenerationLimits(4096, 64, 16), ServiceStops.NONE);
        return new GenerationRow(prompt, plan, new SplittableRandom(seed));
    }

    static void generate(LoadedModel model, int batch, int promptLength, int maxNew) {
        generate(model, batch, promptLength, maxNew, "");
    }

    static void generate(LoadedModel model, int batch, int promptLength, int maxNew, String parameters) {
        List<GenerationRow> rows = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            rows.add(row(model, promptLength, maxNew, b, parameters));
        }
        new Generator(model.model(), model.tokenizer()).generate(model.manager(), rows);
    }

    record Stats(double median, double min, double max) {
        void print(String name, String unit) {
            System.out.printf("%-28s %10.1f %10.1f %10.1f %s%n", name, median, min, max, unit);
        }
    }

    interface Measure {
        double run();
    }

    /**
     * Brings the model's code to the state a serving JVM reaches: every scenario's shape run in full, twice,
     * each time followed by a wait until the JIT stops compiling. Measured runs then start from compiled
     * code, as JMH's warm-up iterations do. A two-token generation had been the only warm-up: C2 was still
     * compiling the kernels through the first measured runs and deoptimised them when a new shape arrived
     * (the first prefill of 16 rows made the compiled product entry points not entrant, PrintCompilation),
     * and with the compiler taking one of the two cores, the other thread's half of every product ran
     * late: float16 batch 1 measured 88–93 tokens/s while the same process reached 108–147 once compilation
     * was done (the model thread waited 2–3 ms a token for its partner during compilation, 0.1–0.6 after).
     */
    static void warmUp(LoadedModel model) {
        for (int pass = 0; pass < 2; pass++) {
            for (int batch : batches) {
                generate(model, batch, 16, newTokens);
            }
            if (!decodeOnly) {
                generate(model, 1, 512, 1);
            }
            if (!prefillOnly && !a1(batches)) {
                generate(model, 8, 16, newTokens, SAMPLING);
            }
            awaitCompilerIdle();
        }
    }

    /** Waits (30 s at most) until the JIT has compiled nothing for half a second. */
    static void awaitCompilerIdle() {
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return;
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        long before = jit.getTotalCompilationTime();
        while (System.nanoTime() < deadline) {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = jit.getTotalCompilationTime();
            if (now == before) {
                return;
            }
            before = now;
        }
    }

    static Stats repeat(Measure m) {
        double[] v = new double[runs];
        for (int i = 0; i < runs; i++) {
            v[i] = m.run();
        }
        Arrays.sort(v);
        return new Stats(v[runs / 2], v[0], v[runs - 1]);
    }

    static long rssMb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
                }
            }
        } catch (IOException ignored) {
            // not Linux
        }
        return -1;
    }

    /** A 512 MB tensor summed on all cores, the way a GEMV reads its weights; kept to measure again between runs. */
    static final class Bandwidth implements AutoCloseable {
        private final MatmulPool pool;
        private final NDManager manager = NDManager.newBaseManager();

        /** {@code pool}: the loaded model's, which sets libtorch's threads between its steps. */
        Bandwidth(MatmulPool pool) {
            this.pool = pool;
        }
        private final NDArray data = manager.ones(new Shape(128L * 1024 * 1024), DataType.FLOAT32); // 512 MB

        /** The best of {@code sums} sums, in GB/s. */
        double measure(int sums) {
            // Decoding leaves libtorch on one thread (its products run on the matmul pool); announcing a
            // prefill-sized product gives it all cores back.
            pool.prepareForRows(Long.MAX_VALUE);
            double best = 0;
            for (int i = 0; i < sums; i++) {
                long t0 = System.nanoTime();
                try (NDArray b = data.sum()) {
                    b.getFloat();
                }
                best = Math.max(best, 512.0 * 1024 * 1024 / ((System.nanoTime() - t0) / 1e9) / 1e9);
            }
            return best;
        }

        @Override
        public void close() {
            manager.close();
        }
    }

    static double bandwidthGBs() {
        try (Bandwidth probe = new Bandwidth(MatmulPool.CALLER_ONLY)) {
            return probe.measure(7);
        }
    }

    static double gflops() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.randomNormal(new Shape(1024, 1024));
            NDArray b = m.randomNormal(new Shape(1024, 1024));
            double best = 0;
            for (int i = 0; i < 5; i++) {
                long t0 = System.nanoTime();
                try (NDArray c = a.matMul(b)) {
                    c.getDataType();
                }
                best = Math.max(best, 2.0 * 1024 * 1024 * 1024 / ((System.nanoTime() - t0) / 1e9) / 1e9);
            }
            return best;
        }
    }

    /** A model directory with random weights in the shape of GPT-2 small or a Llama of similar size. */
    static Path build(Path dir, String kind) throws IOException {
        Files.createDirectories(dir);
        SplittableRandom r = new SplittableRandom(7);
        SafetensorsWriter w = new SafetensorsWriter();
        int h = 768;
        int layers = 12;
        String config;
        if (kind.equals("gpt2")) {
            int vocab = 50257;
            w.add("transformer.wte.weight", new long[] {vocab, h}, random(r, vocab * h), TensorDtype.F32);
            w.add("transformer.wpe.weight", new long[] {1024, h}, random(r, 1024 * h), TensorDtype.F32);
            for (int i = 0; i < layers; i++) {
                String p = "transformer.h." + i + ".";
                for (String ln : List.of("ln_1", "ln_2")) {
                    w.add(p + ln + ".weight", new long[] {h}, ones(h), TensorDtype.F32);
                    w.add(p + ln + ".bias", new long[] {h}, new float[h], TensorDtype.F32);
                }
                linear(w, r, p + "attn.c_attn", h, 3 * h, true);
                linear(w, r, p + "attn.c_proj", h, h, true);
                linear(w, r, p + "mlp.c_fc", h, 4 * h, true);
                linear(w, r, p + "mlp.c_proj", 4 * h, h, true);
            }
            w.add("transformer.ln_f.weight", new long[] {h}, ones(h), TensorDtype.F32);
            w.add("transformer.ln_f.bias", new long[] {h}, new float[h], TensorDtype.F32);
            config = "{\"architectures\": [\"GPT2LMHeadModel\"], \"model_type\": \"gpt2\", \"n_embd\": 768, \"n_head\": 12, \"n_layer\": 12, \"n_positions\": 1024, \"n_ctx\": 1024,"
                    + " \"layer_norm_epsilon\": 1e-05, \"activation_function\": \"gelu_new\","
                    + " \"vocab_size\": 50257, \"bos_token_id\": 50256, \"eos_token_id\": 50256}";
        } else {
            int vocab = 32000;
            int inter = 2048;
            w.add("model.embed_tokens.weight", new long[] {vocab, h}, random(r, vocab * h), TensorDtype.F32);
            w.add("lm_head.weight", new long[] {vocab, h}, random(r, vocab * h), TensorDtype.F32);
            for (int i = 0; i < layers; i++) {
                String p = "model.layers." + i + ".";
                w.add(p + "input_layernorm.weight", new long[] {h}, ones(h), TensorDtype.F32);
                w.add(p + "post_attention_layernorm.weight", new long[] {h}, ones(h), TensorDtype.F32);
                for (String proj : List.of("q_proj", "k_proj", "v_proj", "o_proj")) {
                    linear(w, r, p + "self_attn." + proj, h, h, false);
                }
                linear(w, r, p + "mlp.gate_proj", h, inter, false);
                linear(w, r, p + "mlp.up_proj", h, inter, false);
                linear(w, r, p + "mlp.down_proj", inter, h, false);
            }
            w.add("model.norm.weight", new long[] {h}, ones(h), TensorDtype.F32);
            config = "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": 768, \"num_attention_heads\": 12, \"num_key_value_heads\": 12,"
                    + " \"num_hidden_layers\": 12, \"intermediate_size\": 2048, \"vocab_size\": 32000,"
                    + " \"max_position_embeddings\": 2048, \"eos_token_id\": 2}";
        }
        w.write(dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), config);
        Files.copy(Path.of("src/test/resources/gpt2-random/tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{}");
        return dir;
    }

    /** GPT-2 stores Conv1D weights [in, out]; Llama's Linear [out, in]. Shapes follow the checkpoint's convention. */
    static void linear(SafetensorsWriter w, SplittableRandom r, String name, int in, int out, boolean conv1d) {
        w.add(name + ".weight", conv1d ? new long[] {in, out} : new long[] {out, in}, random(r, in * out), TensorDtype.F32);
        if (conv1d) {
            w.add(name + ".bias", new long[] {out}, new float[out], TensorDtype.F32);
        }
    }

    static float[] random(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 0.02);
        }
        return v;
    }

    static float[] ones(int n) {
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        return v;
    }

}
