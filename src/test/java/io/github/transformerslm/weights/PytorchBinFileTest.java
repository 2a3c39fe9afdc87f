package io.github.transformerslm.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.runtime.TorchRuntime;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The torch.save reader on archives written here, byte by byte: views of one shared storage (an offset,
 * a transpose), the refusals for the formats it does not read, and the preference for safetensors.
 */
class PytorchBinFileTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    @Test
    void viewsOfOneStorageReadAsTorchWouldBuildThem() throws IOException {
        Pickle p = new Pickle();
        p.tensor("whole", 0, new long[] {2, 3}, new long[] {3, 1});
        p.tensor("transposed", 0, new long[] {3, 2}, new long[] {1, 3});
        p.tensor("tail", 3, new long[] {3}, new long[] {1});
        writeArchive(dir.resolve("pytorch_model.bin"), "archive/", p.finish(), Map.of("0", floats(0, 1, 2, 3, 4, 5)));

        try (Checkpoint c = Checkpoint.open(dir); NDManager m = NDManager.newBaseManager()) {
            assertThat(c.names()).containsExactly("whole", "transposed", "tail");
            assertThat(c.shape("transposed")).containsExactly(3, 2);
            assertThat(c.load("whole", m, DataType.FLOAT32).toFloatArray()).containsExactly(0, 1, 2, 3, 4, 5);
            assertThat(c.load("transposed", m, DataType.FLOAT32).toFloatArray()).containsExactly(0, 3, 1, 4, 2, 5);
            assertThat(c.load("tail", m, DataType.FLOAT32).toFloatArray()).containsExactly(3, 4, 5);
        }
    }

    @Test
    void aViewReachingPastItsStorageIsRefused() throws IOException {
        Pickle p = new Pickle();
        p.tensor("w", 4, new long[] {3}, new long[] {1});
        writeArchive(dir.resolve("pytorch_model.bin"), "archive/", p.finish(), Map.of("0", floats(0, 1, 2, 3, 4, 5)));
        assertThatThrownBy(() -> Checkpoint.open(dir)).isInstanceOf(CheckpointException.class)
                .hasMessage("pytorch_model.bin: tensor 'w': reaches element 6 of a storage of 6: truncated or corrupt");
    }

    @Test
    void safetensorsWinOverPickles() throws IOException {
        Pickle p = new Pickle();
        p.tensor("from_bin", 0, new long[] {1}, new long[] {1});
        writeArchive(dir.resolve("pytorch_model.bin"), "archive/", p.finish(), Map.of("0", floats(7)));
        SafetensorsWriter w = new SafetensorsWriter();
        w.add("from_safetensors", new long[] {1}, new float[] {8}, TensorDtype.F32);
        w.write(dir.resolve("model.safetensors"));
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertThat(c.names()).containsExactly("from_safetensors");
        }
    }

    @Test
    void theLegacyFormatIsRefusedWithHowToConvert() throws IOException {
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10});
        assertThatThrownBy(() -> Checkpoint.open(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith("pytorch_model.bin: is in the legacy PyTorch format (torch < 1.6)")
                .hasMessageContaining("save_pretrained(dir, safe_serialization=True)");
    }

    @Test
    void aTorchScriptArchiveIsRefusedWithHowToConvert() throws IOException {
        Pickle p = new Pickle();
        writeArchive(dir.resolve("pytorch_model.bin"), "model/", p.finish(),
                Map.of("../constants.pkl", new byte[] {'.'}, "../code/__torch__.py", new byte[] {'#'}));
        assertThatThrownBy(() -> Checkpoint.open(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith("pytorch_model.bin: is a TorchScript archive (torch.jit.save)");
    }

    @Test
    void aGlobalOutsideTheAllowlistStopsTheReadAndIsNamed() throws IOException {
        ByteArrayOutputStream pickle = new ByteArrayOutputStream();
        pickle.write(new byte[] {(byte) 0x80, 2});
        pickle.writeBytes("cbuiltins\neval\n".getBytes(StandardCharsets.UTF_8));
        pickle.write('.');
        writeArchive(dir.resolve("pytorch_model.bin"), "archive/", pickle.toByteArray(), Map.of());
        assertThatThrownBy(() -> Checkpoint.open(dir)).isInstanceOf(UnsafePickleException.class)
                .hasMessage("pytorch_model.bin: refusing to load: the pickle calls builtins.eval (only tensors are allowed)");
    }

    private static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    /** A zip as torch.save writes it: every entry stored, the pickle first. */
    private static void writeArchive(Path file, String prefix, byte[] pickle, Map<String, byte[]> storages)
            throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put(prefix + "data.pkl", pickle);
        storages.forEach((key, bytes) -> entries.put(key.startsWith("../")
                ? prefix + key.substring(3) : prefix + "data/" + key, bytes));
        entries.put(prefix + "version", "3\n".getBytes(StandardCharsets.UTF_8));
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                entry.setCrc(crc.getValue());
                zip.putNextEntry(entry);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
    }

    /** Protocol-2 pickle of a state dict whose tensors all view float storage "0". */
    private static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle() {
            out.write(0x80);
            out.write(2);
            out.write('}');
            out.write('(');
        }

        void tensor(String name, long offset, long[] size, long[] stride) {
            text(name);
            global("torch._utils", "_rebuild_tensor_v2");
            out.write('(');
            out.write('(');
            text("storage");
            global("torch", "FloatStorage");
            text("0");
            text("cpu");
            integer(6);
            out.write('t');
            out.write('Q');
            integer(offset);
            tuple(size);
            tuple(stride);
            out.write(0x89);
            global("collections", "OrderedDict");
            out.write(')');
            out.write('R');
            out.write('t');
            out.write('R');
        }

        byte[] finish() {
            out.write('u');
            out.write('.');
            return out.toByteArray();
        }

        private void tuple(long[] values) {
            out.write('(');
            for (long v : values) {
                integer(v);
            }
            out.write('t');
        }

        private void integer(long v) {
            out.write('J');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
        }

        private void text(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            out.write('X');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length).array());
            out.writeBytes(bytes);
        }

        private void global(String module, String name) {
            out.write('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }
}
