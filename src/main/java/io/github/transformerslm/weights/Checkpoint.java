package io.github.transformerslm.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The weights of a Hugging Face model directory: {@code model.safetensors}, or shards listed by
 * {@code model.safetensors.index.json}. Tensors come out in the serving dtype, zero-copy where the
 * stored dtype already is it.
 */
public final class Checkpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path directory;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> fileOfTensor;
    private final Map<String, TensorEntry> entries;

    private Checkpoint(Path directory, List<SafetensorsFile> files) {
        this.directory = directory;
        this.files = files;
        this.fileOfTensor = new LinkedHashMap<>();
        this.entries = new LinkedHashMap<>();
        for (SafetensorsFile file : files) {
            for (TensorEntry entry : file.tensors().values()) {
                fileOfTensor.put(entry.name(), file);
                entries.put(entry.name(), entry);
            }
        }
    }

    public static Checkpoint open(Path directory) {
        Path single = directory.resolve(SINGLE_FILE);
        Path index = directory.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return openSharded(directory, index);
        }
        if (Files.isRegularFile(single)) {
            return new Checkpoint(directory, List.of(SafetensorsFile.open(single)));
        }
        throw new CheckpointException(directory + ": no " + SINGLE_FILE + " or " + INDEX_FILE + describeOtherWeights(directory));
    }

    private static String describeOtherWeights(Path directory) {
        try (Stream<Path> list = Files.list(directory)) {
            boolean pickle = list.map(p -> p.getFileName().toString())
                    .anyMatch(n -> n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth"));
            return pickle
                    ? "; only PyTorch pickle weights (*.bin) are present: convert them to safetensors"
                            + " (for example with transformers: model.save_pretrained(dir, safe_serialization=True))"
                    : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static Checkpoint openSharded(Path directory, Path index) {
        JsonNode weightMap;
        try {
            weightMap = JsonMapper.builder().build().readTree(index.toFile()).path("weight_map");
        } catch (JacksonException e) {
            throw new CheckpointException(INDEX_FILE + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (!weightMap.isObject() || weightMap.isEmpty()) {
            throw new CheckpointException(INDEX_FILE + ": has no weight_map");
        }
        Set<String> shardNames = new TreeSet<>();
        for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
            shardNames.add(e.getValue().asString());
        }
        List<SafetensorsFile> shards = new ArrayList<>();
        try {
            for (String shard : shardNames) {
                Path shardPath = directory.resolve(shard).normalize();
                if (!shardPath.startsWith(directory.normalize()) || !Files.isRegularFile(shardPath)) {
                    throw new CheckpointException(shard + ": listed in " + INDEX_FILE + " but missing");
                }
                shards.add(SafetensorsFile.open(shardPath));
            }
            Checkpoint checkpoint = new Checkpoint(directory, shards);
            for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
                SafetensorsFile holder = checkpoint.fileOfTensor.get(e.getKey());
                if (holder == null || !holder.path().getFileName().toString().equals(e.getValue().asString())) {
                    throw new CheckpointException(e.getValue().asString() + ": tensor '" + e.getKey()
                            + "' is listed in " + INDEX_FILE + " but missing from that shard");
                }
            }
            return checkpoint;
        } catch (RuntimeException e) {
            shards.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    public Path directory() {
        return directory;
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Set<String> names() {
        return entries.keySet();
    }

    /** Shape as stored, or a {@link CheckpointException} naming the missing tensor. */
    public long[] shape(String name) {
        return entry(name).shape();
    }

    private TensorEntry entry(String name) {
        TensorEntry entry = entries.get(name);
        if (entry == null) {
            String file = files.size() == 1 ? files.get(0).path().getFileName().toString() : INDEX_FILE;
            throw new CheckpointException(file + ": tensor '" + name + "' is missing");
        }
        return entry;
    }

    /**
     * Loads a tensor into {@code manager} as {@code target}. F32 and F16 that already match the target
     * stay on the mapped file (zero-copy). BF16 is widened to F32 in Java, because the engine aborts the
     * JVM on BF16 arrays.
     */
    public NDArray load(String name, NDManager manager, DataType target) {
        TensorEntry entry = entry(name);
        SafetensorsFile file = fileOfTensor.get(name);
        ByteBuffer bytes = file.map(entry);
        Shape shape = new Shape(entry.shape());
        NDArray stored = switch (entry.dtype()) {
            case F32 -> manager.create(bytes, shape, DataType.FLOAT32);
            case F16 -> manager.create(bytes, shape, DataType.FLOAT16);
            case BF16 -> manager.create(widenBf16(bytes, entry), shape, DataType.FLOAT32);
        };
        if (stored.getDataType() == target) {
            return stored;
        }
        NDArray converted = stored.toType(target, true);
        stored.close();
        return converted;
    }

    private static ByteBuffer widenBf16(ByteBuffer bytes, TensorEntry entry) {
        int count = Math.toIntExact(entry.elementCount());
        ShortBuffer halves = bytes.order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        ByteBuffer widened = ByteBuffer.allocateDirect(Math.multiplyExact(count, 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            widened.putInt(i * 4, (halves.get(i) & 0xFFFF) << 16);
        }
        return widened;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
