package io.github.transformerslm.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The service itself, measured from outside (not a test): starts the packaged jar on the benchmark's
 * GPT-2-small-shaped model, then prints its resident memory (file-backed and anonymous, from
 * {@code /proc/PID/smaps_rollup}, Linux only) when ready, after a burst of concurrent requests over HTTP
 * with their throughput, and after the batch has been idle long enough to give the KV cache back.
 *
 * <p>Run after {@code mvn package} (it starts the jar that builds):
 * {@code mvn -q exec:java -Dbenchmark=io.github.transformerslm.bench.ServiceBenchmark}, with
 * {@code -Djvm="..."} for the JVM options of the service (the Docker image's by default, with its
 * {@code MALLOC_ARENA_MAX=2}; {@code -DmallocArenas=} changes that), {@code -Denv="NAME=value ..."} for more of its environment, {@code -Dclients=16 -Dtokens=256}, {@code -Dhalf=1} for float16,
 * {@code -Dquantize=int8} or {@code int4} for QUANTIZE, {@code -Dmodel=llama} for the Llama-shaped model,
 * {@code -Dregions=true} to list the largest anonymous mappings at each point (glibc's arenas among them).
 * Like the Docker image, it runs the jar extracted, with a class data archive from a training run on the
 * bundled model; {@code -Dcds=false} starts the packaged jar itself instead.
 */
public final class ServiceBenchmark {
    private static final int PORT = 8099;
    /** The Docker image's JAVA_TOOL_OPTIONS (and MALLOC_ARENA_MAX below), so that the figures are the image's. */
    public static final String IMAGE_JVM_OPTIONS = "-XX:+UseSerialGC -Xms32m -Xmx512m -Xmn12m"
            + " -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -XX:+UnlockExperimentalVMOptions -XX:TrimNativeHeapInterval=5000";

    public static void main(String[] args) throws Exception {
        String jvm = System.getProperty("jvm", IMAGE_JVM_OPTIONS);
        int clients = Integer.getInteger("clients", 16);
        int tokens = Integer.getInteger("tokens", 256);
        String half = System.getProperty("half", "0");
        String quantize = System.getProperty("quantize", "");
        String shape = System.getProperty("model", "gpt2");
        Path jar;
        try (var jars = Files.list(Path.of("target"))) {
            jar = jars.filter(p -> p.getFileName().toString().matches("transformers-lm-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no target/transformers-lm-*.jar: run mvn package"));
        }
        Map<String, String> environment = new HashMap<>(Map.of(
                "HALF_PRECISION", half, "QUANTIZE", quantize, "SERVICE_PORT", String.valueOf(PORT), "OMP_WAIT_POLICY", "PASSIVE",
                "DJL_OFFLINE", "true", "MALLOC_ARENA_MAX", System.getProperty("mallocArenas", "2")));
        for (String variable : System.getProperty("env", "").trim().split("\\s+")) { // -Denv="NAME=value ..."
            if (variable.contains("=")) {
                environment.put(variable.substring(0, variable.indexOf('=')), variable.substring(variable.indexOf('=') + 1));
            }
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (!jvm.isBlank()) {
            command.addAll(List.of(jvm.trim().split("\\s+")));
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        Path launched = jar;
        if (!"false".equals(System.getProperty("cds"))) {
            // As the image runs it: the jar extracted, with the class data archive of a training run.
            Path layout = Path.of("target", "service-benchmark-image");
            launched = imageLayout(jar, layout, command, environment, http);
            command.add("-XX:SharedArchiveFile=" + layout.resolve("app.jsa"));
        }
        command.addAll(List.of("--add-modules", "jdk.incubator.vector", "-jar", launched.toString()));
        Path checkpoints = Files.createTempDirectory("lm-service-bench");
        Path model = Benchmark.build(checkpoints.resolve(shape), shape);
        // The weights are packed into anonymous memory at load (float16 ones at half the file's size).
        long weights = heldWeightBytes(model, half.equals("1"), quantize);
        environment.put("PRETRAINED_MODEL_NAME_OR_PATH", model.toString());
        long start = System.nanoTime();
        Process service = start(command, environment);
        try {
            awaitReady(http, service);
            System.out.printf("service: %s, %s-shaped, float%s%s, weights held %d MB, JVM options '%s'%n", launched, shape,
                    half.equals("1") ? "16" : "32", quantize.isEmpty() ? "" : ", QUANTIZE=" + quantize, weights >> 20, jvm);
            System.out.printf("%-44s %.1f s%n", "JVM start to ready", (System.nanoTime() - start) / 1e9);
            // The cache's arrays are left unwritten until sequences write them (decode attends in Java): none yet.
            printMemory("ready", service.pid(), http, weights, 0);
            printRegions(service.pid());

            String body = "{\"model\":\"m\",\"prompt\":\"Hello there, how are you doing today? I wanted to ask\","
                    + "\"max_tokens\":" + tokens + ",\"temperature\":0}";
            // Resident set size sampled every 50 ms while the burst runs (statm: cheap to read, RSS rather than
            // PSS): its peak is what a container's memory limit has to hold.
            AtomicLong peak = new AtomicLong();
            AtomicBoolean bursting = new AtomicBoolean(true);
            Thread sampler = new Thread(() -> {
                while (bursting.get()) {
                    try {
                        String[] statm = Files.readString(Path.of("/proc/" + service.pid() + "/statm")).trim().split("\\s+");
                        peak.accumulateAndGet(Long.parseLong(statm[1]) * 4096, Math::max);
                        Thread.sleep(50);
                    } catch (IOException | InterruptedException e) {
                        return;
                    }
                }
            });
            sampler.setDaemon(true);
            sampler.start();
            long t0 = System.nanoTime();
            List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                calls.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://localhost:" + PORT + "/v1/completions"))
                        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            long generated = 0;
            // The KV cache's pages the burst wrote. A row keeps each head's positions together: [kvHeads,
            // columns, headDim] (GPT-2 small: 12 layers, keys and values, 12 heads of 64), so a request
            // makes the pages its positions cover in each of those 288 blocks resident, the last one partly
            // written (about 12 MB more than the bytes written for 16 float16 requests of 268 positions).
            int elementBytes = half.equals("1") ? 2 : 4;
            long kvPages = 0;
            for (CompletableFuture<HttpResponse<String>> call : calls) {
                HttpResponse<String> response = call.join();
                Matcher m = Pattern.compile("\"completion_tokens\":(\\d+)").matcher(response.body());
                Matcher p = Pattern.compile("\"prompt_tokens\":(\\d+)").matcher(response.body());
                if (response.statusCode() != 200 || !m.find() || !p.find()) {
                    throw new IllegalStateException("request failed: " + response.statusCode() + " " + response.body());
                }
                generated += Long.parseLong(m.group(1));
                // the prompt and every completion token but the last, which no step feeds back
                long positions = Long.parseLong(m.group(1)) + Long.parseLong(p.group(1)) - 1;
                kvPages += 2L * 12 * 12 * ((positions * 64 * elementBytes + 4095) / 4096);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            bursting.set(false);
            sampler.join();
            System.out.printf("%-44s %.0f tokens/s (%d tokens in %.1f s)%n", clients + " concurrent clients over HTTP",
                    generated / seconds, generated, seconds);
            System.out.printf("%-44s %d MB (resident set, sampled every 50 ms)%n", "peak resident memory during the burst",
                    peak.get() >> 20);
            // The cache grew for the burst, and grown columns are left unwritten where decode attends in Java:
            // only the pages the burst wrote are resident, so those, not the reservation, are taken off.
            printMemory("after the burst", service.pid(), http, weights, kvPages * 4096);
            printRegions(service.pid());
            Thread.sleep(12_000);
            printMemory("after 12 s idle", service.pid(), http, weights, 0); // the cache is back to fresh arrays
            printRegions(service.pid());
        } finally {
            service.destroy();
            service.waitFor();
            Benchmark.deleteTree(checkpoints);
        }
    }

    /**
     * The bytes the service holds for the checkpoint's weights: matrices at 4 bytes (2 for float16), or at
     * 1.0625 (int8) and 0.5625 (int4) with their float16 scales, the head and embedding tables at 1.0625 under QUANTIZE;
     * position tables and vectors as loaded.
     */
    static long heldWeightBytes(Path model, boolean half, String quantize) {
        double total = 0;
        try (io.github.transformerslm.weights.Checkpoint checkpoint = io.github.transformerslm.weights.Checkpoint.open(model)) {
            for (String name : checkpoint.names()) {
                long[] shape = checkpoint.shape(name);
                long n = 1;
                for (long d : shape) {
                    n *= d;
                }
                boolean table = name.contains("wte") || name.contains("embed_tokens") || name.contains("lm_head");
                double bytes = half ? 2 : 4;
                if (shape.length == 2 && !name.contains("wpe") && !quantize.isEmpty()) {
                    bytes = quantize.equals("int4") && !table ? 0.5625 : 1.0625;
                }
                total += n * bytes;
            }
        }
        return (long) total;
    }

    private static Process start(List<String> command, Map<String, String> environment) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(Files.createTempFile("lm-service", ".log").toFile());
        builder.environment().putAll(environment);
        return builder.start();
    }

    /**
     * The Dockerfile's layout in {@code dir}: the jar extracted (Spring Boot's tools mode), and the class data
     * archive {@code app.jsa} of a training run on the bundled model (ready, one /respond, stopped), which the
     * image makes the same way. Returns the extracted jar.
     */
    private static Path imageLayout(Path jar, Path dir, List<String> java, Map<String, String> environment,
            HttpClient http) throws IOException, InterruptedException {
        if (Files.exists(dir)) {
            Benchmark.deleteTree(dir);
        }
        List<String> extract = new ArrayList<>(List.of(java.get(0), "-Djarmode=tools", "-jar", jar.toString(),
                "extract", "--destination", dir.toString()));
        Process tools = new ProcessBuilder(extract).inheritIO().start();
        if (tools.waitFor() != 0) {
            throw new IllegalStateException("extracting " + jar + " failed");
        }
        Path extracted = dir.resolve(jar.getFileName());
        List<String> training = new ArrayList<>(java);
        training.addAll(List.of("-XX:ArchiveClassesAtExit=" + dir.resolve("app.jsa"),
                "--add-modules", "jdk.incubator.vector", "-jar", extracted.toString()));
        Map<String, String> bundled = new HashMap<>(environment);
        bundled.put("PRETRAINED_MODEL_NAME_OR_PATH", "");
        long t0 = System.nanoTime();
        Process run = start(training, bundled);
        try {
            awaitReady(http, run);
            HttpResponse<String> answer = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + PORT + "/respond"))
                    .header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"dialog_contexts\": [[\"Hello\"]]}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (answer.statusCode() != 200) {
                throw new IllegalStateException("the training run's /respond answered " + answer.statusCode());
            }
        } finally {
            run.destroy(); // SIGTERM: the JVM exits normally and writes the archive
            run.waitFor();
        }
        System.out.printf("%-44s %d MB, %.1f s%n", "class data archive (training run)",
                Files.size(dir.resolve("app.jsa")) >> 20, (System.nanoTime() - t0) / 1e9);
        return extracted;
    }

    private static void awaitReady(HttpClient http, Process service) throws InterruptedException {
        URI readiness = URI.create("http://localhost:" + PORT + "/actuator/health/readiness");
        for (int i = 0; i < 600; i++) {
            if (!service.isAlive()) {
                throw new IllegalStateException("the service exited with " + service.exitValue());
            }
            try {
                if (http.send(HttpRequest.newBuilder(readiness).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the service was not ready within 60 s");
    }

    /**
     * Proportional set size split into file-backed (weights mapped from the file, libraries) and anonymous
     * memory; what lies beyond the weights and the KV cache's resident part (its reservation, or {@code written}
     * bytes where fewer were written).
     */
    private static void printMemory(String when, long pid, HttpClient http, long weights, long written)
            throws IOException, InterruptedException {
        String rollup = Files.readString(Path.of("/proc/" + pid + "/smaps_rollup"));
        long file = kilobytes(rollup, "Pss_File") * 1024;
        long anon = kilobytes(rollup, "Pss_Anon") * 1024;
        String metric = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + PORT
                + "/actuator/metrics/lm.kv_cache.bytes")).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher value = Pattern.compile("\"value\":([0-9.E]+)").matcher(metric);
        long kv = value.find() ? (long) Double.parseDouble(value.group(1)) : -1;
        long kvResident = Math.min(kv, written);
        System.out.printf("%-44s file-backed %5d MB, anonymous %5d MB; KV cache %4d MB%s, beyond weights and KV cache %4d MB%n",
                "resident memory " + when, file >> 20, anon >> 20, kv >> 20,
                kvResident < kv ? String.format(" (%d MB in written pages)", kvResident >> 20) : "", (file + anon - weights - kvResident) >> 20);
    }

    /**
     * The largest anonymous mappings by resident size, with their start address: glibc's arenas other than the
     * main one sit in 64 MB-aligned heaps, libtorch's big tensors in mappings of their own.
     */
    private static void printRegions(long pid) throws IOException {
        if (!Boolean.getBoolean("regions")) {
            return;
        }
        List<String[]> regions = new ArrayList<>();
        String header = null;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                header = line;
            } else if (line.startsWith("Rss:") && header != null) {
                String[] fields = header.trim().split("\\s+");
                if (fields.length < 6 || fields[5].startsWith("[")) { // anonymous, or the brk heap
                    regions.add(new String[] {line.replaceAll("\\D", ""), header});
                }
            }
        }
        regions.sort((a, b) -> Long.compare(Long.parseLong(b[0]), Long.parseLong(a[0])));
        for (String[] region : regions.subList(0, Math.min(15, regions.size()))) {
            String[] range = region[1].split(" ")[0].split("-");
            long size = Long.parseUnsignedLong(range[1], 16) - Long.parseUnsignedLong(range[0], 16);
            System.out.printf("  %6d MB resident of %6d MB at %s%s%n", Long.parseLong(region[0]) >> 10, size >> 20, range[0],
                    Long.parseUnsignedLong(range[0], 16) % (64L << 20) == 0 ? " (64 MB-aligned)" : "");
        }
    }

    private static long kilobytes(String rollup, String field) {
        Matcher m = Pattern.compile("(?m)^" + field + ":\\s+(\\d+) kB").matcher(rollup);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private ServiceBenchmark() {}
}
