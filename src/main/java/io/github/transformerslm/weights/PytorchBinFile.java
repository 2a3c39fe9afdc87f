package io.github.transformerslm.weights;

import io.github.transformerslm.weights.SafeUnpickler.StorageRef;
import io.github.transformerslm.weights.SafeUnpickler.TensorRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A PyTorch checkpoint as {@code torch.save} writes it since torch 1.6 (and so
 * {@code save_pretrained(safe_serialization=False)}): a zip archive, stored uncompressed, with the
 * state dict's pickle in {@code <record>/data.pkl} and each storage's raw little-endian bytes in
 * {@code <record>/data/<key>}. The pickle is read by {@link SafeUnpickler}, which runs nothing; the
 * storages are memory-mapped like safetensors, so loading needs no second copy of the weights.
 * Tensors that are strided views of a storage (rare in saved state dicts) are gathered into a copy.
 */
public final class PytorchBinFile implements TensorFile {
    /** A state dict's pickle holds names and sizes only; one this large is not a state dict. */
    private static final long MAX_PICKLE_BYTES = 256L * 1024 * 1024;

    private record Strided(long storageStart, long offset, long[] stride) {}

    private final Path path;
    private final FileChannel channel;
    private final Map<String, TensorEntry> tensors;
    private final Map<String, Strided> strided;

    private PytorchBinFile(Path path, FileChannel channel, Map<String, TensorEntry> tensors, Map<String, Strided> strided) {
        this.path = path;
        this.channel = channel;
        this.tensors = tensors;
        this.strided = strided;
    }

    public static PytorchBinFile open(Path path) {
        return TensorFile.open(path, PytorchBinFile::parse);
    }

    private static PytorchBinFile parse(Path path, FileChannel channel) throws IOException {
        String file = path.getFileName().toString();
        if (!StoredZip.looksLikeZip(channel)) {
            throw notZip(file, channel);
        }
        Map<String, StoredZip.Entry> entries = StoredZip.entries(channel, file);
        String prefix = null;
        for (String name : entries.keySet()) {
            if (name.endsWith("/constants.pkl") || name.contains("/code/")) {
                throw new CheckpointException(file + ": is a TorchScript archive (torch.jit.save), not a state dict:"
                        + " load it in Python with torch.jit.load and save its state_dict() as safetensors"
                        + " (transformers: model.save_pretrained(dir, safe_serialization=True))");
            }
            if (name.endsWith("data.pkl") && name.indexOf('/') == name.length() - "data.pkl".length() - 1) {
                prefix = name.substring(0, name.length() - "data.pkl".length());
            }
        }
        if (prefix == null) {
            throw new CheckpointException(file + ": a zip archive without data.pkl: not a torch.save checkpoint");
        }
        StoredZip.Entry pickle = entries.get(prefix + "data.pkl");
        requireStored(file, pickle);
        if (pickle.size() > MAX_PICKLE_BYTES) {
            throw new CheckpointException(file + ": data.pkl is " + pickle.size() + " bytes: not a state dict");
        }
        byte[] pickleBytes = StoredZip.read(channel, pickle.dataOffset(), (int) pickle.size()).array();
        Object root = SafeUnpickler.load(file, pickleBytes);
        if (!(root instanceof Map<?, ?> stateDict)) {
            throw new CheckpointException(file + ": the pickle holds no state dict (a dict of tensors)");
        }
        Map<String, TensorEntry> tensors = new LinkedHashMap<>();
        Map<String, Strided> strided = new HashMap<>();
        for (Map.Entry<?, ?> item : stateDict.entrySet()) {
            if (!(item.getKey() instanceof String name) || !(item.getValue() instanceof TensorRef ref)) {
                continue; // metadata beside the tensors
            }
            Optional<TensorDtype> dtype = dtypeOf(ref.storage());
            if (dtype.isEmpty()) {
                continue; // integer and boolean buffers (attention masks): no architecture reads them
            }
            StoredZip.Entry storage = entries.get(prefix + "data/" + ref.storage().key());
            String where = file + ": tensor '" + name + "': ";
            if (storage == null) {
                throw new CheckpointException(where + "its storage " + ref.storage().key() + " is missing from the archive");
            }
            requireStored(file, storage);
            int elementBytes = dtype.get().bytes();
            long storageElements = storage.size() / elementBytes;
            long[] shape = ref.shape();
            long[] stride = ref.stride();
            if (shape.length != stride.length || ref.offset() < 0) {
                throw new CheckpointException(where + "malformed size " + java.util.Arrays.toString(shape)
                        + " and stride " + java.util.Arrays.toString(stride));
            }
            long count = 1;
            long lastIndex = ref.offset();
            boolean contiguous = true;
            long expectedStride = 1;
            try {
                for (int d = shape.length - 1; d >= 0; d--) {
                    if (shape[d] < 0 || stride[d] < 0) {
                        throw new CheckpointException(where + "negative size or stride");
                    }
                    count = Math.multiplyExact(count, shape[d]);
                    if (shape[d] > 1) {
                        contiguous &= stride[d] == expectedStride;
                        lastIndex = Math.addExact(lastIndex, Math.multiplyExact(shape[d] - 1, stride[d]));
                    }
                    expectedStride = Math.multiplyExact(expectedStride, Math.max(shape[d], 1));
                }
            } catch (ArithmeticException e) {
                throw new CheckpointException(where + "size " + java.util.Arrays.toString(shape) + " overflows");
            }
            if (count > 0 && lastIndex >= storageElements) {
                throw new CheckpointException(where + "reaches element " + lastIndex + " of a storage of "
                        + storageElements + ": truncated or corrupt");
            }
            long begin = storage.dataOffset() + ref.offset() * elementBytes;
            TensorEntry entry = new TensorEntry(name, dtype.get(), shape, begin, begin + count * elementBytes);
            tensors.put(name, entry);
            if (!contiguous) {
                strided.put(name, new Strided(storage.dataOffset(), ref.offset(), stride));
            }
        }
        return new PytorchBinFile(path, channel, Collections.unmodifiableMap(tensors), strided);
    }

    private static Optional<TensorDtype> dtypeOf(StorageRef storage) {
        return switch (storage.type()) {
            case "FloatStorage" -> Optional.of(TensorDtype.F32);
            case "HalfStorage" -> Optional.of(TensorDtype.F16);
            case "BFloat16Storage" -> Optional.of(TensorDtype.BF16);
            default -> Optional.empty();
        };
    }

    private static void requireStored(String file, StoredZip.Entry entry) {
        if (entry.method() != 0) {
            throw new CheckpointException(file + ": zip entry " + entry.name()
                    + " is compressed; torch.save never compresses: not a torch.save checkpoint");
        }
    }

    private static CheckpointException notZip(String file, FileChannel channel) throws IOException {
        ByteBuffer head = StoredZip.read(channel, 0, (int) Math.min(2, channel.size()));
        if (head.limit() == 2 && (head.get(0) & 0xFF) == 0x80 && head.get(1) <= 5) {
            return new CheckpointException(file + ": is in the legacy PyTorch format (torch < 1.6), which is not"
                    + " read: load it in Python and save it again as safetensors (transformers:"
                    + " model.save_pretrained(dir, safe_serialization=True))");
        }
        return new CheckpointException(file + ": not a PyTorch checkpoint (torch.save writes a zip archive)");
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public Map<String, TensorEntry> tensors() {
        return tensors;
    }

    @Override
    public ByteBuffer map(TensorEntry entry) {
        Strided view = strided.get(entry.name());
        return view == null ? TensorFile.mapRegion(channel, path, entry, entry.begin(), entry.byteLength())
                : gather(entry, view);
    }

    /** Copies a strided view's elements into row-major order. */
    private ByteBuffer gather(TensorEntry entry, Strided view) {
        int elementBytes = entry.dtype().bytes();
        long[] shape = entry.shape();
        long lastIndex = view.offset();
        for (int d = 0; d < shape.length; d++) {
            lastIndex += Math.max(shape[d] - 1, 0) * view.stride()[d];
        }
        long spanBytes = (lastIndex - view.offset() + 1) * elementBytes;
        ByteBuffer source = TensorFile.mapRegion(channel, path, entry, view.storageStart() + view.offset() * elementBytes,
                spanBytes);
        if (entry.byteLength() > Integer.MAX_VALUE) {
            throw new CheckpointException(path.getFileName() + ": tensor '" + entry.name() + "': "
                    + entry.byteLength() + " bytes is more than the 2 GiB one tensor may hold here");
        }
        ByteBuffer target = ByteBuffer.allocateDirect((int) entry.byteLength()).order(ByteOrder.LITTLE_ENDIAN);
        long count = entry.elementCount();
        long[] index = new long[shape.length];
        byte[] element = new byte[elementBytes];
        for (long n = 0; n < count; n++) {
            long at = 0;
            for (int d = 0; d < shape.length; d++) {
                at += index[d] * view.stride()[d];
            }
            source.get((int) (at * elementBytes), element);
            target.put(element);
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++index[d] < shape[d]) {
                    break;
                }
                index[d] = 0;
            }
        }
        return target.flip();
    }

    @Override
    public void close() {
        TensorFile.closeQuietly(channel);
    }
}
