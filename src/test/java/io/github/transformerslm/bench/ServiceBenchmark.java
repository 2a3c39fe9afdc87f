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
 * {@code -Djvm="-XX:+UseSerialGC -Xmx512m"} for the JVM options of the service (the Docker image's by
 * default), {@code -Dclients=16 -Dtokens=256}, {@code -Dhalf=1} for float16.
 */
public final class ServiceBenchmark {
    private static final int PORT = 8099;

    public static void main(String[] args) throws Exception {
        String jvm = System.getProperty("jvm", "-XX:+UseSerialGC -Xmx512m");
        int clients = Integer.getInteger("clients", 16);
        int tokens = Integer.getInteger("tokens", 256);
        String half = System.getProperty("half", "0");
        Path jar;
        try (var jars = Files.list(Path.of("target"))) {
            jar = jars.filter(p -> p.getFileName().toString().matches("transformers-lm-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no target/transformers-lm-*.jar: run mvn package"));
        }
        Path model = Benchmark.build(Files.createTempDirectory("lm-service-bench").resolve("gpt2"), "gpt2");

        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (!jvm.isBlank()) {
            command.addAll(List.of(jvm.trim().split("\\s+")));
        }
        command.addAll(List.of("--add-modules", "jdk.incubator.vector", "-jar", jar.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(Files.createTempFile("lm-service", ".log").toFile());
        builder.environment().putAll(java.util.Map.of("PRETRAINED_MODEL_NAME_OR_PATH", model.toString(),
                "HALF_PRECISION", half, "SERVICE_PORT", String.valueOf(PORT), "OMP_WAIT_POLICY", "PASSIVE",
                "DJL_OFFLINE", "true"));
        long start = System.nanoTime();
        Process service = builder.start();
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            awaitReady(http, service);
            System.out.printf("service: %s, float%s, JVM options '%s'%n", jar.getFileName(), half.equals("1") ? "16" : "32", jvm);
            System.out.printf("%-44s %.1f s%n", "JVM start to ready", (System.nanoTime() - start) / 1e9);
            printMemory("ready", service.pid());

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
            for (CompletableFuture<HttpResponse<String>> call : calls) {
                HttpResponse<String> response = call.join();
                Matcher m = Pattern.compile("\"completion_tokens\":(\\d+)").matcher(response.body());
                if (response.statusCode() != 200 || !m.find()) {
                    throw new IllegalStateException("request failed: " + response.statusCode() + " " + response.body());
                }
                generated += Long.parseLong(m.group(1));
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("%-44s %.0f tokens/s (%d tokens in %.1f s)%n", clients + " concurrent clients over HTTP",
                    generated / seconds, generated, seconds);
            printMemory("after the burst", service.pid());
            Thread.sleep(12_000);
            printMemory("after 12 s idle", service.pid());
        } finally {
            service.destroy();
            service.waitFor();
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

    /** Proportional set size split into file-backed (weights mapped from the file, libraries) and anonymous memory. */
    private static void printMemory(String when, long pid) throws IOException {
        String rollup = Files.readString(Path.of("/proc/" + pid + "/smaps_rollup"));
        System.out.printf("%-44s file-backed %5d MB, anonymous %5d MB%n", "resident memory " + when,
                kilobytes(rollup, "Pss_File") / 1024, kilobytes(rollup, "Pss_Anon") / 1024);
    }

    private static long kilobytes(String rollup, String field) {
        Matcher m = Pattern.compile("(?m)^" + field + ":\\s+(\\d+) kB").matcher(rollup);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private ServiceBenchmark() {}
}
