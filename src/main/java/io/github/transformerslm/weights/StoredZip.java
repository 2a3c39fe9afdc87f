package io.github.transformerslm.weights;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The central directory of a zip archive whose entries are stored uncompressed, as {@code torch.save}
 * writes them: for each entry, where its bytes begin in the file, so that they can be memory-mapped.
 * {@link java.util.zip.ZipFile} does not say where an entry's data lies, hence this small reader.
 * ZIP64 records (archives or entries over 4 GiB) are followed.
 */
final class StoredZip {
    private static final int EOCD = 0x06054b50;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final int ZIP64_EOCD = 0x06064b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int LOCAL = 0x04034b50;
    private static final int MAX_COMMENT = 0xFFFF;

    /** One entry: its compression method, stored size, and where its data begins. */
    record Entry(String name, int method, long size, long dataOffset) {}

    private StoredZip() {}

    static boolean looksLikeZip(FileChannel channel) throws IOException {
        ByteBuffer magic = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        channel.read(magic, 0);
        return magic.position() == 4 && magic.getInt(0) == LOCAL;
    }

    static Map<String, Entry> entries(FileChannel channel, String file) throws IOException {
        long size = channel.size();
        int tailLength = (int) Math.min(size, 22 + MAX_COMMENT);
        ByteBuffer tail = read(channel, size - tailLength, tailLength);
        int eocd = -1;
        for (int i = tailLength - 22; i >= 0; i--) {
            if (tail.getInt(i) == EOCD) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) {
            throw new CheckpointException(file + ": not a complete zip archive (no end of central directory): truncated?");
        }
        long count = tail.getShort(eocd + 10) & 0xFFFFL;
        long directorySize = tail.getInt(eocd + 12) & 0xFFFFFFFFL;
        long directoryOffset = tail.getInt(eocd + 16) & 0xFFFFFFFFL;
        long eocdPosition = size - tailLength + eocd;
        if (eocdPosition >= 20) {
            ByteBuffer locator = read(channel, eocdPosition - 20, 20);
            if (locator.getInt(0) == ZIP64_LOCATOR) {
                long zip64Position = locator.getLong(8);
                if (zip64Position < 0 || zip64Position > size - 56) {
                    throw new CheckpointException(file + ": corrupt zip64 end record");
                }
                ByteBuffer zip64 = read(channel, zip64Position, 56);
                if (zip64.getInt(0) != ZIP64_EOCD) {
                    throw new CheckpointException(file + ": corrupt zip64 end record");
                }
                count = zip64.getLong(32);
                directorySize = zip64.getLong(40);
                directoryOffset = zip64.getLong(48);
            }
        }
        if (directoryOffset < 0 || directorySize < 0 || directorySize > Integer.MAX_VALUE
                || directoryOffset + directorySize > size || count < 0 || count > directorySize / 46) {
            throw new CheckpointException(file + ": corrupt zip central directory");
        }
        ByteBuffer directory = read(channel, directoryOffset, (int) directorySize);
        Map<String, Entry> entries = new LinkedHashMap<>();
        int at = 0;
        for (long n = 0; n < count; n++) {
            if (at + 46 > directory.limit() || directory.getInt(at) != CENTRAL) {
                throw new CheckpointException(file + ": corrupt zip central directory entry " + n);
            }
            int method = directory.getShort(at + 10) & 0xFFFF;
            long compressed = directory.getInt(at + 20) & 0xFFFFFFFFL;
            long uncompressed = directory.getInt(at + 24) & 0xFFFFFFFFL;
            int nameLength = directory.getShort(at + 28) & 0xFFFF;
            int extraLength = directory.getShort(at + 30) & 0xFFFF;
            int commentLength = directory.getShort(at + 32) & 0xFFFF;
            long localOffset = directory.getInt(at + 42) & 0xFFFFFFFFL;
            if (at + 46 + nameLength + extraLength + commentLength > directory.limit()) {
                throw new CheckpointException(file + ": corrupt zip central directory entry " + n);
            }
            byte[] nameBytes = new byte[nameLength];
            directory.get(at + 46, nameBytes);
            String name = new String(nameBytes, StandardCharsets.UTF_8);
            // ZIP64 extra field: the 64-bit values, in this order, for each 32-bit field that is all ones.
            int extra = at + 46 + nameLength;
            int extraEnd = extra + extraLength;
            while (extra + 4 <= extraEnd) {
                int id = directory.getShort(extra) & 0xFFFF;
                int length = directory.getShort(extra + 2) & 0xFFFF;
                if (id == 0x0001) {
                    int p = extra + 4;
                    if (uncompressed == 0xFFFFFFFFL && p + 8 <= extraEnd) {
                        uncompressed = directory.getLong(p);
                        p += 8;
                    }
                    if (compressed == 0xFFFFFFFFL && p + 8 <= extraEnd) {
                        compressed = directory.getLong(p);
                        p += 8;
                    }
                    if (localOffset == 0xFFFFFFFFL && p + 8 <= extraEnd) {
                        localOffset = directory.getLong(p);
                    }
                }
                extra += 4 + length;
            }
            if (localOffset < 0 || localOffset > size - 30) {
                throw new CheckpointException(file + ": zip entry " + name + " lies outside the file");
            }
            ByteBuffer local = read(channel, localOffset, 30);
            if (local.getInt(0) != LOCAL) {
                throw new CheckpointException(file + ": zip entry " + name + " has no local header");
            }
            long dataOffset = localOffset + 30 + (local.getShort(26) & 0xFFFF) + (local.getShort(28) & 0xFFFF);
            if (compressed < 0 || dataOffset + compressed > size) {
                throw new CheckpointException(file + ": zip entry " + name + " is truncated");
            }
            entries.put(name, new Entry(name, method, compressed, dataOffset));
            at += 46 + nameLength + extraLength + commentLength;
        }
        return entries;
    }

    static ByteBuffer read(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("unexpected end of file at byte " + (position + buffer.position()));
            }
        }
        return buffer.flip();
    }
}
