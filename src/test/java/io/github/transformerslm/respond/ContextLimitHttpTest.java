package io.github.transformerslm.respond;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.web.ServiceClient;
import io.github.transformerslm.web.ServiceHttpTest;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.TestPropertySource;

/**
 * A prompt plus its new tokens beyond the context (MAX_INPUT_TOKENS here, 48) is refused naming both
 * numbers, unless the request asks for truncation; Dream's /respond drops the oldest turns and says so.
 * A CHAT_TEMPLATE replaces the model's template.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {"lm.model=src/test/resources/gpt2-random", "lm.exit-on-load-failure=false", "lm.threads=1", "lm.max-input-tokens=48",
        "lm.chat-template={% for m in messages %}[{{ m.role }}] {{ m.content }} | {% endfor %}[assistant]"})
@Tag("integration")
class ContextLimitHttpTest extends ServiceHttpTest {
    static final String LONG = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
            + " fifteen sixteen seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three twenty-four"
            + " and then some more words to be sure that this prompt alone is longer than the context";

    @Test
    void tooLongIsRefusedNamingBothNumbersUnlessTruncationIsAsked() {
        ServiceClient.Response refused = client.post("/generate",
                "{\"inputs\": \"" + LONG + "\", \"parameters\": {\"max_new_tokens\": 10}}");
        assertThat(refused.status()).isEqualTo(422);
        assertThat(refused.json().get("detail").asString()).contains("10").contains("48");
        ServiceClient.Response left = client.post("/generate",
                "{\"inputs\": \"" + LONG + "\", \"parameters\": {\"max_new_tokens\": 10, \"truncate\": \"left\","
                        + " \"details\": true}}");
        assertThat(left.status()).as(left.body()).isEqualTo(200);
        assertThat(left.json().get("details").get("generated_tokens").intValue()).isEqualTo(10);
    }

    @Test
    void respondKeepsTheLatestTurnsAndNamesHowManyItDropped() {
        String body = "{\"dialog_contexts\": [[\"" + LONG + "\", \"" + LONG + "\", \"hi\"], [\"hello\"]],"
                + " \"configs\": [{\"max_new_tokens\": 8}, {\"max_new_tokens\": 8}]}";
        ServiceClient.Response r = client.post("/respond", body);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.raw().headers().firstValue("X-Dialog-Truncated-Turns")).hasValue("2,0");
        assertThat(r.json().size()).isEqualTo(2);
    }

    @Test
    void hugeInputsAndDialogsAreRefusedOrCutWithoutTokenizingAllOfThem() {
        // 10,000 turns: only the newest that fit are tokenized (the old loop re-tokenized the dialog per turn).
        StringBuilder dialog = new StringBuilder("[");
        for (int i = 0; i < 10_000; i++) {
            dialog.append(i == 0 ? "" : ", ").append("\"a\"");
        }
        ServiceClient.Response r = client.post("/respond", "{\"dialog_contexts\": [" + dialog + "]],"
                + " \"configs\": [{\"max_new_tokens\": 2}]}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        int dropped = Integer.parseInt(r.raw().headers().firstValue("X-Dialog-Truncated-Turns").orElseThrow());
        assertThat(dropped).isBetween(9_980, 9_999);
        // A 5 MB prompt for a 48-token context: refused by /generate, cut by truncate, on a bounded prefix.
        String huge = "hello ".repeat(850_000);
        ServiceClient.Response refused = client.post("/generate", "{\"inputs\": \"" + huge + "\", \"parameters\": {\"max_new_tokens\": 2}}");
        assertThat(refused.status()).isEqualTo(422);
        assertThat(refused.json().get("detail").asString()).contains("48");
        ServiceClient.Response cut = client.post("/generate", "{\"inputs\": \"" + huge
                + "\", \"parameters\": {\"max_new_tokens\": 2, \"truncate\": 20, \"details\": true}}");
        assertThat(cut.status()).as(cut.body()).isEqualTo(200);
    }

    @Test
    void chatTemplateSettingReplacesTheModelsTemplate() {
        // The usage counts the prompt the template rendered: the same count as that text sent raw.
        ServiceClient.Response r = client.post("/v1/chat/completions",
                "{\"model\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 2}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        int promptTokens = r.json().get("usage").get("prompt_tokens").intValue();
        ServiceClient.Response count = client.post("/v1/completions",
                "{\"model\": \"x\", \"prompt\": \"[user] hi | [assistant]\", \"max_tokens\": 1}");
        assertThat(promptTokens).isEqualTo(count.json().get("usage").get("prompt_tokens").intValue());
    }
}
