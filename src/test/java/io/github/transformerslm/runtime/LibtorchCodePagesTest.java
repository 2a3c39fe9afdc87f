package io.github.transformerslm.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.model.nn.Norms;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** libtorch's start-up code leaves the resident set, and the engine computes the same afterwards. */
class LibtorchCodePagesTest {

    @Test
    @EnabledOnOs(OS.LINUX)
    void dropsLibtorchsCodeFromTheResidentSetAndTheEngineStillComputes() {
        TorchRuntime.start(1);
        try (NDManager manager = NDManager.newBaseManager()) {
            float[] before = compute(manager);

            LibtorchCodePages.Released released = LibtorchCodePages.release().orElseThrow();

            // libtorch_cpu.so alone had 47-58 MB resident after its start in the service.
            assertThat(released.residentKbBefore()).as("resident code before, kB").isGreaterThan(10 * 1024);
            assertThat(released.residentKbAfter()).as("resident code right after, kB")
                    .isLessThan(released.residentKbBefore() / 4);
            assertThat(compute(manager)).as("a layer norm and a product after the pages were dropped").isEqualTo(before);
            long back = LibtorchCodePages.libtorchCode().stream().mapToLong(LibtorchCodePages.Mapping::residentKb).sum();
            assertThat(back).as("the pages those operations ran came back").isGreaterThan(released.residentKbAfter());
        }
    }

    private static float[] compute(NDManager manager) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray x = scope.arange(0f, 96f).reshape(new Shape(4, 24)).div(7f).sin();
            NDArray normed = Norms.layerNorm(x, scope.ones(new Shape(24)), scope.zeros(new Shape(24)), 1e-5f);
            return normed.matMul(x.transpose()).toFloatArray();
        }
    }

    @Test
    void onlyUnwrittenExecutableMappingsOfLibtorchAreDropped() {
        List<String> smaps = List.of(
                "7f735ba00000-7f73703bc000 r-xp 00200000 fe:00 12 /cache/pytorch/libtorch_cpu.so",
                "Rss:               58000 kB",
                "Private_Dirty:         0 kB",
                "Anonymous:             0 kB",
                "7f73703bc000-7f7370617000 r--p 14bbc000 fe:00 12 /cache/pytorch/libtorch_cpu.so",
                "Rss:                2412 kB",
                "Anonymous:          2412 kB",
                "7f7380000000-7f7380100000 r-xp 00000000 fe:00 13 /cache/pytorch/libtorch_patched.so",
                "Rss:                1024 kB",
                "Private_Dirty:        16 kB",
                "7f73d7451000-7f73d81a4000 r-xp 00251000 fe:00 14 /usr/lib/jvm/lib/server/libjvm.so",
                "Rss:               14000 kB",
                "Private_Dirty:         0 kB",
                "7f73e0000000-7f73e1000000 rw-p 00000000 00:00 0",
                "Rss:                4096 kB");

        List<LibtorchCodePages.Mapping> mappings = LibtorchCodePages.parse(smaps);

        assertThat(mappings).hasSize(4); // the anonymous one has no file
        assertThat(mappings.stream().filter(LibtorchCodePages.Mapping::droppableLibtorchCode).toList())
                .singleElement()
                .satisfies(m -> {
                    assertThat(m.start()).isEqualTo(0x7f735ba00000L);
                    assertThat(m.end()).isEqualTo(0x7f73703bc000L);
                    assertThat(m.residentKb()).isEqualTo(58000);
                });
    }
}
