package io.github.transformerslm.weights;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Writes safetensors files. Used to build the bundled default model and test checkpoints; the byte
 * layout is the reference one (header padded with spaces to a multiple of 8).
 */
public final class SafetensorsWriter {
    private record Pending(String dtype, long[] shape, byte[] data) {}

    private final Map<String, Pending> tensors = new LinkedHashMap<>();

    public SafetensorsWriter add(String name, long[] shape, float[] values, TensorDtype dtype) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case F32 -> buf.putFloat(v);
                case F16 -> buf.putShort(HalfFloat.fromFloat(v));
                case BF16 -> buf.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
            }
        }
        return addRaw(name, dtype.name(), shape, buf.array());
    }

    /** Any dtype name and bytes, so that tests can write files a reader must refuse. */
    public SafetensorsWriter addRaw(String name, String dtype, long[] shape, byte[] data) {
        tensors.put(name, new Pending(dtype, shape, data));
        return this;
    }

    public byte[] toBytes() {
        JsonMapper json = JsonMapper.builder().build();
        ObjectNode header = json.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, Pending> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            ArrayNode offsets = t.putArray("data_offsets");
            offsets.add(offset);
            offset += e.getValue().data().length;
            offsets.add(offset);
        }
        byte[] headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(headerBytes);
        for (int i = headerBytes.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        for (Pending p : tensors.values()) {
            out.put(p.data());
        }
        return out.array();
    }

    public void write(Path path) throws IOException {
        try (OutputStream os = Files.newOutputStream(path)) {
            os.write(toBytes());
        }
    }
}
