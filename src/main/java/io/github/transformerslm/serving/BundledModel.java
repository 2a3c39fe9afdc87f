package io.github.transformerslm.serving;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The small model that ships inside the service, so that it runs with no configuration: stories260K, a
 * Llama of 260K parameters that Andrej Karpathy trained on TinyStories (llama2.c, MIT licence; the
 * notice travels with it in LICENSE-NOTE.md). It writes short children's stories. It is copied out of
 * the jar because weights are memory-mapped from a file.
 */
public final class BundledModel {
    public static final String RESOURCE_DIR = "default-model/";
    public static final List<String> FILES = List.of(
            "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "LICENSE-NOTE.md", "PROVENANCE.md");

    private BundledModel() {}

    public static Path materialize() {
        try {
            Path dir = Files.createTempDirectory("transformers-lm-default-model");
            for (String name : FILES) {
                try (InputStream in = BundledModel.class.getClassLoader().getResourceAsStream(RESOURCE_DIR + name)) {
                    if (in == null) {
                        throw new IllegalStateException("bundled model file " + name + " is missing from the classpath");
                    }
                    Files.copy(in, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            dir.toFile().deleteOnExit();
            for (String name : FILES) {
                dir.resolve(name).toFile().deleteOnExit();
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
