package io.github.transformerslm.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** QUANTIZE, LOAD_IN_8BIT and QUANTIZE_HEAD as an operator writes them. */
class ServicePropertiesTest {
    @ParameterizedTest(name = "QUANTIZE={0}")
    @CsvSource({"int8, int8", "INT8, int8", "8bit, int8", "q8_0, int8", "int4, int4", "4bit, int4", "Q4_0, int4",
        "none, none", "'', none"})
    void quantizeTakesTheUsualSpellings(String value, String expected) {
        assertThat(TestServiceProperties.of(Map.of("quantize", value)).quantize()).isEqualTo(expected);
    }

    @Test
    void loadIn8bitMeansQuantizeInt8() {
        ServiceProperties p = TestServiceProperties.of(Map.of("load-in8bit", "true"));
        assertThat(p.quantize()).isEqualTo("int8");
        assertThat(p.quantizeHead()).isEqualTo("int8");
    }

    @Test
    void theHeadStaysAt8BitsUnlessQuantizeHeadSaysOtherwise() {
        assertThat(TestServiceProperties.of(Map.of("quantize", "int4")).quantizeHead()).isEqualTo("int8");
        assertThat(TestServiceProperties.of(Map.of("quantize", "int4", "quantize-head", "int4")).quantizeHead()).isEqualTo("int4");
        assertThat(TestServiceProperties.of(Map.of("quantize", "int4", "quantize-head", "none")).quantizeHead()).isEqualTo("none");
        assertThat(TestServiceProperties.of(Map.of("quantize-head", "int4")).quantizeHead()).as("no QUANTIZE: nothing quantized")
                .isEqualTo("none");
    }

    @Test
    void anUnknownOrContradictoryQuantizationIsRefusedNamingTheVariable() {
        assertThatThrownBy(() -> TestServiceProperties.of(Map.of("quantize", "int3")))
                .rootCause().hasMessage("QUANTIZE must be int8, int4 or none, got int3");
        assertThatThrownBy(() -> TestServiceProperties.of(Map.of("quantize", "int4", "quantize-head", "fp8")))
                .rootCause().hasMessage("QUANTIZE_HEAD must be int8, int4 or none, got fp8");
        assertThatThrownBy(() -> TestServiceProperties.of(Map.of("quantize", "int4", "load-in8bit", "1")))
                .rootCause().hasMessageContaining("LOAD_IN_8BIT=1 and QUANTIZE=int4");
    }

    @Test
    void everyEnvironmentVariableOfTheConfigurationIsInTheReadmesTable() throws java.io.IOException {
        String yml = java.nio.file.Files.readString(java.nio.file.Path.of("src/main/resources/application.yml"));
        String readme = java.nio.file.Files.readString(java.nio.file.Path.of("README.md"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\$\\{([A-Z][A-Z0-9_]+)[:}]").matcher(yml);
        java.util.List<String> missing = new java.util.ArrayList<>();
        while (m.find()) {
            if (!readme.contains("`" + m.group(1) + "`")) {
                missing.add(m.group(1));
            }
        }
        assertThat(missing).as("variables application.yml reads that the README does not list").isEmpty();
    }
}
