package io.github.transformerslm.respond;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.transformerslm.generation.GenerationConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every shipped generative config loads, with Dream's values; a bad one stops the start. */
class GenerativeConfigsTest {
    @Test
    void everyShippedConfigLoads() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("generative_configs"))) {
            List<Path> all = files.filter(f -> f.toString().endsWith(".json")).toList();
            assertThat(all).hasSizeGreaterThanOrEqualTo(6);
            for (Path f : all) {
                DreamGenerativeConfig.load("generative_configs", f.getFileName().toString());
            }
        }
    }

    @Test
    void theGoalsMetaPromptsShipInBothLanguages() {
        assertThat(GoalsPrompt.load("generative_configs", "goals_prompt.txt")).contains("goals");
        assertThat(GoalsPrompt.load("generative_configs", "goals_prompt_ru.txt")).contains("цели");
    }

    @Test
    void languageRuAsksTheGoalsQuestionInRussianAndGoalsPromptPicksAnotherFile() {
        java.util.List<String> ru = new GoalsPrompt(io.github.transformerslm.config.TestServiceProperties.of(
                java.util.Map.of("language", "RU"))).dialogFor("Ты гид.");
        assertThat(ru).hasSize(2);
        assertThat(ru.get(0)).isEqualTo("hi");
        assertThat(ru.get(1)).startsWith("Ниже приведены инструкции").endsWith("\nPrompt: '''Ты гид.'''\nResult:");
        java.util.List<String> chosen = new GoalsPrompt(io.github.transformerslm.config.TestServiceProperties.of(
                java.util.Map.of("goals-prompt", "goals_prompt.txt", "language", "RU"))).dialogFor("x");
        assertThat(chosen.get(1)).startsWith("Below are the instructions");
    }

    @Test
    void dreamsValuesAreKept() {
        GenerationConfig d = DreamGenerativeConfig.load("generative_configs", "default_generative_config.json");
        assertThat(d.maxNewTokens()).isEqualTo(120);
        assertThat(d.minNewTokens()).isEqualTo(8);
        assertThat(d.topP()).isEqualTo(0.9);
        assertThat(d.numReturnSequences()).isEqualTo(2);
        GenerationConfig ruxglm = DreamGenerativeConfig.load("generative_configs", "ruxglm_config.json");
        assertThat(ruxglm.eosTokenId()).containsExactly(400);
        assertThat(ruxglm.replacement()).containsExactly(List.of("\n", "</s>"));
        assertThat(DreamGenerativeConfig.load("generative_configs", "rugpt35_config.json").numBeams()).isEqualTo(2);
    }

    @Test
    void bundledCopiesServeWhenTheDirectoryLacksTheFile(@TempDir Path empty) {
        assertThat(DreamGenerativeConfig.load(empty.toString(), "generative_config_long.json").maxNewTokens())
                .isEqualTo(256);
    }

    @Test
    void unknownKeysAndMissingFilesStopTheStart(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("bad.json"), "{\"max_new_tokens\": 5, \"temprature\": 1}");
        assertThatThrownBy(() -> DreamGenerativeConfig.load(dir.toString(), "bad.json"))
                .hasMessageContaining("temprature");
        assertThatThrownBy(() -> DreamGenerativeConfig.load(dir.toString(), "nope.json")).hasMessageContaining("nope.json");
        assertThatThrownBy(() -> DreamGenerativeConfig.load(dir.toString(), "../x.json")).hasMessageContaining("file name");
    }
}
