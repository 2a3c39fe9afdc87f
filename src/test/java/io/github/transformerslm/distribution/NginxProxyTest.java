package io.github.transformerslm.distribution;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.github.transformerslm.web.ServiceClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.TestPropertySource;

/**
 * The nginx proxy of proxy/, rendered by envsubst as its image renders it, run by Debian's nginx in front
 * of a started service: answers arrive intact, streams arrive as generated, and a stopped upstream gives
 * 502 and recovers when it returns. Needs nginx and envsubst on PATH (.ci/run installs them).
 */
@Tag("integration")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {"lm.model=src/test/resources/gpt2-random", "lm.exit-on-load-failure=false", "lm.threads=1"})
class NginxProxyTest {
    @LocalServerPort
    int servicePort;

    @TempDir
    Path dir;

    Process nginx;
    HttpServer stub;
    int stubPort;
    int proxyPort;
    int stubProxyPort;

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    String renderWith(String proxyPass, int port) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("envsubst", "${PROXY_PASS} ${PORT}")
                .redirectInput(Path.of("proxy/default.conf.template").toFile());
        pb.environment().putAll(Map.of("PROXY_PASS", proxyPass, "PORT", String.valueOf(port)));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(out).contains("listen " + port).contains("server " + proxyPass).contains("$proxy_add_x_forwarded_for");
        return out;
    }

    void startStub() throws IOException {
        stub = HttpServer.create(new InetSocketAddress("127.0.0.1", stubPort), 0);
        stub.createContext("/", exchange -> {
            byte[] body = ("forwarded-for=" + exchange.getRequestHeaders().getFirst("X-Forwarded-For")).getBytes();
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        stub.start();
    }

    @BeforeEach
    void start() throws Exception {
        new ServiceClient("http://localhost:" + servicePort).awaitReady(Duration.ofSeconds(60));
        proxyPort = freePort();
        stubProxyPort = freePort();
        stubPort = freePort();
        startStub();
        Files.writeString(dir.resolve("service.conf"), renderWith("127.0.0.1:" + servicePort, proxyPort));
        Files.writeString(dir.resolve("stub.conf"), renderWith("127.0.0.1:" + stubPort, stubProxyPort));
        Files.writeString(dir.resolve("nginx.conf"), """
                daemon off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/error.log;
                events { worker_connections 64; }
                http {
                    access_log off;
                    client_body_temp_path %1$s/body;
                    proxy_temp_path %1$s/proxy;
                    fastcgi_temp_path %1$s/fastcgi;
                    uwsgi_temp_path %1$s/uwsgi;
                    scgi_temp_path %1$s/scgi;
                    include %1$s/service.conf;
                    include %1$s/stub.conf;
                }
                """.formatted(dir));
        nginx = new ProcessBuilder("nginx", "-c", dir.resolve("nginx.conf").toString(), "-p", dir.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("nginx.out").toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", proxyPort)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("nginx did not start: " + Files.readString(dir.resolve("nginx.out")));
    }

    @AfterEach
    void stop() throws Exception {
        if (nginx != null) {
            nginx.destroy();
            nginx.waitFor(10, TimeUnit.SECONDS);
        }
        if (stub != null) {
            stub.stop(0);
        }
    }

    @Test
    void respondAndGenerateArriveIntactThroughTheProxy() {
        ServiceClient direct = new ServiceClient("http://localhost:" + servicePort);
        ServiceClient proxied = new ServiceClient("http://127.0.0.1:" + proxyPort);
        String generate = "{\"inputs\": \"Hello there\", \"parameters\": {\"max_new_tokens\": 12, \"details\": true}}";
        assertThat(proxied.post("/generate", generate).json()).isEqualTo(direct.post("/generate", generate).json());
        String respond = "{\"dialog_contexts\": [[\"hi\"]], \"configs\": [{\"max_new_tokens\": 10, \"seed\": 5}]}";
        ServiceClient.Response viaProxy = proxied.post("/respond", respond);
        assertThat(viaProxy.status()).isEqualTo(200);
        assertThat(viaProxy.json()).isEqualTo(direct.post("/respond", respond).json());
        assertThat(proxied.post("/respond", "{\"dialog_contexts\": 3}").status()).isEqualTo(400);
        String goals = "{\"prompts\": [\"You are a chef.\"], \"configs\": [{\"max_new_tokens\": 8, \"seed\": 5}]}";
        ServiceClient.Response goalsViaProxy = proxied.post("/generate_goals", goals);
        assertThat(goalsViaProxy.status()).isEqualTo(200);
        assertThat(goalsViaProxy.json()).isEqualTo(direct.post("/generate_goals", goals).json());
        assertThat(goalsViaProxy.json().size()).isEqualTo(1);
    }

    @Test
    void aStreamArrivesAsItIsGeneratedNotAllAtTheEnd() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/generate_stream"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": \"Once\", \"parameters\": {\"max_new_tokens\": 400,"
                        + " \"do_sample\": true, \"seed\": 3, \"eos_token_id\": []}}")).build();
        long start = System.nanoTime();
        HttpResponse<InputStream> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofInputStream());
        List<Long> arrivals = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.startsWith("data:")) {
                    arrivals.add(System.nanoTime() - start);
                }
            }
        }
        assertThat(arrivals).hasSize(400);
        long first = arrivals.get(0);
        long last = arrivals.get(arrivals.size() - 1);
        // Buffered, every event would arrive together at the end.
        assertThat(first).as("first event at %d ms, last at %d ms", first / 1_000_000, last / 1_000_000)
                .isLessThan(last / 2);
    }

    @Test
    void aStoppedUpstreamGives502AndRecoversWhenItReturns() throws Exception {
        ServiceClient proxied = new ServiceClient("http://127.0.0.1:" + stubProxyPort);
        ServiceClient.Response ok = proxied.get("/ping");
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.body()).startsWith("forwarded-for=127.0.0.1");
        stub.stop(0);
        assertThat(proxied.get("/ping").status()).isEqualTo(502);
        startStub();
        assertThat(proxied.get("/ping").status()).isEqualTo(200);
    }

}
