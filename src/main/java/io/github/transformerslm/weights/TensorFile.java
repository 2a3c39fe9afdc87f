package io.github.transformerslm.weights;

import java.io.IOException;
import java.io.UncheckedIOException;
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

    static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing to recover: the file was only read
        }
    }
}
