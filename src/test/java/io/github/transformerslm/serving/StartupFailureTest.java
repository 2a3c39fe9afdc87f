package io.github.transformerslm.serving;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A model the service cannot serve stops the process, with one error line that says why. */
@Tag("integration")
class StartupFailureTest {
    @TempDir
    Path dir;

    @Test
    void aGenerativeConfigThatIsNotJsonStopsTheStartInOneLineWithoutItsContents() throws Exception {
        Files.writeString(dir.resolve("bad.json"), "hunter2 is not json");
        String out = Files.readString(startAndAwaitExit(
                Map.of("GENERATIVE_CONFIGS_DIR", dir.toString(), "GENERATIVE_CONFIG", "bad.json"), List.of()));
        assertThat(out).contains("GENERATIVE_CONFIG 'bad.json'").contains("is not valid JSON at line 1, column")
                .doesNotContain("hunter2").doesNotContain("\tat ");
    }

    @Test
    void unsupportedModelTypeExitsWithOneLineListingTheSupportedOnes() throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"t5\"}");
        List<String> errors = Files.readAllLines(startAndAwaitExit(Map.of("PRETRAINED_MODEL_NAME_OR_PATH", dir.toString()),
                List.of())).stream().filter(l -> l.contains("ERROR")).toList();
        assertThat(errors).hasSize(1);
        assertThat(errors.get(0)).contains("Cannot serve the model").contains("'t5'").contains("gpt2").contains("llama");
    }

    @Test
    void anUnknownQuantizationStopsTheStartNamingTheVariable() throws Exception {
        assertThat(Files.readString(startAndAwaitExit(Map.of("QUANTIZE", "int3"), List.of())))
                .contains("QUANTIZE must be int8, int4 or none, got int3").doesNotContain("\tat ");
    }

    @Test
    void quantizationWithoutTheVectorKernelsStopsTheStartSayingWhy() throws Exception {
        List<String> errors = Files.readAllLines(startAndAwaitExit(Map.of("QUANTIZE", "int4"),
                List.of("-Dlm.vectorKernels.disabled=true"))).stream().filter(l -> l.contains("ERROR")).toList();
        assertThat(errors).hasSize(1);
        assertThat(errors.get(0)).contains("QUANTIZE=int4 needs the vector kernels");
    }

    /**
     * Starts the service in a JVM of its own with {@code environment} (on port 0), waits for it to exit by
     * itself, checks that it exited with 1, and returns the file with everything it printed.
     */
    private Path startAndAwaitExit(Map<String, String> environment, List<String> jvmOptions) throws Exception {
        Path log = Files.createTempFile(dir, "service", ".log");
        List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.github.transformerslm.Application"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(environment);
        pb.environment().put("SERVICE_PORT", "0");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the process ends by itself").isTrue();
        assertThat(p.exitValue()).isEqualTo(1);
        return log;
    }
}
