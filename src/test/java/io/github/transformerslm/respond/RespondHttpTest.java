package io.github.transformerslm.respond;

import org.junit.jupiter.api.Tag;
import io.github.transformerslm.chat.Hypotheses;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.web.ServiceClient;
import io.github.transformerslm.web.ServiceHttpTest;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;

/** Dream's /respond over HTTP on a started service serving the random GPT-2 (GPT-2's real tokenizer). */
@Tag("integration")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {"lm.model=src/test/resources/gpt2-random", "lm.exit-on-load-failure=false", "lm.threads=1"})
class RespondHttpTest extends ServiceHttpTest {
    /** Dream's services/transformers_lm/test.py. */
    static final String DREAM_TEST = """
            {"dialog_contexts": [
               ["Hi! I am Marcus. How are you today?", "Hi Marcus! I am fine. How are you?",
                "I am great. What are your plans for today?"],
               ["Hi Marcus! I am fine. How are you?", "I am great. What are your plans for today?"]],
             "prompts": ["Respond like a friendly chatbot.", "Respond like a friendly chatbot."],
             "configs": [%s, %s]}
            """;
    static final String DREAM_CONFIG =
            "{\"max_length\": 60, \"min_length\": 8, \"top_p\": 0.9, \"temperature\": 0.9, \"do_sample\": true,"
                    + " \"num_return_sequences\": 2}";

    @Test
    void dreamsOwnTestGetsTwoHypothesesPerDialog() {
        ServiceClient.Response r = client.post("/respond", DREAM_TEST.formatted(DREAM_CONFIG, DREAM_CONFIG));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode json = r.json();
        assertThat(json.size()).isEqualTo(2);
        for (JsonNode dialog : json) {
            assertThat(dialog.size()).isEqualTo(2);
            dialog.forEach(h -> assertThat(h.isString()).isTrue());
        }
        // Random weights make noise, but noise of about 50 tokens: at least one hypothesis is not empty.
        assertThat(json.get(0).get(0).asString() + json.get(0).get(1).asString()).isNotBlank();
    }

    @Test
    void withoutConfigsTheServiceDefaultsApplyAndPromptsMayBeOmitted() {
        ServiceClient.Response r = client.post("/respond", "{\"dialog_contexts\": [[\"hello\"]], \"extra\": 1}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        // default_generative_config.json asks for num_return_sequences 2
        assertThat(r.json().get(0).size()).isEqualTo(2);
    }

    @Test
    void aConfigIsMergedOverTheDefaultsNotSubstitutedForThem() {
        // Only max_new_tokens is given: num_return_sequences 2 still comes from the service's file.
        ServiceClient.Response r = client.post("/respond",
                "{\"dialog_contexts\": [[\"hello\"]], \"configs\": [{\"max_new_tokens\": 5}]}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().get(0).size()).isEqualTo(2);
    }

    @Test
    void sameSeedSameHypotheses() {
        String config = "{\"max_new_tokens\": 12, \"seed\": 7, \"num_return_sequences\": 2}";
        String body = DREAM_TEST.formatted(config, config);
        assertThat(client.post("/respond", body).json()).isEqualTo(client.post("/respond", body).json());
    }

    @Test
    void perRequestStopStringCutsTheHypothesis() {
        String greedy = "{\"max_new_tokens\": 30, \"do_sample\": false, \"num_return_sequences\": 1}";
        String body = "{\"dialog_contexts\": [[\"hello there\"]], \"configs\": [%s]}";
        String full = client.post("/respond", body.formatted(greedy)).json().get(0).get(0).asString();
        assertThat(full.length()).isGreaterThan(10);
        String stop = full.substring(5, 8);
        String cut = client.post("/respond", body.formatted(greedy.replace("}", ", \"stop\": [\"" + stop + "\"]}")))
                .json().get(0).get(0).asString();
        assertThat(cut).isEqualTo(Hypotheses.extract(full.substring(0, full.indexOf(stop))));
    }

    @Test
    void invalidInputGetsProblemBodiesNamingTheField() {
        assertProblem(client.post("/respond", "{\"dialog_contexts\": [[\"a\"]], \"prompts\": [\"p\", \"q\"]}"), 400,
                "prompts");
        assertProblem(client.post("/respond", "{\"dialog_contexts\": [[\"a\"]], \"configs\": [{}, {}]}"), 400,
                "configs");
        assertProblem(client.post("/respond", "{\"dialog_contexts\": [[\"a\"]], \"configs\": [{\"top_p\": 2}]}"), 422,
                "configs[0].top_p");
        assertProblem(client.post("/respond", "{\"dialog_contexts\": [[\"a\"]], \"configs\": [{\"topp\": 0.5}]}"), 400,
                "configs[0].topp");
        assertProblem(client.post("/respond", "{\"dialog_contexts\": [[\"a\"]], \"configs\": [{\"max_new_tokens\": 999999}]}"),
                422, "configs[0].max_new_tokens");
        assertProblem(client.post("/respond", "{\"dialog_contexts\": [[1, 2]]}"), 400, "dialog_contexts[0][0]");
        assertProblem(client.post("/respond", "{\"dialog_contexts\": [[]]}"), 400, "dialog_contexts[0]");
        assertProblem(client.post("/respond", "{\"dialog_contexts\": \"hi\"}"), 400, "dialog_contexts");
        assertProblem(client.post("/respond", "{}"), 400, "dialog_contexts");
        assertProblem(client.post("/respond", "[1]"), 400, "$");
    }

    @Test
    void emptyDialogListGetsAnEmptyAnswer() {
        ServiceClient.Response r = client.post("/respond", "{\"dialog_contexts\": []}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().size()).isZero();
    }

    static void assertProblem(ServiceClient.Response r, int status, String field) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).contains("application/problem+json");
        assertThat(r.json().get("field").asString()).isEqualTo(field);
    }
}
