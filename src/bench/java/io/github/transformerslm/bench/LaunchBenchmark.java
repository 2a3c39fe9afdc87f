package io.github.transformerslm.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Decode speed of the packaged jar by how it is started (not a test): plain {@code java -jar} with no
 * flags and no OMP_WAIT_POLICY, against {@code java --add-modules jdk.incubator.vector -jar} with
 * OMP_WAIT_POLICY=PASSIVE, alternated, on the benchmark's GPT-2-small-shaped model, batch 1, greedy,
 * through /generate. Run after {@code mvn package}:
 * {@code mvn -q exec:java -Dbenchmark=io.github.transformerslm.bench.LaunchBenchmark [-Dhalf=1] [-Drounds=2]}.
 */
public final class LaunchBenchmark {
    private static final int PORT = 8098;

    public static void main(String[] args) throws Exception {
        String half = System.getProperty("half", "1");
        int rounds = Integer.getInteger("rounds", 2);
        int tokens = Integer.getInteger("tokens", 128);
        Path jar;
        try (var jars = Files.list(Path.of("target"))) {
            jar = jars.filter(p -> p.getFileName().toString().matches("transformers-lm-.*\\.jar")).findFirst().orElseThrow();
        }
        Path model = Benchmark.build(Files.createTempDirectory("lm-launch-bench").resolve("gpt2"), "gpt2");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Map<String, List<String>> launches = Map.of(
                "java -jar", List.of(java, "-jar", jar.toString()),
                "java --add-modules jdk.incubator.vector -jar", List.of(java, "--add-modules", "jdk.incubator.vector", "-jar", jar.toString()));
        System.out.printf("GPT-2-small shape, %s, batch 1, %d new tokens, greedy, tokens/s%n",
                half.equals("1") ? "float16" : "float32", tokens);
        for (int round = 1; round <= rounds; round++) {
            for (String name : List.of("java -jar", "java --add-modules jdk.incubator.vector -jar")) {
                ProcessBuilder pb = new ProcessBuilder(launches.get(name)).redirectErrorStream(true)
                        .redirectOutput(Files.createTempFile("lm-launch", ".log").toFile());
                pb.environment().remove("OMP_WAIT_POLICY");
                pb.environment().remove("JDK_JAVA_OPTIONS");
                if (!name.equals("java -jar")) {
                    pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
                }
                pb.environment().putAll(Map.of("PRETRAINED_MODEL_NAME_OR_PATH", model.toString(), "HALF_PRECISION", half,
                        "SERVICE_PORT", String.valueOf(PORT), "DJL_OFFLINE", "true"));
                Process service = pb.start();
                try {
                    HttpClient http = HttpClient.newHttpClient();
                    awaitReady(http);
                    generate(http, 16); // warm the decode path's shape up
                    long start = System.nanoTime();
                    generate(http, tokens);
                    double seconds = (System.nanoTime() - start) / 1e9;
                    System.out.printf("round %d  %-46s %7.1f%n", round, name, tokens / seconds);
                } finally {
                    service.descendants().forEach(ProcessHandle::destroy);
                    service.destroy();
                    service.waitFor();
                }
            }
        }
    }

    private static void generate(HttpClient http, int tokens) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + PORT + "/generate"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"inputs\": \"Hello\", \"parameters\": {\"max_new_tokens\": " + tokens
                                + ", \"eos_token_id\": [], \"details\": true}}")).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200 || !r.body().contains("\"generated_tokens\":" + tokens)) {
            throw new IllegalStateException("generate: " + r.statusCode() + " " + r.body());
        }
    }

    private static void awaitReady(HttpClient http) throws Exception {
        URI readiness = URI.create("http://localhost:" + PORT + "/actuator/health/readiness");
        for (int i = 0; i < 1200; i++) {
            try {
                if (http.send(HttpRequest.newBuilder(readiness).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("not ready in 120 s");
    }
}
