package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.engine.TorchRuntime;
import io.github.transformerslm.model.nn.Linear;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the continuous-batching cache makes resident where decode attends in Java: the positions sequences
 * wrote, not the reservation its growth doubles to (process memory from /proc/self/status; Linux).
 */
class SlotKvCacheMemoryTest {
    private static final int ROWS = 16;
    private static final int KV_HEADS = 16;
    private static final int HEAD_DIM = 64;
    /** One position of one row: its keys and values, float32. */
    private static final long POSITION_BYTES = 2L * KV_HEADS * HEAD_DIM * 4;

    static NDManager manager;

    @BeforeAll
    static void start() {
        TorchRuntime.start(1);
        TorchRuntime.prepareInferenceThread();
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    @Test
    void growthMakesResidentOnlyWhatSequencesWrote() throws IOException {
        assertThat(Linear.vectorKernels()).as("the Java path is the one under test").isTrue();
        try (NDManager m = manager.newSubManager()) {
            // The same admissions into a small cache first: what loading and compiling their code costs once.
            try (SlotKvCache warm = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, 1, 8), 2, 16)) {
                for (int length = 20; length <= 40; length *= 2) {
                    admit(m, warm, length, 1, 8);
                }
            }
            long before = residentBytes();
            long written = 0;
            try (SlotKvCache slots = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, KV_HEADS, HEAD_DIM), ROWS, 16)) {
                // Each admission doubles the columns once: 16 -> 32 -> ... -> 2048 for 16 rows.
                for (int length = 20; length <= 1280; length *= 2) {
                    admit(m, slots, length, KV_HEADS, HEAD_DIM);
                    written += length * POSITION_BYTES;
                }
                assertThat(slots.columns()).isEqualTo(2048);
                long reserved = slots.bytes(); // 256 MB
                long grown = residentBytes() - before;
                // Copying every old column of every row at each doubling had made half the final reservation
                // resident besides (measured: 153 MB for the 19 MB the seven sequences wrote; 40-41 MB now,
                // glibc keeping some of the admissions' freed temporaries).
                assertThat(grown).as("resident growth for %d MB written of %d MB reserved", written >> 20, reserved >> 20)
                        .isLessThan(written + (48L << 20));
            }
        }
    }

    /** Admits one sequence of {@code length} random positions into the next free row. */
    private static void admit(NDManager m, SlotKvCache slots, int length, int kvHeads, int headDim) {
        try (NDManager scratch = m.newSubManager();
                KvCache prefill = new KvCache(scratch, 1, 1, kvHeads, length, headDim)) {
            NDArray kv = scratch.randomNormal(new Shape(1, kvHeads, length, headDim));
            prefill.append(0, kv, kv);
            prefill.advance(length);
            slots.admit(prefill, 0, 0, length);
        }
    }

    private static long residentBytes() throws IOException {
        Matcher rss = Pattern.compile("(?m)^VmRSS:\\s+(\\d+) kB").matcher(Files.readString(Path.of("/proc/self/status")));
        assertThat(rss.find()).as("VmRSS in /proc/self/status").isTrue();
        return Long.parseLong(rss.group(1)) * 1024;
    }
}
