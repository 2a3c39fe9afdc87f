package io.github.transformerslm.serving;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.web.ServiceClient;
import io.github.transformerslm.web.ServiceHttpTest;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A service started with no model configured serves the bundled stories260K, and it writes stories. */
@Tag("integration")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {"lm.exit-on-load-failure=false", "lm.threads=1"})
class BundledModelHttpTest extends ServiceHttpTest {

    @Test
    void generateWritesTheStoryTransformersWrites() {
        JsonNode golden = JsonMapper.builder().build()
                .readTree(Path.of("src/test/resources/stories260K/golden.json").toFile());
        ServiceClient.Response r = client.post("/generate",
                "{\"inputs\": \"Once upon a time\", \"parameters\": {\"max_new_tokens\": 60, \"details\": true}}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("generated_text").asString()).isEqualTo(golden.get("greedy_new_text").asString())
                .startsWith(", there was a little girl named Lily.");
        assertThat(r.json().get("details").get("generated_tokens").intValue()).isEqualTo(60);
    }

    @Test
    void openApiDescribesEveryEndpointAndTheSwaggerUiIsAtDocs() {
        ServiceClient.Response docs = client.get("/v3/api-docs");
        assertThat(docs.status()).isEqualTo(200);
        JsonNode paths = docs.json().get("paths");
        for (String path : java.util.List.of("/respond", "/generate_goals", "/generate", "/generate_stream",
                "/v1/completions", "/v1/chat/completions", "/v1/models")) {
            assertThat(paths.has(path)).as(path).isTrue();
            JsonNode operation = paths.get(path).properties().iterator().next().getValue();
            assertThat(operation.path("summary").asString()).as(path).isNotBlank();
            if (!path.equals("/v1/models")) {
                assertThat(operation.path("responses").has("422")).as(path).isTrue();
                assertThat(operation.path("description").asString()).as(path).isNotBlank();
            }
        }
        assertThat(client.get("/docs").status()).isIn(200, 302);
        assertThat(client.get("/swagger-ui/index.html").status()).isEqualTo(200);
    }

    @Test
    void respondAnswersDreamsTestDialogWithStoryText() {
        ServiceClient.Response r = client.post("/respond", "{\"dialog_contexts\": [[\"hi\", \"hi there\","
                + " \"tell me a story about a cat\"]], \"prompts\": [\"You are a storyteller.\"], \"configs\": [null]}");
        assertThat(r.status()).isEqualTo(200);
        JsonNode hypotheses = r.json().get(0);
        assertThat(hypotheses.size()).isEqualTo(2);
        for (JsonNode h : hypotheses) {
            // English words, not byte noise: stories260K's 512 tokens spell TinyStories' vocabulary.
            assertThat(h.asString()).matches("(?s)[\\x20-\\x7E\\n’“”—]+").containsPattern("[A-Za-z]{3,}( [A-Za-z,.]+){3,}");
        }
    }
}
