package io.github.transformerslm.web;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.model.GoldenReference;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** What a careless or hostile client found, each kept from coming back: keys, sizes, numbers, headers. */
@Tag("integration")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class HardeningHttpTest {
    static final String KEY = "k-2f9a";

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry r) {
        r.add("lm.model", () -> GoldenReference.directory("gpt2").toString());
        r.add("lm.exit-on-load-failure", () -> "false");
        r.add("lm.threads", () -> "1");
        r.add("lm.api-key", () -> "other-key, " + KEY);
        r.add("lm.max-request-bytes", () -> "2000");
        r.add("lm.cors-allowed-origins", () -> "https://chat.example.org");
    }

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void ready() {
        new ServiceClient("http://localhost:" + port).awaitReady(Duration.ofSeconds(60));
    }

    HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpRequest.Builder post(String path, String json) {
        return HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
    }

    static JsonNode json(HttpResponse<String> r) {
        return JsonMapper.builder().build().readTree(r.body());
    }

    @Test
    void everyRouteButHealthAndPingNeedsTheKeyInEitherHeader() throws Exception {
        String body = "{\"inputs\": \"t5 t17\", \"parameters\": {\"max_new_tokens\": 2}}";
        HttpResponse<String> none = send(post("/generate", body));
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
        assertThat(json(none).get("title").asString()).isEqualTo("Unauthorized");
        HttpResponse<String> openAi = send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/models")));
        assertThat(openAi.statusCode()).isEqualTo(401);
        assertThat(json(openAi).get("error").get("code").asString()).isEqualTo("invalid_api_key");
        assertThat(send(post("/generate", body).header("Authorization", "Bearer wrong")).statusCode()).isEqualTo(401);
        assertThat(send(post("/generate", body).header("Authorization", "Bearer " + KEY)).statusCode()).isEqualTo(200);
        assertThat(send(post("/generate", body).header("X-API-Key", "other-key")).statusCode()).isEqualTo(200);
        assertThat(send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/ping"))).statusCode()).isEqualTo(200);
        assertThat(send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/actuator/health/readiness")))
                .statusCode()).isEqualTo(200);
        HttpResponse<String> metrics = send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/actuator/metrics")));
        assertThat(metrics.statusCode()).isEqualTo(401);
    }

    @Test
    void bodiesOverMaxRequestBytesAre413BeforeParsingChunkedOrNot() throws Exception {
        String big = "{\"inputs\": \"" + "t5 ".repeat(1000) + "\"}";
        HttpResponse<String> declared = send(post("/generate", big).header("X-API-Key", KEY));
        assertThat(declared.statusCode()).isEqualTo(413);
        assertThat(json(declared).get("detail").asString()).contains("MAX_REQUEST_BYTES");
        HttpResponse<String> chunked = send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/completions"))
                .header("Content-Type", "application/json").header("X-API-Key", KEY)
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big.getBytes()))));
        assertThat(chunked.statusCode()).isEqualTo(413);
        assertThat(json(chunked).get("error").get("code").asString()).isEqualTo("request_too_large");
        HttpResponse<String> small = send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/generate"))
                .header("Content-Type", "application/json").header("X-API-Key", KEY)
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(
                        "{\"inputs\": \"t5 t17\", \"parameters\": {\"max_new_tokens\": 2}}".getBytes()))));
        assertThat(small.statusCode()).as(small.body()).isEqualTo(200);
    }

    @Test
    void numbersOutOfRangeNameTheirFieldAndNoBodyNamesAClass() throws Exception {
        String huge = "9".repeat(401);
        String[][] cases = {
                {"/generate", "{\"inputs\": \"t5\", \"parameters\": {\"truncate\": 2147483648}}", "parameters.truncate"},
                {"/generate", "{\"inputs\": \"t5\", \"parameters\": {\"best_of\": 2147483648}}", "parameters.best_of"},
                {"/generate", "{\"inputs\": \"t5\", \"parameters\": {\"top_n_tokens\": 2147483648}}", "parameters.top_n_tokens"},
                {"/generate", "{\"inputs\": \"t5\", \"parameters\": {\"temperature\": " + huge + "}}", "parameters.temperature"},
                {"/respond", "{\"dialog_contexts\": [[\"t5\"]], \"configs\": [{\"top_p\": " + huge + "}]}", "configs[0].top_p"},
        };
        for (String[] c : cases) {
            HttpResponse<String> r = send(post(c[0], c[1]).header("X-API-Key", KEY));
            assertThat(r.statusCode()).as(c[1]).isEqualTo(422);
            assertThat(json(r).get("field").asString()).isEqualTo(c[2]);
            assertThat(r.body()).doesNotContain("Exception").doesNotContain("Node").doesNotContain(huge);
        }
        String[][] openAi = {
                {"/v1/completions", "{\"model\": \"m\", \"prompt\": \"t5\", \"logprobs\": 2147483648}", "logprobs"},
                {"/v1/chat/completions", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"t5\"}],"
                        + " \"logprobs\": true, \"top_logprobs\": 2147483648}", "top_logprobs"},
                {"/v1/completions", "{\"model\": \"m\", \"prompt\": \"t5\", \"temperature\": " + huge + "}", "temperature"},
                {"/v1/completions", "{\"model\": \"m\", \"prompt\": \"t5\", \"n\": 17}", "n"},
                {"/v1/completions", "{\"model\": \"m\", \"prompt\": \"t5\", \"max_tokens\": -1}", "max_tokens"},
                {"/v1/chat/completions", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"t5\"}],"
                        + " \"max_completion_tokens\": -1}", "max_completion_tokens"},
        };
        for (String[] c : openAi) {
            HttpResponse<String> r = send(post(c[0], c[1]).header("X-API-Key", KEY));
            assertThat(r.statusCode()).as(c[1]).isEqualTo(400);
            assertThat(json(r).get("error").get("param").asString()).as(c[1]).isEqualTo(c[2]);
            assertThat(json(r).get("error").get("message").asString()).as(c[1]).contains(c[2])
                    .doesNotContain("num_return_sequences").doesNotContain("max_new_tokens");
            assertThat(r.body()).doesNotContain("Exception").doesNotContain("Node");
        }
    }

    @Test
    void badAcceptHeadersAre406AndErrorIsNotAPage() throws Exception {
        for (String accept : new String[] {"application/xml", "%%%"}) {
            HttpResponse<String> r = send(post("/v1/completions", "{\"model\": \"m\", \"prompt\": \"t5\"}")
                    .header("X-API-Key", KEY).header("Accept", accept));
            assertThat(r.statusCode()).as(accept).isEqualTo(406);
            HttpResponse<String> tgi = send(post("/generate", "{\"inputs\": \"t5\"}").header("X-API-Key", KEY)
                    .header("Accept", accept));
            assertThat(tgi.statusCode()).as(accept).isEqualTo(406);
        }
        HttpResponse<String> error = send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/error"))
                .header("X-API-Key", KEY));
        assertThat(error.statusCode()).isEqualTo(404);
        assertThat(error.body()).doesNotContain("999");
    }

    @Test
    void corsAllowsTheConfiguredOriginOnly() throws Exception {
        HttpResponse<String> preflight = send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/chat/completions"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", "https://chat.example.org").header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization,content-type"));
        assertThat(preflight.statusCode()).isEqualTo(200);
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).hasValue("https://chat.example.org");
        HttpResponse<String> other = send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/chat/completions"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", "https://evil.example.com").header("Access-Control-Request-Method", "POST"));
        assertThat(other.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    }
}
