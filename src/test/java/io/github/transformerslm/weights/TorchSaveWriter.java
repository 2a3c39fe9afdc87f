package io.github.transformerslm.weights;

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

/**
 * Writes float32 tensors as {@code torch.save} does: a stored zip with a protocol-2 pickle of the state dict
 * in {@code archive/data.pkl} and one raw storage per tensor under {@code archive/data/}. For tests and the
 * .bin loading benchmark, which cannot run Python.
 */
public final class TorchSaveWriter {
    private final Map<String, long[]> shapes = new LinkedHashMap<>();
    private final Map<String, float[]> values = new LinkedHashMap<>();

    public TorchSaveWriter add(String name, long[] shape, float[] data) {
        shapes.put(name, shape);
        values.put(name, data);
        return this;
    }

    public void write(Path file) throws IOException {
        ByteArrayOutputStream pickle = new ByteArrayOutputStream();
        pickle.write(0x80);
        pickle.write(2);
        pickle.write('}');
        pickle.write('(');
        int key = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long[] shape = e.getValue();
            long[] stride = new long[shape.length];
            long s = 1;
            for (int d = shape.length - 1; d >= 0; d--) {
                stride[d] = s;
                s *= shape[d];
            }
            text(pickle, e.getKey());
            global(pickle, "torch._utils", "_rebuild_tensor_v2");
            pickle.write('(');
            pickle.write('(');
            text(pickle, "storage");
            global(pickle, "torch", "FloatStorage");
            text(pickle, String.valueOf(key++));
            text(pickle, "cpu");
            integer(pickle, values.get(e.getKey()).length);
            pickle.write('t');
            pickle.write('Q');
            integer(pickle, 0);
            tuple(pickle, shape);
            tuple(pickle, stride);
            pickle.write(0x89);
            global(pickle, "collections", "OrderedDict");
            pickle.write(')');
            pickle.write('R');
            pickle.write('t');
            pickle.write('R');
        }
        pickle.write('u');
        pickle.write('.');
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
            stored(zip, "archive/data.pkl", pickle.toByteArray());
            int i = 0;
            for (float[] data : values.values()) {
                ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(data);
                stored(zip, "archive/data/" + i++, b.array());
            }
            stored(zip, "archive/version", "3\n".getBytes(StandardCharsets.UTF_8));
        }
    }

    private static void stored(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        ZipEntry entry = new ZipEntry(name);
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(bytes.length);
        CRC32 crc = new CRC32();
        crc.update(bytes);
        entry.setCrc(crc.getValue());
        zip.putNextEntry(entry);
        zip.write(bytes);
        zip.closeEntry();
    }

    private static void tuple(ByteArrayOutputStream out, long[] values) {
        out.write('(');
        for (long v : values) {
            integer(out, v);
        }
        out.write('t');
    }

    private static void integer(ByteArrayOutputStream out, long v) {
        out.write('J');
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(Math.toIntExact(v)).array());
    }

    private static void text(ByteArrayOutputStream out, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        out.write('X');
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length).array());
        out.writeBytes(bytes);
    }

    private static void global(ByteArrayOutputStream out, String module, String name) {
        out.write('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    }
}
