package io.github.transformerslm.respond;

import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.config.StartupConfigurationException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The meta-prompt of {@code /generate_goals}: the file GOALS_PROMPT names in GENERATIVE_CONFIGS_DIR (or the
 * bundled copy), {@code goals_prompt.txt} by default and {@code goals_prompt_ru.txt} for LANGUAGE=RU. Like
 * Dream, the model sees a two-turn dialog: "hi", then this text with the user's prompt quoted, ending
 * {@code Result:}.
 */
@Component
class GoalsPrompt {
    private static final Logger log = LoggerFactory.getLogger(GoalsPrompt.class);

    private final String text;

    GoalsPrompt(ServiceProperties properties) {
        String name = properties.goalsPrompt() != null ? properties.goalsPrompt()
                : properties.language().equals("RU") ? "goals_prompt_ru.txt" : "goals_prompt.txt";
        this.text = load(properties.generativeConfigsDir(), name);
    }

    /** The dialog whose continuation states the goals of {@code prompt}. */
    List<String> dialogFor(String prompt) {
        return List.of("hi", text + "\nPrompt: '''" + prompt + "'''\nResult:");
    }

    static String load(String directory, String name) {
        if (name.contains("/") || name.contains("\\") || name.contains("..")) {
            throw new StartupConfigurationException("GOALS_PROMPT must be a file name, got '" + name + "'");
        }
        Path file = Path.of(directory, name);
        try {
            if (Files.isRegularFile(file)) {
                log.info("/generate_goals meta-prompt from {}", file.toAbsolutePath());
                return Files.readString(file).strip();
            }
            try (InputStream in = GoalsPrompt.class.getClassLoader().getResourceAsStream("generative_configs/" + name)) {
                if (in == null) {
                    throw new StartupConfigurationException("GOALS_PROMPT '" + name + "' is neither in " + directory + " nor bundled");
                }
                log.info("/generate_goals meta-prompt from bundled generative_configs/{}", name);
                return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            }
        } catch (IOException e) {
            throw new StartupConfigurationException("GOALS_PROMPT '" + name + "' cannot be read: " + e.getMessage());
        }
    }
}
