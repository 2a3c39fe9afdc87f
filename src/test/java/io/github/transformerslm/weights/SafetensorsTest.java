package io.github.transformerslm.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.serving.ModelLoader;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.model.GoldenReference;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader refuses every kind of broken file with one line naming the file and the tensor. */
class SafetensorsTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    Path write(byte[] bytes) throws IOException {
        Path p = dir.resolve("model.safetensors");
        Files.write(p, bytes);
        return p;
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    @Test
    void readsF32F16AndBf16IntoTheServingDtype() throws IOException {
        new SafetensorsWriter()
                .add("a", new long[] {2, 2}, new float[] {1f, -2f, 0.5f, 3f}, TensorDtype.F32)
                .add("b", new long[] {3}, new float[] {1.5f, -2.25f, 1024f}, TensorDtype.F16)
                .add("c", new long[] {3}, new float[] {1.5f, -2.25f, 1024f}, TensorDtype.BF16)
                .write(dir.resolve("model.safetensors"));
        try (Checkpoint c = Checkpoint.open(dir); NDManager m = NDManager.newBaseManager()) {
            NDArray a = c.load("a", m, DataType.FLOAT32);
            assertThat(a.getShape().getShape()).containsExactly(2, 2);
            assertThat(a.toFloatArray()).containsExactly(1f, -2f, 0.5f, 3f);
            assertThat(c.load("b", m, DataType.FLOAT32).toFloatArray()).containsExactly(1.5f, -2.25f, 1024f);
            NDArray bf16 = c.load("c", m, DataType.FLOAT16);
            assertThat(bf16.getDataType()).isEqualTo(DataType.FLOAT16);
            assertThat(bf16.toType(DataType.FLOAT32, false).toFloatArray()).containsExactly(1.5f, -2.25f, 1024f);
        }
    }

    @Test
    void unsupportedDtypeIsRefusedNamingTheTensor() throws IOException {
        write(new SafetensorsWriter().addRaw("h.0.weight", "I64", new long[] {1}, new byte[8]).toBytes());
        assertThatThrownBy(() -> SafetensorsFile.open(dir.resolve("model.safetensors")))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining("h.0.weight").hasMessageContaining("I64");
    }

    @Test
    void truncatedDataIsRefusedNamingTheTensor() throws IOException {
        byte[] full = new SafetensorsWriter().addRaw("w", "F32", new long[] {4}, floats(1, 2, 3, 4)).toBytes();
        write(Arrays.copyOf(full, full.length - 3));
        assertThatThrownBy(() -> SafetensorsFile.open(dir.resolve("model.safetensors")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("'w'").hasMessageContaining("truncated");
    }

    @Test
    void truncatedHeaderIsRefused() throws IOException {
        write(new byte[] {100, 0, 0, 0, 0, 0, 0, 0, '{'});
        assertThatThrownBy(() -> SafetensorsFile.open(dir.resolve("model.safetensors")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("model.safetensors")
                .hasMessageContaining("header length");
        write(new byte[] {1, 2});
        assertThatThrownBy(() -> SafetensorsFile.open(dir.resolve("model.safetensors")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("truncated");
    }

    @Test
    void headerWhoseOffsetsLieIsRefused() throws IOException {
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(floats(1, 2, 3, 4));
        write(b.array());
        assertThatThrownBy(() -> SafetensorsFile.open(dir.resolve("model.safetensors")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("'w'").hasMessageContaining("data_offsets");
    }

    @Test
    void headerThatIsNotJsonIsRefused() throws IOException {
        byte[] h = "not json".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        write(b.array());
        assertThatThrownBy(() -> SafetensorsFile.open(dir.resolve("model.safetensors")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("JSON");
    }

    @Test
    void missingTensorStopsTheLoadNamingFileAndTensor() throws IOException {
        Path golden = GoldenReference.directory("gpt2");
        for (String f : new String[] {"config.json", "tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(golden.resolve(f), dir.resolve(f));
        }
        SafetensorsWriter w = new SafetensorsWriter();
        try (Checkpoint c = Checkpoint.open(golden); NDManager m = NDManager.newBaseManager()) {
            for (String name : c.names()) {
                if (!name.equals("transformer.h.1.mlp.c_fc.weight")) {
                    w.add(name, c.shape(name), c.load(name, m, DataType.FLOAT32).toFloatArray(), TensorDtype.F32);
                }
            }
        }
        w.write(dir.resolve("model.safetensors"));
        assertThatThrownBy(() -> ModelLoader.load(dir, DataType.FLOAT32)).isInstanceOf(CheckpointException.class)
                .hasMessage("model.safetensors: tensor 'transformer.h.1.mlp.c_fc.weight' is missing");
    }

    @Test
    void weightsUnderAnotherNameSayHowToSaveThemAgain() throws IOException {
        Files.write(dir.resolve("consolidated.00.pth"), new byte[] {1});
        assertThatThrownBy(() -> Checkpoint.open(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("save_pretrained(dir, safe_serialization=True)");
    }

    @Test
    void unsupportedModelTypeListsTheSupportedOnes() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"t5\"}");
        assertThatThrownBy(() -> ModelLoader.load(dir, DataType.FLOAT32)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("'t5'").hasMessageContaining("gpt2").hasMessageContaining("llama");
    }
}
