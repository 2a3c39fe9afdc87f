package io.github.transformerslm.runtime;

import com.sun.jna.Function;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Takes the code pages of libtorch's libraries out of the process's resident set right after the engine has
 * started; those the load, the warm-up and serving run come back from the page cache at their first use.
 *
 * <p>Why: when the engine loads, libtorch's static initialisers register libtorch's operators with their
 * kernels, code spread over the whole of {@code libtorch_cpu.so}, and Linux maps pages around each one
 * touched (fault-around): tens of MB of the library become resident, of which serving runs a fraction.
 * Released when ready instead, the first burst had to fault the serving code back in, so it is done before
 * the load. docs/memory.md has the figures.
 *
 * <p>How: {@code madvise(MADV_DONTNEED)} on each executable mapping of a {@code libtorch*} file that holds
 * no private (written) page. Such a mapping is a read-only view of the file, so dropping its pages loses
 * nothing: a later access reads them again, a minor fault when the file is in the page cache. A mapping
 * with private pages (code patched at relocation) is left alone, as dropping those would lose the patch.
 * Linux only; elsewhere, or where the call fails, nothing changes. RELEASE_LIBTORCH_CODE=0 turns it off.
 */
public final class LibtorchCodePages {
    private LibtorchCodePages() {}

    private static final int MADV_DONTNEED = 4;

    /** One mapping of /proc/self/smaps: its address range and its resident and private (written) sizes. */
    public record Mapping(long start, long end, String permissions, String path, long residentKb, long privateKb) {
        boolean droppableLibtorchCode() {
            return permissions.equals("r-xp") && Path.of(path).getFileName().toString().startsWith("libtorch")
                    && privateKb == 0;
        }
    }

    /** What a release did: resident kB of the mappings before and after. */
    public record Released(int mappings, long residentKbBefore, long residentKbAfter) {
        @Override
        public String toString() {
            return String.format("libtorch's code pages released after its start: %d MB resident before, %d MB after",
                    residentKbBefore >> 10, residentKbAfter >> 10);
        }
    }

    /** Resident kB of libtorch's executable mappings now. */
    public static long residentKb() {
        return libtorchCode().stream().mapToLong(Mapping::residentKb).sum();
    }

    /** Drops the pages; empty where there was nothing to drop or this is not Linux. */
    public static Optional<Released> release() {
        List<Mapping> code = libtorchCode();
        if (code.isEmpty()) {
            return Optional.empty();
        }
        try {
            Function madvise = Function.getFunction("c", "madvise");
            for (Mapping m : code) {
                int result = madvise.invokeInt(new Object[] {new Pointer(m.start()), new NativeLong(m.end() - m.start()), MADV_DONTNEED});
                if (result != 0) {
                    return Optional.empty();
                }
            }
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return Optional.empty(); // no libc to call (not Linux) or JNA unusable
        }
        long before = code.stream().mapToLong(Mapping::residentKb).sum();
        long after = residentKb();
        return Optional.of(new Released(code.size(), before, after));
    }

    /** The droppable executable mappings of libtorch's libraries, as /proc/self/smaps lists them now. */
    public static List<Mapping> libtorchCode() {
        return mappings().stream().filter(Mapping::droppableLibtorchCode).toList();
    }

    static List<Mapping> mappings() {
        Path smaps = Path.of("/proc/self/smaps");
        if (!Files.isReadable(smaps)) {
            return List.of();
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(smaps);
        } catch (IOException e) {
            return List.of();
        }
        return parse(lines);
    }

    /** smaps: a header line per mapping ("start-end perms offset dev inode [path]"), then "Field: N kB" lines. */
    static List<Mapping> parse(List<String> lines) {
        List<Mapping> mappings = new ArrayList<>();
        String[] header = null;
        long resident = 0;
        long privatePages = 0;
        for (String line : lines) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length >= 5 && fields[0].matches("[0-9a-f]+-[0-9a-f]+")) {
                add(mappings, header, resident, privatePages);
                header = fields;
                resident = 0;
                privatePages = 0;
            } else if (fields.length >= 2 && fields[0].equals("Rss:")) {
                resident = Long.parseLong(fields[1]);
            } else if (fields.length >= 2 && (fields[0].equals("Private_Dirty:") || fields[0].equals("Anonymous:"))) {
                privatePages += Long.parseLong(fields[1]);
            }
        }
        add(mappings, header, resident, privatePages);
        return mappings;
    }

    private static void add(List<Mapping> mappings, String[] header, long resident, long privatePages) {
        if (header == null || header.length < 6) {
            return; // anonymous: no path
        }
        String[] range = header[0].split("-");
        mappings.add(new Mapping(Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16), header[1],
                header[5], resident, privatePages));
    }
}
