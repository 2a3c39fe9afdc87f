package io.github.transformerslm.serving;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.web.ServiceClient;
import io.github.transformerslm.web.ServiceHttpTest;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.json.JsonMapper;

/**
 * LOAD_IN_8BIT=1 (QUANTIZE=int8) on the bundled stories260K: the start-up line says what was decided, and
 * /generate writes transformers' float32 story token for token (int8 keeps all 60 greedy tokens, see
 * QuantizedPerplexityTest).
 */
@Tag("integration")
@ExtendWith(OutputCaptureExtension.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {"lm.exit-on-load-failure=false", "lm.threads=1", "lm.load-in8bit=true"})
class QuantizedServiceHttpTest extends ServiceHttpTest {

    @Test
    void servesTheBundledModelWithInt8WeightsAndWritesTheFloat32Story(CapturedOutput output) {
        String golden = JsonMapper.builder().build()
                .readTree(Path.of("src/test/resources/stories260K/golden.json").toFile()).get("greedy_new_text").asString();
        ServiceClient.Response r = client.post("/generate",
                "{\"inputs\": \"Once upon a time\", \"parameters\": {\"max_new_tokens\": 60}}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("generated_text").asString()).isEqualTo(golden);
        assertThat(output.getAll()).contains("quantize=int8 quantize_head=int8");
    }
}
