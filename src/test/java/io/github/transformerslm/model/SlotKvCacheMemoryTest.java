package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.serving.TestEngine;
import io.github.transformerslm.model.nn.Linear;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the continuous-batching cache makes resident where decode attends in Java: the positions sequences
 * wrote, not the reservation its growth doubles to. Counted page by page in the cache's own memory
 * ({@link ResidentPages}), so neither the JIT nor the allocator beside it moves the figure.
 *
 * <p>Each row keeps each head's positions in one run of {@code [columns, headDim]} (the layout is
 * [rows, kvHeads, columns, headDim]), so a run of {@code n} positions touches at most {@code n · headDim · 4}
 * bytes and one page more: the bounds below are the bytes written, and that plus one page per run.
 */
class SlotKvCacheMemoryTest {
    private static final int ROWS = 16;
    private static final int KV_HEADS = 16;
    private static final int HEAD_DIM = 64;
    /** One position of one row: its keys and values, float32. */
    private static final long POSITION_BYTES = 2L * KV_HEADS * HEAD_DIM * 4;

    /** Where the kernel backs all anonymous memory with huge pages, a touched page is 2 MB. */
    private static final long GRANULE = transparentHugePagesAlways() ? 2L << 20 : ResidentPages.PAGE;

    static NDManager manager;

    @BeforeAll
    static void start() {
        manager = TestEngine.startOnThisThread();
        // The same operations on a small cache first: what loading and compiling their code costs, once.
        try (NDManager m = manager.newSubManager();
                SlotKvCache warm = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, 1, 8), 3, 16)) {
            for (int length = 20; length <= 40; length *= 2) {
                admit(m, warm, length, 1, 8);
            }
            admit(m, warm, 5, 1, 8);
            warm.rearrange(new int[] {0, 2});
        }
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    @Test
    void growthMakesResidentOnlyWhatSequencesWrote() {
        assertThat(Linear.vectorKernels()).as("the Java path is the one under test").isTrue();
        try (NDManager m = manager.newSubManager()) {
            long written = 0;
            int sequences = 0;
            try (SlotKvCache slots = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, KV_HEADS, HEAD_DIM), ROWS, 16)) {
                // Each admission doubles the columns once: 16 -> 32 -> ... -> 2048 for 16 rows.
                for (int length = 20; length <= 1280; length *= 2) {
                    admit(m, slots, length, KV_HEADS, HEAD_DIM);
                    written += length * POSITION_BYTES;
                    sequences++;
                }
                assertThat(slots.columns()).isEqualTo(2048);
                long reserved = slots.bytes(); // 256 MB
                long resident = ResidentPages.residentBytes(slots.javaMemory());
                // Copying every old column of every row at each doubling had made half the reservation resident.
                assertThat(resident).as("resident for %d MB written of %d MB reserved", written >> 20, reserved >> 20)
                        .isBetween(written, written + runs(sequences) * GRANULE);
            }
        }
    }

    @Test
    void shortSequencesLeavingBesideALongOneKeepOnlyTheirOwnPositions() {
        try (NDManager m = manager.newSubManager()) {
            try (SlotKvCache slots = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, KV_HEADS, HEAD_DIM), ROWS, 16)) {
                admit(m, slots, 1000, KV_HEADS, HEAD_DIM); // row 0, and 1024 columns
                for (int r = 1; r < ROWS; r++) {
                    admit(m, slots, 20, KV_HEADS, HEAD_DIM);
                }
                long written = (1000 + (ROWS - 1) * 20) * POSITION_BYTES;
                // Row 1 leaves, the rows after it move down one; seven times.
                for (int left = 0; left < 7; left++) {
                    int[] staying = new int[slots.active() - 1];
                    for (int r = 0; r < staying.length; r++) {
                        staying[r] = r == 0 ? 0 : r + 1;
                    }
                    slots.rearrange(staying);
                }
                assertThat(slots.active()).isEqualTo(ROWS - 7);
                assertThat(slots.length(0)).isEqualTo(1000);
                assertThat(slots.length(1)).isEqualTo(20);
                long held = (1000 + (ROWS - 8) * 20) * POSITION_BYTES;
                long resident = ResidentPages.residentBytes(slots.javaMemory());
                // Moving each row's first 1000 columns (the longest row's) had made them resident for every
                // row that moved: 16 rows × 1000 positions, where at most the 16 rows' own positions are now.
                assertThat(resident).as("resident for %d MB held, %d MB ever written", held >> 20, written >> 20)
                        .isBetween(held, written + runs(ROWS) * GRANULE);
            }
        }
    }

    /** Runs of positions {@code rows} rows write: one per row, head, and keys or values. */
    private static long runs(int rows) {
        return 2L * rows * KV_HEADS;
    }

    private static boolean transparentHugePagesAlways() {
        try {
            return Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled")).contains("[always]");
        } catch (IOException e) {
            return false;
        }
    }

    /** Admits one sequence of {@code length} random positions into the next free row. */
    private static void admit(NDManager m, SlotKvCache slots, int length, int kvHeads, int headDim) {
        try (NDManager scratch = m.newSubManager()) {
            SlotKvCacheAttentionTest.admit(scratch, slots, scratch.randomNormal(new Shape(1, kvHeads, length, headDim)), length);
        }
    }

}
