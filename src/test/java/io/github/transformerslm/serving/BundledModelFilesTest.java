package io.github.transformerslm.serving;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.weights.SafetensorsWriter;
import io.github.transformerslm.weights.TensorDtype;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The random GPT-2 that tests serve (the bundled default before stories260K) is reproducible: these tests rebuild its files from a fixed seed and
 * compare them with the committed bytes. Run with {@code -Dbundled.model.write=true} to rewrite them.
 */
class BundledModelFilesTest {
    static final Path DIR = Path.of("src/test/resources/gpt2-random");
    static final Path GPT2_TOKENIZER = Path.of("src/test/resources/tokenizers/gpt2/tokenizer.json");
    static final int VOCAB = 50257;
    static final int HIDDEN = 32;
    static final int LAYERS = 2;
    static final int HEADS = 2;
    static final int POSITIONS = 1024;

    static final String CONFIG = """
            {
              "_comment": "transformers-lm bundled default model: GPT-2 architecture with RANDOM weights; its text is noise",
              "architectures": ["GPT2LMHeadModel"],
              "model_type": "gpt2",
              "activation_function": "gelu_new",
              "bos_token_id": 50256,
              "eos_token_id": 50256,
              "layer_norm_epsilon": 1e-05,
              "n_embd": %d,
              "n_head": %d,
              "n_layer": %d,
              "n_positions": %d,
              "vocab_size": %d,
              "torch_dtype": "float16"
            }
            """.formatted(HIDDEN, HEADS, LAYERS, POSITIONS, VOCAB);

    static final String GENERATION_CONFIG = """
            {
              "bos_token_id": 50256,
              "eos_token_id": 50256
            }
            """;

    static final String TOKENIZER_CONFIG = """
            {
              "tokenizer_class": "GPT2Tokenizer",
              "bos_token": "<|endoftext|>",
              "eos_token": "<|endoftext|>",
              "unk_token": "<|endoftext|>",
              "model_max_length": 1024
            }
            """;

    static Map<String, byte[]> build() throws IOException {
        SplittableRandom random = new SplittableRandom(20261123L);
        SafetensorsWriter w = new SafetensorsWriter();
        w.add("transformer.wte.weight", new long[] {VOCAB, HIDDEN}, gaussian(random, VOCAB * HIDDEN, 0.02), TensorDtype.F16);
        w.add("transformer.wpe.weight", new long[] {POSITIONS, HIDDEN}, gaussian(random, POSITIONS * HIDDEN, 0.01), TensorDtype.F16);
        for (int i = 0; i < LAYERS; i++) {
            String p = "transformer.h." + i + ".";
            w.add(p + "ln_1.weight", new long[] {HIDDEN}, constant(HIDDEN, 1f), TensorDtype.F16);
            w.add(p + "ln_1.bias", new long[] {HIDDEN}, constant(HIDDEN, 0f), TensorDtype.F16);
            w.add(p + "attn.c_attn.weight", new long[] {HIDDEN, 3 * HIDDEN}, gaussian(random, HIDDEN * 3 * HIDDEN, 0.02), TensorDtype.F16);
            w.add(p + "attn.c_attn.bias", new long[] {3 * HIDDEN}, constant(3 * HIDDEN, 0f), TensorDtype.F16);
            w.add(p + "attn.c_proj.weight", new long[] {HIDDEN, HIDDEN}, gaussian(random, HIDDEN * HIDDEN, 0.02), TensorDtype.F16);
            w.add(p + "attn.c_proj.bias", new long[] {HIDDEN}, constant(HIDDEN, 0f), TensorDtype.F16);
            w.add(p + "ln_2.weight", new long[] {HIDDEN}, constant(HIDDEN, 1f), TensorDtype.F16);
            w.add(p + "ln_2.bias", new long[] {HIDDEN}, constant(HIDDEN, 0f), TensorDtype.F16);
            w.add(p + "mlp.c_fc.weight", new long[] {HIDDEN, 4 * HIDDEN}, gaussian(random, HIDDEN * 4 * HIDDEN, 0.02), TensorDtype.F16);
            w.add(p + "mlp.c_fc.bias", new long[] {4 * HIDDEN}, constant(4 * HIDDEN, 0f), TensorDtype.F16);
            w.add(p + "mlp.c_proj.weight", new long[] {4 * HIDDEN, HIDDEN}, gaussian(random, 4 * HIDDEN * HIDDEN, 0.02), TensorDtype.F16);
            w.add(p + "mlp.c_proj.bias", new long[] {HIDDEN}, constant(HIDDEN, 0f), TensorDtype.F16);
        }
        w.add("transformer.ln_f.weight", new long[] {HIDDEN}, constant(HIDDEN, 1f), TensorDtype.F16);
        w.add("transformer.ln_f.bias", new long[] {HIDDEN}, constant(HIDDEN, 0f), TensorDtype.F16);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("config.json", CONFIG.getBytes(StandardCharsets.UTF_8));
        files.put("generation_config.json", GENERATION_CONFIG.getBytes(StandardCharsets.UTF_8));
        files.put("model.safetensors", w.toBytes());
        files.put("tokenizer.json", Files.readAllBytes(GPT2_TOKENIZER));
        files.put("tokenizer_config.json", TOKENIZER_CONFIG.getBytes(StandardCharsets.UTF_8));
        return files;
    }

    private static float[] gaussian(SplittableRandom random, int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (random.nextGaussian() * std);
        }
        return out;
    }

    private static float[] constant(int n, float v) {
        float[] out = new float[n];
        java.util.Arrays.fill(out, v);
        return out;
    }

    @Test
    void theBundledDefaultShipsWithItsLicenceNotice() throws IOException {
        for (String f : BundledModel.FILES) {
            assertThat(BundledModel.class.getClassLoader().getResource(BundledModel.RESOURCE_DIR + f)).as(f).isNotNull();
        }
        assertThat(Files.readString(Path.of("src/main/resources/default-model/LICENSE-NOTE.md")))
                .contains("MIT License").contains("Copyright (c) 2023 Andrej");
    }

    @Test
    void committedFilesAreTheDeterministicBuild() throws IOException {
        Map<String, byte[]> files = build();
        if (Boolean.getBoolean("bundled.model.write")) {
            Files.createDirectories(DIR);
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                Files.write(DIR.resolve(f.getKey()), f.getValue());
            }
        }
        assertThat(files.keySet()).containsExactly(
                "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json");
        long total = 0;
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            assertThat(Files.readAllBytes(DIR.resolve(f.getKey()))).as(f.getKey()).isEqualTo(f.getValue());
            total += f.getValue().length;
        }
        assertThat(total).as("bundled model size in bytes").isLessThan(10L * 1024 * 1024);
    }
}
