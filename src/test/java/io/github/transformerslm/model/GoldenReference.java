package io.github.transformerslm.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** golden.json: what transformers 4.47.1 computed from a golden model directory. */
public record GoldenReference(Path directory, JsonNode json) {
    public static Path directory(String arch) {
        return Path.of("src/test/resources/golden", arch).toAbsolutePath();
    }

    public static GoldenReference of(String arch) {
        Path dir = directory(arch);
        return new GoldenReference(dir, JsonMapper.builder().build().readTree(dir.resolve("golden.json").toFile()));
    }

    public int[] inputIds() {
        return ints(json.get("input_ids"));
    }

    public float[] lastLogits() {
        JsonNode n = json.get("last_logits");
        float[] out = new float[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).floatValue();
        }
        return out;
    }

    public int[] greedyNewIds() {
        return ints(json.get("greedy_new_ids"));
    }

    public JsonNode batch() {
        return json.get("batch_left_padded");
    }

    public List<JsonNode> generateCases() {
        List<JsonNode> out = new ArrayList<>();
        json.get("generate_cases").forEach(out::add);
        return out;
    }

    public static int[] ints(JsonNode n) {
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).intValue();
        }
        return out;
    }

    static boolean exists(String arch) {
        return Files.isDirectory(directory(arch));
    }
}
