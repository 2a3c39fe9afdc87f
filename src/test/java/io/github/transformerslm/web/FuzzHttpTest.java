package io.github.transformerslm.web;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.model.GoldenReference;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A seeded, bounded fuzzer: valid requests to every POST endpoint, mutated in their types, ranges,
 * nesting, sizes and encodings. No answer may be a 5xx or carry a stack trace or a class name, and the
 * service must be healthy and correct afterwards.
 */
@Tag("integration")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class FuzzHttpTest {
    static final long SEED = 20261206L;
    static final int BODIES_PER_ENDPOINT = 1000;
    static final Pattern LEAK = Pattern.compile("Exception|\\bat [a-z]+\\.[a-z]|java\\.|tools\\.jackson|springframework|io\\.github");
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final JsonNodeFactory F = JsonNodeFactory.instance;

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry r) {
        r.add("lm.model", () -> GoldenReference.directory("gpt2").toString());
        r.add("lm.exit-on-load-failure", () -> "false");
        r.add("lm.threads", () -> "1");
        // Bounded work per body: the fuzzer looks for crashes, not for long generations.
        r.add("lm.max-new-tokens", () -> "8");
        r.add("lm.max-return-sequences", () -> "4");
        r.add("lm.request-timeout-seconds", () -> "10");
        r.add("lm.max-request-bytes", () -> "200000");
    }

    @LocalServerPort
    int port;

    static final Map<String, String> VALID = Map.of(
            "/respond", "{\"dialog_contexts\": [[\"t5 t17\", \"t42\"]], \"prompts\": [\"t1\"], \"configs\": [{\"max_new_tokens\": 4, \"top_k\": 5}]}",
            "/generate_goals", "{\"prompts\": [\"t5 t17\"], \"configs\": [{\"max_new_tokens\": 4}]}",
            "/generate", "{\"inputs\": \"t5 t17 t42\", \"parameters\": {\"max_new_tokens\": 4, \"temperature\": 0.7, \"do_sample\": true, \"stop\": [\"t9\"], \"details\": true, \"seed\": 3}}",
            "/v1/completions", "{\"model\": \"m\", \"prompt\": \"t5 t17\", \"max_tokens\": 4, \"n\": 2, \"logprobs\": 2, \"stop\": [\"t3\"]}",
            "/v1/chat/completions", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"t5 t17\"}], \"max_tokens\": 4, \"logprobs\": true, \"top_logprobs\": 2, \"temperature\": 0}");

    @Test
    void mutatedBodiesNeverGet5xxOrLeakInternalsAndTheServiceStaysHealthy() throws Exception {
        ServiceClient client = ServiceClient.ready(port);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<String>> failures = new ArrayList<>();
        try {
            for (Map.Entry<String, String> endpoint : VALID.entrySet()) {
                SplittableRandom random = new SplittableRandom(SEED ^ endpoint.getKey().hashCode());
                for (int i = 0; i < BODIES_PER_ENDPOINT; i++) {
                    byte[] body = mutate(endpoint.getValue(), random);
                    boolean stream = random.nextInt(10) == 0;
                    String path = endpoint.getKey().equals("/generate") && stream ? "/generate_stream" : endpoint.getKey();
                    failures.add(pool.submit(() -> check(http, path, body)));
                }
            }
            List<String> found = new ArrayList<>();
            for (Future<String> f : failures) {
                String failure = f.get();
                if (failure != null && found.size() < 10) {
                    found.add(failure);
                }
            }
            assertThat(found).as("answers that were 5xx or leaked internals").isEmpty();
        } finally {
            pool.shutdownNow();
        }
        assertThat(client.get("/actuator/health/readiness").status()).isEqualTo(200);
        ServiceClient.Response after = client.post("/generate", "{\"inputs\": \"" + GoldenReference.of("gpt2").json()
                .get("input_text").asString() + "\", \"parameters\": {\"max_new_tokens\": 5, \"details\": true}}");
        assertThat(after.status()).isEqualTo(200);
        List<Integer> ids = new ArrayList<>();
        after.json().get("details").get("tokens").forEach(t -> ids.add(t.get("id").intValue()));
        int[] golden = GoldenReference.of("gpt2").greedyNewIds();
        assertThat(ids).containsExactly(golden[0], golden[1], golden[2], golden[3], golden[4]);
    }

    private String check(HttpClient http, String path, byte[] body) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() >= 500 || LEAK.matcher(r.body()).find()) {
                return path + " " + r.statusCode() + " for " + abbreviate(new String(body, StandardCharsets.UTF_8))
                        + " -> " + abbreviate(r.body());
            }
            return null;
        } catch (Exception e) {
            return path + " failed: " + e + " for " + abbreviate(new String(body, StandardCharsets.UTF_8));
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }

    static byte[] mutate(String valid, SplittableRandom random) {
        int kind = random.nextInt(12);
        if (kind == 0) { // truncated JSON
            return valid.substring(0, random.nextInt(valid.length())).getBytes(StandardCharsets.UTF_8);
        }
        if (kind == 1) { // invalid UTF-8 spliced in
            byte[] b = valid.getBytes(StandardCharsets.UTF_8);
            int at = random.nextInt(b.length);
            b[at] = (byte) (0x80 + random.nextInt(0x40));
            return b;
        }
        JsonNode root = JSON.readTree(valid);
        int mutations = 1 + random.nextInt(3);
        for (int m = 0; m < mutations; m++) {
            root = mutateTree(root, random, 0);
        }
        return JSON.writeValueAsBytes(root);
    }

    private static JsonNode mutateTree(JsonNode node, SplittableRandom random, int depth) {
        if ((node.isObject() || node.isArray()) && node.size() > 0 && random.nextInt(3) != 0 && depth < 6) {
            if (node.isObject()) {
                ObjectNode o = (ObjectNode) node;
                List<String> keys = new ArrayList<>();
                o.propertyNames().forEach(keys::add);
                String key = keys.get(random.nextInt(keys.size()));
                switch (random.nextInt(6)) {
                    case 0 -> o.remove(key);
                    case 1 -> o.set("x_" + random.nextInt(100), randomValue(random));
                    default -> o.set(key, mutateTree(o.get(key), random, depth + 1));
                }
            } else {
                ArrayNode a = (ArrayNode) node;
                int i = random.nextInt(a.size());
                switch (random.nextInt(5)) {
                    case 0 -> a.remove(i);
                    case 1 -> a.add(randomValue(random));
                    default -> a.set(i, mutateTree(a.get(i), random, depth + 1));
                }
            }
            return node;
        }
        return randomValue(random);
    }

    static JsonNode randomValue(SplittableRandom random) {
        return switch (random.nextInt(16)) {
            case 0 -> F.nullNode();
            case 1 -> F.booleanNode(random.nextBoolean());
            case 2 -> F.numberNode(random.nextInt(-5, 5));
            case 3 -> F.numberNode(2147483648L);
            case 4 -> F.numberNode(new java.math.BigInteger("9".repeat(1 + random.nextInt(400))));
            case 5 -> F.numberNode(-1e308 * random.nextDouble());
            case 6 -> F.numberNode(random.nextDouble() * 4 - 2);
            case 7 -> F.textNode("");
            case 8 -> F.textNode("t" + random.nextInt(2000) + " \u0000 \uD83D\uDE00 ");
            case 9 -> F.textNode("t5 ".repeat(random.nextInt(1, 20_000)));
            case 10 -> F.textNode("left");
            case 11 -> F.arrayNode();
            case 12 -> F.objectNode();
            case 13 -> {
                ArrayNode deep = F.arrayNode();
                ArrayNode at = deep;
                for (int i = 0; i < random.nextInt(1, 200); i++) {
                    ArrayNode next = F.arrayNode();
                    at.add(next);
                    at = next;
                }
                yield deep;
            }
            case 14 -> {
                ArrayNode many = F.arrayNode();
                for (int i = 0; i < random.nextInt(1, 300); i++) {
                    many.add(F.textNode("t" + i));
                }
                yield many;
            }
            default -> F.numberNode(random.nextLong());
        };
    }
}
