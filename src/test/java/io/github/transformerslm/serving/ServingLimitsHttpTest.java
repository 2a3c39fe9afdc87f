package io.github.transformerslm.serving;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.web.ServiceClient;
import io.github.transformerslm.web.ServiceHttpTest;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.TestPropertySource;

/**
 * The scheduler's limits over HTTP, on a batch of one: a full queue gets 503 at once, a deadline 504,
 * one client's excess 429, and a closed stream cancels its sequence.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {"lm.model=src/test/resources/gpt2-random", "lm.exit-on-load-failure=false", "lm.threads=1", "lm.max-batch-size=1",
        "lm.max-queue=1", "lm.max-client-requests=2",
        // The test stands in for a proxy in front of the service: its X-Forwarded-For names the clients.
        "lm.trusted-proxies=127.0.0.1,::1"})
@Tag("integration")
class ServingLimitsHttpTest extends ServiceHttpTest {
    static final String LONG = "{\"inputs\": \"Once upon a time\", \"parameters\": {\"max_new_tokens\": 1000,"
            + " \"do_sample\": true, \"seed\": 1}}";

    @Autowired
    ModelHost host;

    @Autowired
    MeterRegistry meters;

    @Test
    void prometheusScrapesTheServingMetricsAfterOneRequest() {
        assertThat(client.post("/generate", "{\"inputs\": \"hi\", \"parameters\": {\"max_new_tokens\": 3}}").status())
                .isEqualTo(200);
        ServiceClient.Response scrape = client.get("/actuator/prometheus");
        assertThat(scrape.status()).isEqualTo(200);
        for (String name : java.util.List.of("lm_time_to_first_token_seconds_bucket", "lm_time_per_output_token_seconds_bucket",
                "lm_e2e_request_latency_seconds_bucket", "lm_request_queue_time_seconds_bucket", "lm_prompt_tokens_total",
                "lm_generation_tokens_total", "lm_requests_total{outcome=\"finished\"}", "lm_num_requests_running",
                "lm_num_requests_waiting", "lm_kv_cache_bytes", "lm_model_load_time_seconds",
                "http_server_requests_seconds_count{")) {
            assertThat(scrape.body()).as(name).contains(name);
        }
        assertThat(scrape.body()).containsPattern("http_server_requests_seconds_count\\{[^}]*uri=\"/generate\"");
    }

    @Test
    void aRequestThatCanNeverFitIs422NamingTheLimitAndCrowdsOutNobody() {
        ServiceClient.Response tooMany = client.post("/respond", "{\"dialog_contexts\": [[\"a\"], [\"b\"], [\"c\"]],"
                + " \"configs\": [{\"max_new_tokens\": 2}, {\"max_new_tokens\": 2}, {\"max_new_tokens\": 2}]}");
        assertThat(tooMany.status()).isEqualTo(422);
        assertThat(tooMany.json().get("field").asString()).isEqualTo("dialog_contexts");
        assertThat(tooMany.json().get("detail").asString()).contains("MAX_BATCH_SIZE 1").contains("MAX_QUEUE 1");
        assertThat(host.inFlight()).isZero();
        ServiceClient.Response unrelated = client.post("/generate", "{\"inputs\": \"hi\", \"parameters\": {\"max_new_tokens\": 2}}");
        assertThat(unrelated.status()).isEqualTo(200);
    }

    CompletableFuture<ServiceClient.Response> async(String path, String body, String client) {
        return CompletableFuture.supplyAsync(() -> {
            HttpRequest r = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                    .header("Content-Type", "application/json").header("X-Forwarded-For", client)
                    .header("X-Request-Timeout", "20").POST(HttpRequest.BodyPublishers.ofString(body)).build();
            try {
                HttpResponse<String> resp = HttpClient.newHttpClient().send(r, HttpResponse.BodyHandlers.ofString());
                return new ServiceClient.Response(resp.statusCode(), resp.headers().firstValue("Content-Type").orElse(""),
                        resp.body(), resp);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    void awaitInFlight(int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (host.inFlight() != n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(host.inFlight()).isEqualTo(n);
    }

    @Test
    @org.junit.jupiter.api.condition.EnabledOnOs(org.junit.jupiter.api.condition.OS.LINUX)
    void releasedLibtorchsStartUpCodeBeforeTheModelLoaded() {
        // RELEASE_LIBTORCH_CODE is on unless set to 0: the pages only libtorch's start touched leave the resident set.
        assertThat(host.libtorchCodeReleased()).hasValueSatisfying(released ->
                assertThat(released.residentKbAfter()).as("resident kB right after").isLessThan(4 * 1024));
    }

    @Test
    void limitsOfQueueClientAndDeadline() throws Exception {
        CompletableFuture<ServiceClient.Response> running = async("/generate", LONG, "a");
        CompletableFuture<ServiceClient.Response> queued = async("/generate", LONG, "b");
        awaitInFlight(2);
        ServiceClient.Response refused = client.post("/generate", LONG);
        assertThat(refused.status()).isEqualTo(503);
        assertThat(refused.raw().headers().firstValue("Retry-After")).isPresent();
        // Refused at once, not after waiting for a place: both requests ahead of it are still running.
        assertThat(running).isNotDone();
        assertThat(queued).isNotDone();
        // The same client beyond MAX_CLIENT_REQUESTS (2) is told to slow down before the queue is checked.
        ServiceClient.Response third = async("/generate", LONG, "b").get();
        assertThat(third.status()).isIn(429, 503);
        assertThat(running.get().status()).isEqualTo(200);
        assertThat(queued.get().status()).isEqualTo(200);

        HttpRequest late = HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/generate"))
                .header("Content-Type", "application/json").header("X-Request-Timeout", "0.2")
                .POST(HttpRequest.BodyPublishers.ofString(LONG)).build();
        HttpResponse<String> timedOut = HttpClient.newHttpClient().send(late, HttpResponse.BodyHandlers.ofString());
        assertThat(timedOut.statusCode()).isEqualTo(504);
        awaitInFlight(0);
        assertThat(meters.counter("lm.requests", "outcome", "timeout").count()).isGreaterThanOrEqualTo(1);
    }

    @Test
    @org.junit.jupiter.api.extension.ExtendWith(org.springframework.boot.test.system.OutputCaptureExtension.class)
    void closingAnOpenAiStreamIsOneInfoLineNotAnError(org.springframework.boot.test.system.CapturedOutput output)
            throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\": \"m\", \"prompt\": \"hi\", \"max_tokens\": 900, \"stream\": true}")).build();
        HttpResponse<InputStream> resp = HttpClient.newHttpClient().send(r, HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader reader = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8));
        assertThat(reader.readLine()).startsWith("data: ");
        resp.body().close();
        awaitInFlight(0);
        Thread.sleep(300);
        assertThat(output.getAll()).contains("499: a client closed its event stream")
                .doesNotContain(" ERROR ").doesNotContain("No converter").doesNotContain("AsyncRequestNotUsableException");
    }

    @Test
    void closingAStreamCancelsItsSequence() throws Exception {
        double before = meters.counter("lm.requests", "outcome", "cancelled").count();
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/generate_stream"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(LONG)).build();
        HttpResponse<InputStream> resp = HttpClient.newHttpClient().send(r, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(resp.statusCode()).isEqualTo(200);
        BufferedReader reader = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8));
        assertThat(reader.readLine()).startsWith("data:");
        resp.body().close();
        awaitInFlight(0);
        assertThat(meters.counter("lm.requests", "outcome", "cancelled").count()).isEqualTo(before + 1);
    }

    @Test
    void kvCacheGaugeFollowsTheCacheSize() throws Exception {
        // The random GPT-2: 2 layers x (keys, values) x 1 row x 2 heads x 16 dims x 4 bytes per column of positions.
        long perColumn = 2L * 2 * 1 * 2 * 16 * Float.BYTES;
        double initial = awaitGauge(v -> v > 0);
        assertThat(initial % perColumn).isZero();
        assertThat(initial / perColumn).isGreaterThanOrEqualTo(64);
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/generate_stream"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"inputs\": \"Once upon a time\", \"parameters\": {\"max_new_tokens\": 300,"
                                + " \"do_sample\": true, \"seed\": 1}}")).build();
        HttpResponse<InputStream> resp = HttpClient.newHttpClient().send(r, HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader reader = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8));
        int events = 0;
        while (events < 200 && reader.readLine() != null) {
            events++; // data lines and the blank lines between them: 100 tokens or more
        }
        // 100+ positions in a cache that started at 64 columns: it has doubled at least once.
        assertThat(awaitGauge(v -> v >= 128 * perColumn) / perColumn).isGreaterThanOrEqualTo(128);
        resp.body().close();
        awaitInFlight(0);
    }

    double awaitGauge(java.util.function.DoublePredicate condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        double value = meters.get("lm.kv_cache.bytes").gauge().value();
        while (!condition.test(value) && System.nanoTime() < deadline) {
            Thread.sleep(10);
            value = meters.get("lm.kv_cache.bytes").gauge().value();
        }
        return value;
    }

    @Test
    void closingTheConnectionCancelsANonStreamingRequest() throws Exception {
        double cancelled = meters.counter("lm.requests", "outcome", "cancelled").count();
        double finished = meters.counter("lm.requests", "outcome", "finished").count();
        try (Socket socket = new Socket("localhost", port)) {
            socket.getOutputStream().write(rawPost("/generate", LONG).getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            awaitInFlight(1);
        }
        awaitInFlight(0);
        assertThat(meters.counter("lm.requests", "outcome", "cancelled").count()).isEqualTo(cancelled + 1);
        assertThat(meters.counter("lm.requests", "outcome", "finished").count()).isEqualTo(finished);
    }

    @Test
    void aPipelinedRequestIsNotTakenForAClosedConnection() throws Exception {
        String body = "{\"inputs\": \"Once upon a time\", \"parameters\": {\"max_new_tokens\": 300, \"do_sample\": true,"
                + " \"seed\": 1, \"stop\": [\"\\u0000\"]}}";
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(30_000);
            // Two requests back to back on one connection: the second arrives while the first is generating.
            socket.getOutputStream().write((rawPost("/generate", body) + rawPost("/generate", body))
                    .getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            for (int i = 0; i < 2; i++) {
                assertThat(line(in)).as("status line of response %d", i + 1).isEqualTo("HTTP/1.1 200 ");
                int length = -1;
                for (String header = line(in); !header.isEmpty(); header = line(in)) {
                    if (header.toLowerCase().startsWith("content-length:")) {
                        length = Integer.parseInt(header.substring(15).trim());
                    }
                }
                assertThat(new String(in.readNBytes(length), StandardCharsets.UTF_8)).contains("generated_text");
            }
        }
    }

    static String line(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            assertThat(b).as("connection open").isNotNegative();
            if (b != '\r') {
                line.append((char) b);
            }
        }
        return line.toString();
    }

    static String rawPost(String path, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
    }
}
