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
import java.util.function.Function;
import java.util.stream.Stream;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The weights of a Hugging Face model directory: {@code model.safetensors}, or shards listed by
 * {@code model.safetensors.index.json}; failing those, PyTorch's {@code pytorch_model.bin} or the shards
 * listed by {@code pytorch_model.bin.index.json}, read without running their pickles. Safetensors win
 * where a directory has both, as in transformers. Tensors come out in the serving dtype, zero-copy where
 * the stored dtype already is it.
 */
public final class Checkpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String BIN_FILE = "pytorch_model.bin";
    public static final String BIN_INDEX_FILE = "pytorch_model.bin.index.json";

    private final Path directory;
    private final List<? extends TensorFile> files;
    private final Map<String, TensorFile> fileOfTensor;
    private final Map<String, TensorEntry> entries;

    private Checkpoint(Path directory, List<? extends TensorFile> files) {
        this.directory = directory;
        this.files = files;
        this.fileOfTensor = new LinkedHashMap<>();
        this.entries = new LinkedHashMap<>();
        for (TensorFile file : files) {
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
            return openSharded(directory, index, SafetensorsFile::open);
        }
        if (Files.isRegularFile(single)) {
            return new Checkpoint(directory, List.of(SafetensorsFile.open(single)));
        }
        Path binIndex = directory.resolve(BIN_INDEX_FILE);
        if (Files.isRegularFile(binIndex)) {
            return openSharded(directory, binIndex, PytorchBinFile::open);
        }
        Path bin = directory.resolve(BIN_FILE);
        if (Files.isRegularFile(bin)) {
            return new Checkpoint(directory, List.of(PytorchBinFile.open(bin)));
        }
        throw new CheckpointException(directory + ": no " + SINGLE_FILE + ", " + INDEX_FILE + ", " + BIN_FILE
                + " or " + BIN_INDEX_FILE + describeOtherWeights(directory));
    }

    private static String describeOtherWeights(Path directory) {
        try (Stream<Path> list = Files.list(directory)) {
            boolean other = list.map(p -> p.getFileName().toString())
                    .anyMatch(n -> n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth"));
            return other
                    ? "; the PyTorch weights here have other names (*.pt, *.pth or a renamed *.bin): save the model"
                            + " again with transformers (model.save_pretrained(dir, safe_serialization=True))"
                    : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static Checkpoint openSharded(Path directory, Path index, Function<Path, TensorFile> opener) {
        String indexName = index.getFileName().toString();
        JsonNode weightMap;
        try {
            weightMap = JsonMapper.builder().build().readTree(index.toFile()).path("weight_map");
        } catch (JacksonException e) {
            throw new CheckpointException(indexName + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (!weightMap.isObject() || weightMap.isEmpty()) {
            throw new CheckpointException(indexName + ": has no weight_map");
        }
        Set<String> shardNames = new TreeSet<>();
        for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
            shardNames.add(e.getValue().asString());
        }
        List<TensorFile> shards = new ArrayList<>();
        try {
            for (String shard : shardNames) {
                Path shardPath = directory.resolve(shard).normalize();
                if (!shardPath.startsWith(directory.normalize()) || !Files.isRegularFile(shardPath)) {
                    throw new CheckpointException(shard + ": listed in " + indexName + " but missing");
                }
                shards.add(opener.apply(shardPath));
            }
            Checkpoint checkpoint = new Checkpoint(directory, shards);
            for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
                TensorFile holder = checkpoint.fileOfTensor.get(e.getKey());
                if (holder == null || !holder.path().getFileName().toString().equals(e.getValue().asString())) {
                    if (holder == null && indexName.equals(BIN_INDEX_FILE) && !checkpoint.contains(e.getKey())) {
                        continue; // an integer buffer (an attention mask), which no architecture reads
                    }
                    throw new CheckpointException(e.getValue().asString() + ": tensor '" + e.getKey()
                            + "' is listed in " + indexName + " but missing from that shard");
                }
            }
            return checkpoint;
        } catch (RuntimeException e) {
            shards.forEach(TensorFile::close);
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
        TensorFile file = fileOfTensor.get(name);
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
        files.forEach(TensorFile::close);
    }
}
