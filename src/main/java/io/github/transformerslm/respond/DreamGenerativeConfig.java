package io.github.transformerslm.respond;

import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.config.StartupConfigurationException;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.InvalidParameterException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * /respond's service layer of defaults: the file GENERATIVE_CONFIG names in GENERATIVE_CONFIGS_DIR, or
 * the copy bundled in the jar. Read once at startup; a missing file or an unknown key stops the start,
 * because a silently ignored default is worse than no service.
 */
@Component
public class DreamGenerativeConfig {
    private static final Logger log = LoggerFactory.getLogger(DreamGenerativeConfig.class);

    private final GenerationConfig config;

    public DreamGenerativeConfig(ServiceProperties properties) {
        this.config = load(properties.generativeConfigsDir(), properties.generativeConfig());
    }

    public GenerationConfig config() {
        return config;
    }

    static GenerationConfig load(String directory, String name) {
        if (name.contains("/") || name.contains("\\") || name.contains("..")) {
            throw new StartupConfigurationException("GENERATIVE_CONFIG must be a file name, got '" + name + "'");
        }
        JsonMapper json = JsonMapper.builder().build();
        Path file = Path.of(directory, name);
        JsonNode node;
        String source;
        try {
            if (Files.isRegularFile(file)) {
                node = json.readTree(file.toFile());
                source = file.toAbsolutePath().toString();
            } else {
                try (InputStream in = DreamGenerativeConfig.class.getClassLoader()
                        .getResourceAsStream("generative_configs/" + name)) {
                    if (in == null) {
                        throw new StartupConfigurationException("GENERATIVE_CONFIG '" + name + "' is neither in "
                                + directory + " nor bundled");
                    }
                    node = json.readTree(in);
                    source = "bundled generative_configs/" + name;
                }
            }
        } catch (JacksonException e) {
            // The position, never the parser's message: it quotes the file's contents.
            throw new StartupConfigurationException("GENERATIVE_CONFIG '" + name + "' (" + file.toAbsolutePath()
                    + ") is not valid JSON at line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr());
        } catch (IOException e) {
            throw new StartupConfigurationException("GENERATIVE_CONFIG '" + name + "' cannot be read: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new StartupConfigurationException("GENERATIVE_CONFIG '" + name + "' (" + source
                    + ") must hold a JSON object of generation parameters");
        }
        try {
            GenerationConfig parsed = GenerationConfigParser.parse(node);
            log.info("/respond defaults from {}: {}", source, node);
            return parsed;
        } catch (InvalidParameterException e) {
            throw new StartupConfigurationException("GENERATIVE_CONFIG '" + name + "': " + e.getMessage());
        }
    }
}
