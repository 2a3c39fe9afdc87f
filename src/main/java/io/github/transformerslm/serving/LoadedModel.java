package io.github.transformerslm.serving;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.model.CausalLanguageModel;
import io.github.transformerslm.tokenizer.TextTokenizer;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A model ready to serve: the network, its tokenizer, and the defaults of its generation_config.json.
 *
 * @param generationDefaults the model's own layer of generation parameters, eos ids included
 */
public record LoadedModel(
        Path directory,
        CausalLanguageModel model,
        TextTokenizer tokenizer,
        GenerationConfig generationDefaults,
        DataType dtype,
        Duration loadTime,
        NDManager manager) implements AutoCloseable {

    public String name() {
        return directory.getFileName() != null ? directory.getFileName().toString() : directory.toString();
    }

    @Override
    public void close() {
        model.pool().close(); // first: a worker may still be finishing a chunk over the weights
        model.close();
        tokenizer.close();
        manager.close();
    }
}
