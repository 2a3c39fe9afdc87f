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
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
 * {@code MALLOC_ARENA_MAX=2}; {@code -DmallocArenas=} changes that), {@code -Dclients=16 -Dtokens=256}, {@code -Dhalf=1} for float16.
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
        Path jar;
        try (var jars = Files.list(Path.of("target"))) {
            jar = jars.filter(p -> p.getFileName().toString().matches("transformers-lm-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no target/transformers-lm-*.jar: run mvn package"));
        }
        Path checkpoints = Files.createTempDirectory("lm-service-bench");
        Path model = Benchmark.build(checkpoints.resolve("gpt2"), "gpt2");
        // Float32 weights stay in the mapped file's pages; float16 ones are converted into anonymous memory.
        long weights = Files.size(model.resolve("model.safetensors")) / (half.equals("1") ? 2 : 1);

        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (!jvm.isBlank()) {
            command.addAll(List.of(jvm.trim().split("\\s+")));
        }
        command.addAll(List.of("--add-modules", "jdk.incubator.vector", "-jar", jar.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(Files.createTempFile("lm-service", ".log").toFile());
        builder.environment().putAll(java.util.Map.of("PRETRAINED_MODEL_NAME_OR_PATH", model.toString(),
                "HALF_PRECISION", half, "SERVICE_PORT", String.valueOf(PORT), "OMP_WAIT_POLICY", "PASSIVE",
                "DJL_OFFLINE", "true", "MALLOC_ARENA_MAX", System.getProperty("mallocArenas", "2")));
        long start = System.nanoTime();
        Process service = builder.start();
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            awaitReady(http, service);
            System.out.printf("service: %s, float%s, JVM options '%s'%n", jar.getFileName(), half.equals("1") ? "16" : "32", jvm);
            System.out.printf("%-44s %.1f s%n", "JVM start to ready", (System.nanoTime() - start) / 1e9);
            printMemory("ready", service.pid(), http, weights, Long.MAX_VALUE); // its first columns are zeroed: resident

            String body = "{\"model\":\"m\",\"prompt\":\"Hello there, how are you doing today? I wanted to ask\","
                    + "\"max_tokens\":" + tokens + ",\"temperature\":0}";
            long t0 = System.nanoTime();
            List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                calls.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://localhost:" + PORT + "/v1/completions"))
                        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            long generated = 0;
            long positions = 0; // KV cache positions the burst wrote: each request's prompt and completion
            for (CompletableFuture<HttpResponse<String>> call : calls) {
                HttpResponse<String> response = call.join();
                Matcher m = Pattern.compile("\"completion_tokens\":(\\d+)").matcher(response.body());
                Matcher p = Pattern.compile("\"prompt_tokens\":(\\d+)").matcher(response.body());
                if (response.statusCode() != 200 || !m.find() || !p.find()) {
                    throw new IllegalStateException("request failed: " + response.statusCode() + " " + response.body());
                }
                generated += Long.parseLong(m.group(1));
                positions += Long.parseLong(m.group(1)) + Long.parseLong(p.group(1));
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("%-44s %.0f tokens/s (%d tokens in %.1f s)%n", clients + " concurrent clients over HTTP",
                    generated / seconds, generated, seconds);
            // The cache grew for the burst, and grown columns are left unwritten where decode attends in Java:
            // only the pages the burst wrote are resident, so those, not the reservation, are taken off.
            long bytesPerPosition = 2L * 12 * 768 * (half.equals("1") ? 2 : 4); // keys and values, 12 layers of 768
            printMemory("after the burst", service.pid(), http, weights, positions * bytesPerPosition);
            Thread.sleep(12_000);
            printMemory("after 12 s idle", service.pid(), http, weights, Long.MAX_VALUE);
        } finally {
            service.destroy();
            service.waitFor();
            Benchmark.deleteTree(checkpoints);
        }
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
                kvResident < kv ? String.format(" (%d MB written)", kvResident >> 20) : "", (file + anon - weights - kvResident) >> 20);
    }

    private static long kilobytes(String rollup, String field) {
        Matcher m = Pattern.compile("(?m)^" + field + ":\\s+(\\d+) kB").matcher(rollup);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private ServiceBenchmark() {}
}
