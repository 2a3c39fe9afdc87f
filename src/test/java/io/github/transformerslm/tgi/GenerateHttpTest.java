package io.github.transformerslm.tgi;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.model.GoldenReference;
import io.github.transformerslm.web.ServiceClient;
import io.github.transformerslm.web.ServiceHttpTest;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/** TGI's /generate over HTTP on a started service serving the GPT-2 golden model. */
@Tag("integration")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class GenerateHttpTest extends ServiceHttpTest {
    @DynamicPropertySource
    static void model(DynamicPropertyRegistry r) {
        r.add("lm.model", () -> GoldenReference.directory("gpt2").toString());
        r.add("lm.exit-on-load-failure", () -> "false");
        r.add("lm.threads", () -> "1");
    }

    static final GoldenReference GOLDEN = GoldenReference.of("gpt2");

    String inputs() {
        return GOLDEN.json().get("input_text").asString();
    }

    @Test
    void greedyGenerationReproducesTransformersTokenByToken() {
        ServiceClient.Response r = client.post("/generate",
                "{\"inputs\": \"" + inputs() + "\", \"parameters\": {\"max_new_tokens\": 20, \"details\": true}}");
        assertThat(r.status()).isEqualTo(200);
        JsonNode details = r.json().get("details");
        List<Integer> ids = new ArrayList<>();
        details.get("tokens").forEach(t -> ids.add(t.get("id").intValue()));
        assertThat(ids).containsExactlyElementsOf(
                java.util.Arrays.stream(GOLDEN.greedyNewIds()).boxed().toList());
        assertThat(details.get("finish_reason").asString()).isEqualTo("length");
        assertThat(details.get("generated_tokens").intValue()).isEqualTo(20);
        assertThat(r.json().get("generated_text").asString().strip())
                .isEqualTo(GOLDEN.json().get("greedy_new_text").asString());
        for (JsonNode t : details.get("tokens")) {
            assertThat(t.get("logprob").doubleValue()).isLessThanOrEqualTo(0.0);
        }
    }

    @Test
    void stopSequenceEndsGenerationEvenWhenItSpansTwoTokens() {
        // The greedy text begins "t491 t131 t352 ...": "1 t35" spans the end of t131 and the start of t352.
        ServiceClient.Response r = client.post("/generate", "{\"inputs\": \"" + inputs()
                + "\", \"parameters\": {\"max_new_tokens\": 20, \"stop\": [\"1 t35\"], \"details\": true}}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("details").get("finish_reason").asString()).isEqualTo("stop_sequence");
        assertThat(r.json().get("details").get("generated_tokens").intValue()).isEqualTo(3);
        assertThat(r.json().get("generated_text").asString().strip()).isEqualTo("t491 t131 t35");
    }

    @Test
    void eosOverrideStopsAtThatToken() {
        ServiceClient.Response r = client.post("/generate", "{\"inputs\": \"" + inputs()
                + "\", \"parameters\": {\"max_new_tokens\": 12, \"eos_token_id\": [979], \"details\": true}}");
        assertThat(r.json().get("details").get("finish_reason").asString()).isEqualTo("eos_token");
        assertThat(r.json().get("details").get("generated_tokens").intValue()).isEqualTo(6);
    }

    @Test
    void sameSeedSameTextWhenSampling() {
        String body = "{\"inputs\": \"" + inputs() + "\", \"parameters\": {\"max_new_tokens\": 15, \"do_sample\": true,"
                + " \"temperature\": 1.5, \"seed\": 42, \"details\": true}}";
        JsonNode a = client.post("/generate", body).json();
        JsonNode b = client.post("/generate", body).json();
        assertThat(a.get("generated_text")).isEqualTo(b.get("generated_text"));
        assertThat(a.get("details").get("seed").longValue()).isEqualTo(42);
        JsonNode c = client.post("/generate", body.replace("42", "43")).json();
        assertThat(c.get("generated_text")).isNotEqualTo(a.get("generated_text"));
    }

    @Test
    void beamSearchOverHttpReproducesTransformers() {
        // golden generate case: num_beams 3, early_stopping, 10 new tokens; the best beam ends with eos.
        JsonNode r = client.post("/generate", "{\"inputs\": \"" + inputs() + "\", \"parameters\": {\"num_beams\": 3,"
                + " \"early_stopping\": true, \"max_new_tokens\": 10, \"details\": true}}").json();
        List<Integer> ids = new ArrayList<>();
        r.get("details").get("tokens").forEach(t -> ids.add(t.get("id").intValue()));
        assertThat(ids).containsExactly(476, 654, 476, 385, 526, 572, 789, 371, 76, 2);
        assertThat(r.get("details").get("finish_reason").asString()).isEqualTo("eos_token");
    }

    @Test
    void generateStreamSendsOneEventPerTokenAndTheWholeTextLast() {
        String body = "{\"inputs\": \"" + inputs() + "\", \"parameters\": {\"max_new_tokens\": 6}}";
        String whole = client.post("/generate", body).json().get("generated_text").asString();
        ServiceClient.Response r = client.post("/generate_stream", body);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("text/event-stream");
        List<JsonNode> events = new ArrayList<>();
        // Every event is "data: {...}" and a blank line, with the space clients split on.
        assertThat(r.body()).matches("(data: \\{[^\n]*\\}\n\n)+");
        for (String line : r.body().split("\n")) {
            if (line.startsWith("data: ")) {
                events.add(tools.jackson.databind.json.JsonMapper.builder().build().readTree(line.substring(6)));
            }
        }
        assertThat(events).hasSize(6);
        StringBuilder joined = new StringBuilder();
        for (JsonNode e : events) {
            joined.append(e.get("token").get("text").asString());
        }
        JsonNode last = events.get(5);
        assertThat(last.get("generated_text").asString()).isEqualTo(whole);
        assertThat(joined.toString()).isEqualTo(whole);
        assertThat(last.get("details").get("finish_reason").asString()).isEqualTo("length");
        assertThat(events.get(0).get("generated_text").isNull()).isTrue();
    }

    @Test
    void beamSamplingAsDreamsRuGptConfigAsksIsSeededAndReturnsTheBestBeams() {
        // rugpt35_config.json: num_beams 2, do_sample, num_return_sequences 2 (through /respond's layers).
        String body = "{\"dialog_contexts\": [[\"" + inputs() + "\"]], \"configs\": [{\"num_beams\": 2, \"do_sample\": true,"
                + " \"num_return_sequences\": 2, \"max_new_tokens\": 8, \"min_new_tokens\": 2, \"seed\": 11}]}";
        ServiceClient.Response a = client.post("/respond", body);
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(a.json().get(0).size()).isEqualTo(2);
        assertThat(client.post("/respond", body).json()).isEqualTo(a.json());
    }

    @Test
    void returnFullTextPrependsThePrompt() {
        JsonNode r = client.post("/generate", "{\"inputs\": \"" + inputs()
                + "\", \"parameters\": {\"max_new_tokens\": 2, \"return_full_text\": true}}").json();
        assertThat(r.get("generated_text").asString()).startsWith(inputs()).hasSizeGreaterThan(inputs().length());
    }

    @Test
    void badParametersGetProblemBodiesNamingTheKey() {
        assertProblem(client.post("/generate", "{\"inputs\": \"t5\", \"parameters\": {\"top_p\": 1.5}}"), 422,
                "parameters.top_p");
        assertProblem(client.post("/generate", "{\"inputs\": \"t5\", \"parameters\": {\"temperature\": -0.5}}"), 422,
                "parameters.temperature");
        assertProblem(client.post("/generate", "{\"inputs\": \"t5\", \"parameters\": {\"max_new_tokens\": 100000}}"),
                422, "parameters.max_new_tokens");
        assertProblem(client.post("/generate", "{\"inputs\": \"t5\", \"parameters\": {\"frobnicate\": 1}}"), 400,
                "parameters.frobnicate");
        assertProblem(client.post("/generate", "{\"inputs\": \"t5\", \"parameters\": {\"watermark\": true}}"), 422,
                "parameters.watermark");
        assertProblem(client.post("/generate", "{\"parameters\": {}}"), 400, "inputs");
        assertProblem(client.post("/generate", "{\"inputs\": 5}"), 400, "inputs");
        assertProblem(client.post("/generate", "{\"inputs\": \"t5\", \"parameters\": {\"num_beams\": 2,"
                + " \"num_return_sequences\": 3}}"), 422, "parameters.num_return_sequences");
        assertProblem(client.post("/generate", "{\"inputs\": \"t5\", \"parameters\": {\"typical_p\": 1.5}}"), 422,
                "parameters.typical_p");
        assertProblem(client.post("/generate", "{\"inputs\": \"t5\", \"parameters\": {\"bad_words_ids\": [[-1]]}}"),
                422, "parameters.bad_words_ids");
        assertProblem(client.post("/generate", "{\"inputs\": \"t5\", \"parameters\": {\"early_stopping\": \"soon\"}}"),
                422, "parameters.early_stopping");
        ServiceClient.Response malformed = client.post("/generate", "{\"inputs\": ");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.contentType()).contains("application/problem+json");
    }

    @Test
    void neutralTgiOptionsFromRealClientsAreAccepted() {
        ServiceClient.Response r = client.post("/generate", "{\"inputs\": \"" + inputs() + "\", \"parameters\": "
                + "{\"max_new_tokens\": 3, \"best_of\": null, \"decoder_input_details\": false, \"watermark\": false,"
                + " \"top_n_tokens\": null, \"truncate\": null, \"details\": false, \"stop\": []}}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().has("details")).isFalse();
    }

    @Test
    void pingAndHealth() {
        assertThat(client.get("/ping").body()).isEqualTo("pong");
        assertThat(client.post("/ping", "{}").body()).isEqualTo("pong");
        assertThat(client.get("/actuator/health/liveness").status()).isEqualTo(200);
        assertThat(client.get("/actuator/health/readiness").json().get("status").asString()).isEqualTo("UP");
    }

    static void assertProblem(ServiceClient.Response r, int status, String field) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).contains("application/problem+json");
        assertThat(r.json().get("field").asString()).isEqualTo(field);
        assertThat(r.json().get("detail").asString()).isNotBlank();
    }
}
