package io.github.transformerslm.model;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.weights.Checkpoint;
import io.github.transformerslm.weights.SafetensorsWriter;
import io.github.transformerslm.weights.TensorDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/** Test helper: golden checkpoints read into float arrays, rewritten into new model directories. */
public final class Checkpoints {
    public record Tensor(long[] shape, float[] values) {}

    private Checkpoints() {}

    public static Map<String, Tensor> read(Path dir) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (Checkpoint c = Checkpoint.open(dir); NDManager m = NDManager.newBaseManager()) {
            for (String name : c.names()) {
                out.put(name, new Tensor(c.shape(name), c.load(name, m, DataType.FLOAT32).toFloatArray()));
            }
        }
        return out;
    }

    public static ObjectNode config(Path dir) {
        return (ObjectNode) JsonMapper.builder().build().readTree(dir.resolve("config.json").toFile());
    }

    /** Writes a model directory: config, tensors in one file, and the golden WordLevel tokenizer. */
    public static Path write(Path dir, ObjectNode config, Map<String, Tensor> tensors, TensorDtype dtype)
            throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), config.toString());
        Path golden = GoldenReference.directory("gpt2");
        Files.copy(golden.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.copy(golden.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        SafetensorsWriter w = new SafetensorsWriter();
        tensors.forEach((name, t) -> w.add(name, t.shape(), t.values(), dtype));
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }
}
