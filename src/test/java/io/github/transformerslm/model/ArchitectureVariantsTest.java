package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.GenerationLimits;
import io.github.transformerslm.generation.GenerationPlan;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.Generator;
import io.github.transformerslm.generation.ServiceStops;
import io.github.transformerslm.model.Checkpoints.Tensor;
import io.github.transformerslm.weights.TensorDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.node.ObjectNode;

/**
 * Variants no golden covers, checked against consequences of transformers' definitions that can be
 * derived exactly: two configurations transformers defines to compute the same function must give the
 * same logits here, and a setting transformers says changes the function must change ours.
 */
class ArchitectureVariantsTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    static final int[] PROMPT = GoldenReference.of("gpt2").inputIds();

    /**
     * GPT-NeoX with use_parallel_residual=false and rotary_pct=0 is, by modeling_gpt_neox.py, GPT-2's block
     * (pre-LN, x + attn(ln1 x), then x + mlp(ln2 x)) without positions: GPT-2 with wpe = 0, once the fused
     * QKV is re-laid out per head and Conv1D weights are transposed.
     */
    @Test
    void serialGptNeoxIsGpt2WithoutPositions() throws IOException {
        Map<String, Tensor> gpt2 = Checkpoints.read(GoldenReference.directory("gpt2"));
        int hidden = 64;
        int heads = 4;
        int d = hidden / heads;
        gpt2.put("transformer.wpe.weight", zeros(gpt2.get("transformer.wpe.weight").shape()));
        Path gpt2Dir = Checkpoints.write(tmp.resolve("gpt2"), Checkpoints.config(GoldenReference.directory("gpt2")),
                gpt2, TensorDtype.F32);

        Map<String, Tensor> neox = new LinkedHashMap<>();
        neox.put("gpt_neox.embed_in.weight", gpt2.get("transformer.wte.weight"));
        neox.put("embed_out.weight", gpt2.get("transformer.wte.weight"));
        neox.put("gpt_neox.final_layer_norm.weight", gpt2.get("transformer.ln_f.weight"));
        neox.put("gpt_neox.final_layer_norm.bias", gpt2.get("transformer.ln_f.bias"));
        for (int i = 0; i < 2; i++) {
            String g = "transformer.h." + i + ".";
            String n = "gpt_neox.layers." + i + ".";
            neox.put(n + "input_layernorm.weight", gpt2.get(g + "ln_1.weight"));
            neox.put(n + "input_layernorm.bias", gpt2.get(g + "ln_1.bias"));
            neox.put(n + "post_attention_layernorm.weight", gpt2.get(g + "ln_2.weight"));
            neox.put(n + "post_attention_layernorm.bias", gpt2.get(g + "ln_2.bias"));
            float[] qkvT = transpose(gpt2.get(g + "attn.c_attn.weight")); // [3H, H] as [q | k | v]
            float[] qkvB = gpt2.get(g + "attn.c_attn.bias").values();
            float[] perHead = new float[qkvT.length];
            float[] perHeadBias = new float[qkvB.length];
            for (int h = 0; h < heads; h++) {
                for (int part = 0; part < 3; part++) {
                    for (int j = 0; j < d; j++) {
                        int from = part * hidden + h * d + j;
                        int to = h * 3 * d + part * d + j;
                        System.arraycopy(qkvT, from * hidden, perHead, to * hidden, hidden);
                        perHeadBias[to] = qkvB[from];
                    }
                }
            }
            neox.put(n + "attention.query_key_value.weight", new Tensor(new long[] {3 * hidden, hidden}, perHead));
            neox.put(n + "attention.query_key_value.bias", new Tensor(new long[] {3 * hidden}, perHeadBias));
            neox.put(n + "attention.dense.weight", transposed(gpt2.get(g + "attn.c_proj.weight")));
            neox.put(n + "attention.dense.bias", gpt2.get(g + "attn.c_proj.bias"));
            neox.put(n + "mlp.dense_h_to_4h.weight", transposed(gpt2.get(g + "mlp.c_fc.weight")));
            neox.put(n + "mlp.dense_h_to_4h.bias", gpt2.get(g + "mlp.c_fc.bias"));
            neox.put(n + "mlp.dense_4h_to_h.weight", transposed(gpt2.get(g + "mlp.c_proj.weight")));
            neox.put(n + "mlp.dense_4h_to_h.bias", gpt2.get(g + "mlp.c_proj.bias"));
        }
        ObjectNode config = Checkpoints.config(GoldenReference.directory("gpt_neox"));
        config.put("rotary_pct", 0.0).put("partial_rotary_factor", 0.0).put("hidden_act", "gelu_new")
                .put("use_parallel_residual", false);
        Path serial = Checkpoints.write(tmp.resolve("neox-serial"), config, neox, TensorDtype.F32);
        config.put("use_parallel_residual", true);
        Path parallel = Checkpoints.write(tmp.resolve("neox-parallel"), config, neox, TensorDtype.F32);

        float[] reference = LastLogits.of(gpt2Dir, DataType.FLOAT32, PROMPT);
        assertThat(LastLogits.maxDiff(LastLogits.of(serial, DataType.FLOAT32, PROMPT), reference)).isLessThan(1e-4);
        assertThat(LastLogits.maxDiff(LastLogits.of(parallel, DataType.FLOAT32, PROMPT), reference)).isGreaterThan(1e-3);
    }

    /**
     * Falcon's new decoder architecture with num_kv_heads = num_heads lays its fused QKV out per head as
     * [q, k, v], exactly like the old architecture without multi-query; with ln_attn and ln_mlp equal to
     * the old input_layernorm, both compute the same function.
     */
    @Test
    void falconNewArchitectureWithOneKvHeadPerHeadEqualsTheOldPerHeadLayout() throws IOException {
        Map<String, Tensor> old = randomFalcon(false);
        ObjectNode config = falconConfig().put("multi_query", false).put("new_decoder_architecture", false);
        Path oldDir = Checkpoints.write(tmp.resolve("falcon-old"), config, old, TensorDtype.F32);

        Map<String, Tensor> renamed = new LinkedHashMap<>();
        old.forEach((name, t) -> {
            if (name.contains("input_layernorm")) {
                renamed.put(name.replace("input_layernorm", "ln_attn"), t);
                renamed.put(name.replace("input_layernorm", "ln_mlp"), t);
            } else {
                renamed.put(name, t);
            }
        });
        ObjectNode newConfig = falconConfig().put("new_decoder_architecture", true).put("num_kv_heads", 4);
        Path newDir = Checkpoints.write(tmp.resolve("falcon-new"), newConfig, renamed, TensorDtype.F32);
        assertThat(LastLogits.maxDiff(LastLogits.of(newDir, DataType.FLOAT32, PROMPT),
                LastLogits.of(oldDir, DataType.FLOAT32, PROMPT))).isLessThan(1e-5);
    }

    /**
     * With ALiBi, a token's bias depends only on its distance to the query: a left-padded row must give
     * exactly what it gives alone. Also, ALiBi must change the function (rotary is off).
     */
    @Test
    void falconWithAlibiIsUnaffectedByLeftPadding() throws IOException {
        Map<String, Tensor> weights = randomFalcon(false);
        ObjectNode config = falconConfig().put("multi_query", false).put("alibi", true).put("parallel_attn", false);
        weights.putAll(postAttentionNorms(weights));
        Path dir = Checkpoints.write(tmp.resolve("falcon-alibi"), config, weights, TensorDtype.F32);
        ObjectNode rotaryConfig = config.deepCopy().put("alibi", false);
        Path rotaryDir = Checkpoints.write(tmp.resolve("falcon-rotary"), rotaryConfig, weights, TensorDtype.F32);
        assertThat(LastLogits.maxDiff(LastLogits.of(dir, DataType.FLOAT32, PROMPT),
                LastLogits.of(rotaryDir, DataType.FLOAT32, PROMPT))).isGreaterThan(1e-3);

        int[] shortPrompt = {600, 31, 9, 271, 55};
        try (LoadedModel loaded = ModelLoader.load(dir, DataType.FLOAT32)) {
            int[] alone = greedy(loaded, List.of(shortPrompt)).get(0).tokens();
            List<GeneratedSequence> batch = greedy(loaded, List.of(PROMPT, shortPrompt));
            assertThat(batch.get(1).tokens()).containsExactly(alone);
        }
    }

    /**
     * Mistral's sliding window lets a query see fewer than W positions back, so after two layers the last
     * position depends on at most 2(W-1) earlier tokens: changing a token further back changes nothing,
     * while without the window it does.
     */
    @Test
    void mistralSlidingWindowLimitsWhatTheLastPositionSees() throws IOException {
        Path golden = GoldenReference.directory("mistral");
        Map<String, Tensor> weights = Checkpoints.read(golden);
        ObjectNode config = Checkpoints.config(golden).put("sliding_window", 3);
        Path windowed = Checkpoints.write(tmp.resolve("mistral-window"), config, weights, TensorDtype.F32);
        int[] changed = PROMPT.clone();
        changed[0] = 999;
        double windowedChange = LastLogits.maxDiff(LastLogits.of(windowed, DataType.FLOAT32, PROMPT),
                LastLogits.of(windowed, DataType.FLOAT32, changed));
        double fullChange = LastLogits.maxDiff(LastLogits.of(golden, DataType.FLOAT32, PROMPT),
                LastLogits.of(golden, DataType.FLOAT32, changed));
        assertThat(windowedChange).isZero();
        assertThat(fullChange).isGreaterThan(1e-4);
    }

    /** An untied LM head equal to the embedding computes what tie_word_embeddings computes. */
    @Test
    void tiedAndUntiedEmbeddingsAgree() throws IOException {
        Path golden = GoldenReference.directory("llama");
        Map<String, Tensor> weights = Checkpoints.read(golden);
        weights.put("lm_head.weight", weights.get("model.embed_tokens.weight"));
        Path untied = Checkpoints.write(tmp.resolve("untied"), Checkpoints.config(golden), weights, TensorDtype.F32);
        weights.remove("lm_head.weight");
        Path tied = Checkpoints.write(tmp.resolve("tied"), Checkpoints.config(golden).put("tie_word_embeddings", true),
                weights, TensorDtype.F32);
        float[] a = LastLogits.of(tied, DataType.FLOAT32, PROMPT);
        assertThat(LastLogits.maxDiff(a, LastLogits.of(untied, DataType.FLOAT32, PROMPT))).isZero();
        assertThat(LastLogits.maxDiff(a, LastLogits.of(golden, DataType.FLOAT32, PROMPT))).isGreaterThan(1e-3);
    }

    /** Shards listed by model.safetensors.index.json load as one checkpoint. */
    @Test
    void shardedCheckpointMatchesTheReference() throws IOException {
        Path golden = GoldenReference.directory("gpt2");
        Map<String, Tensor> weights = Checkpoints.read(golden);
        Path dir = Files.createDirectories(tmp.resolve("sharded"));
        Checkpoints.write(dir, Checkpoints.config(golden), Map.of(), TensorDtype.F32);
        Files.delete(dir.resolve("model.safetensors"));
        io.github.transformerslm.weights.SafetensorsWriter first = new io.github.transformerslm.weights.SafetensorsWriter();
        io.github.transformerslm.weights.SafetensorsWriter second = new io.github.transformerslm.weights.SafetensorsWriter();
        StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        int i = 0;
        for (Map.Entry<String, Tensor> e : weights.entrySet()) {
            boolean inFirst = i++ % 2 == 0;
            (inFirst ? first : second).add(e.getKey(), e.getValue().shape(), e.getValue().values(), TensorDtype.F32);
            index.append(i > 1 ? "," : "").append('"').append(e.getKey()).append("\": \"model-0000")
                    .append(inFirst ? 1 : 2).append("-of-00002.safetensors\"");
        }
        first.write(dir.resolve("model-00001-of-00002.safetensors"));
        second.write(dir.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.append("}}").toString());
        assertThat(LastLogits.maxDiff(LastLogits.of(dir, DataType.FLOAT32, PROMPT),
                GoldenReference.of("gpt2").lastLogits())).isLessThan(1e-4);
    }

    /**
     * BF16 weights are widened exactly: every tensor reads back bit-identical to the same values stored as
     * F32, and the logits agree to float32 rounding (BLAS may take other paths for differently aligned buffers).
     */
    @Test
    void bf16CheckpointIsWidenedExactly() throws IOException {
        Path golden = GoldenReference.directory("llama");
        Map<String, Tensor> weights = Checkpoints.read(golden);
        Map<String, Tensor> rounded = new LinkedHashMap<>();
        weights.forEach((name, t) -> {
            float[] v = t.values().clone();
            for (int k = 0; k < v.length; k++) {
                v[k] = Float.intBitsToFloat(Float.floatToRawIntBits(v[k]) & 0xFFFF0000);
            }
            rounded.put(name, new Tensor(t.shape(), v));
        });
        Path bf16 = Checkpoints.write(tmp.resolve("bf16"), Checkpoints.config(golden), rounded, TensorDtype.BF16);
        Path f32 = Checkpoints.write(tmp.resolve("f32"), Checkpoints.config(golden), rounded, TensorDtype.F32);
        Map<String, Tensor> readBack = Checkpoints.read(bf16);
        rounded.forEach((name, t) -> assertThat(readBack.get(name).values()).as(name).containsExactly(t.values()));
        assertThat(LastLogits.maxDiff(LastLogits.of(bf16, DataType.FLOAT32, PROMPT),
                LastLogits.of(f32, DataType.FLOAT32, PROMPT))).isLessThan(1e-5);
        // Served in float16, a BF16 checkpoint stays within the float16 tolerance of its float32 result.
        assertThat(LastLogits.maxDiff(LastLogits.of(bf16, DataType.FLOAT16, PROMPT),
                LastLogits.of(bf16, DataType.FLOAT32, PROMPT))).isLessThan(2e-2);
    }

    static List<GeneratedSequence> greedy(LoadedModel loaded, List<int[]> prompts) {
        List<GenerationRow> rows = new java.util.ArrayList<>();
        for (int[] p : prompts) {
            GenerationPlan plan = GenerationPlan.resolve(GenerationConfigParser.parse("{\"max_new_tokens\": 8}"),
                    p.length, 128, new GenerationLimits(64, 4, 8), ServiceStops.NONE);
            rows.add(new GenerationRow(p, plan, new SplittableRandom(0)));
        }
        return new Generator(loaded.model(), loaded.tokenizer()).generate(loaded.manager(), rows).stream()
                .flatMap(List::stream).toList();
    }

    static ObjectNode falconConfig() {
        return Checkpoints.config(GoldenReference.directory("falcon")).put("bias", false).put("parallel_attn", true)
                .put("alibi", false);
    }

    /** Random weights for the old Falcon layout with one K and V per head (query_key_value [3H, H]). */
    static Map<String, Tensor> randomFalcon(boolean unused) {
        SplittableRandom r = new SplittableRandom(5);
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("transformer.word_embeddings.weight", random(r, 1000, 64));
        for (int i = 0; i < 2; i++) {
            String p = "transformer.h." + i + ".";
            w.put(p + "input_layernorm.weight", ones(64));
            w.put(p + "input_layernorm.bias", random(r, 64));
            w.put(p + "self_attention.query_key_value.weight", random(r, 192, 64));
            w.put(p + "self_attention.dense.weight", random(r, 64, 64));
            w.put(p + "mlp.dense_h_to_4h.weight", random(r, 256, 64));
            w.put(p + "mlp.dense_4h_to_h.weight", random(r, 64, 256));
        }
        w.put("transformer.ln_f.weight", ones(64));
        w.put("transformer.ln_f.bias", random(r, 64));
        return w;
    }

    static Map<String, Tensor> postAttentionNorms(Map<String, Tensor> w) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < 2; i++) {
            String p = "transformer.h." + i + ".";
            out.put(p + "post_attention_layernorm.weight", w.get(p + "input_layernorm.weight"));
            out.put(p + "post_attention_layernorm.bias", w.get(p + "input_layernorm.bias"));
        }
        return out;
    }

    static Tensor random(SplittableRandom r, long... shape) {
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 0.2);
        }
        return new Tensor(shape, v);
    }

    static Tensor ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return new Tensor(new long[] {n}, v);
    }

    static Tensor zeros(long[] shape) {
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        return new Tensor(shape, new float[n]);
    }

    static float[] transpose(Tensor t) {
        int rows = (int) t.shape()[0];
        int cols = (int) t.shape()[1];
        float[] out = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[j * rows + i] = t.values()[i * cols + j];
            }
        }
        return out;
    }

    static Tensor transposed(Tensor t) {
        return new Tensor(new long[] {t.shape()[1], t.shape()[0]}, transpose(t));
    }
}
