package io.github.transformerslm.weights;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A safetensors file, validated once when opened and memory-mapped tensor by tensor.
 *
 * <p>Every check a lying or truncated file could fail is made here, against the real file size, so
 * that nothing later reads past the end of a mapping.
 */
public final class SafetensorsFile implements TensorFile {
    /** A header larger than this is not a header: 100 MB is what the reference implementation allows. */
    private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorEntry> tensors;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorEntry> tensors) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
    }

    public static SafetensorsFile open(Path path) {
        return TensorFile.open(path, SafetensorsFile::parse);
    }

    private static SafetensorsFile parse(Path path, FileChannel channel) {
        String file = path.getFileName().toString();
        try {
            long size = channel.size();
            if (size < 8) {
                throw new CheckpointException(file + ": truncated: " + size + " bytes, no header length");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            channel.read(lengthBytes, 0);
            long headerLength = lengthBytes.flip().getLong();
            if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
                throw new CheckpointException(file + ": truncated or corrupt: header length " + headerLength
                        + " does not fit a file of " + size + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLength);
            channel.read(header, 8);
            JsonNode root;
            try {
                root = JSON.readTree(new String(header.array(), StandardCharsets.UTF_8));
            } catch (JacksonException e) {
                throw new CheckpointException(file + ": header is not valid JSON: " + e.getOriginalMessage());
            }
            if (root == null || !root.isObject()) {
                throw new CheckpointException(file + ": header is not a JSON object");
            }
            long dataStart = 8 + headerLength;
            long dataLength = size - dataStart;
            Map<String, TensorEntry> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> field : root.properties()) {
                if (field.getKey().equals("__metadata__")) {
                    continue;
                }
                TensorEntry entry = entry(file, field.getKey(), field.getValue(), dataLength);
                tensors.put(entry.name(), entry);
            }
            return new SafetensorsFile(path, channel, dataStart, Collections.unmodifiableMap(tensors));
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static TensorEntry entry(String file, String name, JsonNode node, long dataLength) {
        String where = file + ": tensor '" + name + "': ";
        String dtypeName = node.path("dtype").asString("");
        TensorDtype dtype = TensorDtype.fromHeader(dtypeName).orElseThrow(() -> new CheckpointException(
                where + "unsupported dtype '" + dtypeName + "' (supported: F32, F16, BF16)"));
        JsonNode shapeNode = node.path("shape");
        JsonNode offsets = node.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new CheckpointException(where + "header entry lacks shape or data_offsets");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong(-1);
            if (shape[i] < 0) {
                throw new CheckpointException(where + "negative or non-numeric dimension in shape " + shapeNode);
            }
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        TensorEntry entry = new TensorEntry(name, dtype, shape, begin, end);
        long expected;
        try {
            expected = Math.multiplyExact(entry.elementCount(), dtype.bytes());
        } catch (ArithmeticException e) {
            throw new CheckpointException(where + "shape " + shapeNode + " overflows");
        }
        if (begin < 0 || end < begin || end - begin != expected) {
            throw new CheckpointException(where + "data_offsets [" + begin + ", " + end + "] do not hold "
                    + dtype + " " + shapeNode + " (" + expected + " bytes)");
        }
        if (end > dataLength) {
            throw new CheckpointException(where + "truncated: data ends at byte " + end
                    + " but the file holds " + dataLength + " bytes of data");
        }
        return entry;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public Map<String, TensorEntry> tensors() {
        return tensors;
    }

    /**
     * Maps one tensor's bytes, little-endian. The mapping is read-only: writing through it would crash
     * the JVM, so weights are never mutated in place.
     */
    @Override
    public ByteBuffer map(TensorEntry entry) {
        return TensorFile.mapRegion(channel, path, entry, dataStart + entry.begin(), entry.byteLength());
    }

    @Override
    public void close() {
        TensorFile.closeQuietly(channel);
    }
}
