package io.github.transformerslm.weights;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/** One file of a checkpoint: the tensors it holds, and their bytes, little-endian and read-only. */
interface TensorFile extends AutoCloseable {
    Path path();

    Map<String, TensorEntry> tensors();

    ByteBuffer map(TensorEntry entry);

    @Override
    void close();

    /** Reads a file's index from its channel; an {@link IOException} there is a {@link CheckpointException}. */
    @FunctionalInterface
    interface Parser<T> {
        T parse(Path path, FileChannel channel) throws IOException;
    }

    /** Opens {@code path} and parses it, closing the channel if parsing fails. */
    static <T> T open(Path path, Parser<T> parser) {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot open: " + e.getMessage(), e);
        }
        try {
            return parser.parse(path, channel);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new CheckpointException(path.getFileName() + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /**
     * Maps {@code length} bytes of {@code entry} at {@code position}, little-endian and read-only (writing
     * through the mapping would crash the JVM, so weights are never mutated in place).
     */
    static ByteBuffer mapRegion(FileChannel channel, Path path, TensorEntry entry, long position, long length) {
        if (length > Integer.MAX_VALUE) {
            // One mapping (and one direct buffer) holds at most 2 GiB on Java 17.
            throw new CheckpointException(path.getFileName() + ": tensor '" + entry.name() + "': " + length
                    + " bytes is more than the 2 GiB one tensor may hold here");
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, position, length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new CheckpointException(path.getFileName() + ": tensor '" + entry.name() + "': cannot map: "
                    + e.getMessage(), e);
        }
    }

    static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing to recover: the file was only read
        }
    }
}
