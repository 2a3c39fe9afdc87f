package io.github.transformerslm.engine;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
        Path log = dir.resolve("config.log");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.github.transformerslm.Application")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("GENERATIVE_CONFIGS_DIR", dir.toString());
        pb.environment().put("GENERATIVE_CONFIG", "bad.json");
        pb.environment().put("SERVICE_PORT", "0");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the process ends by itself").isTrue();
        assertThat(p.exitValue()).isEqualTo(1);
        String out = Files.readString(log);
        assertThat(out).contains("GENERATIVE_CONFIG 'bad.json'").contains("is not valid JSON at line 1, column")
                .doesNotContain("hunter2").doesNotContain("\tat ");
    }

    @Test
    void unsupportedModelTypeExitsWithOneLineListingTheSupportedOnes() throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"t5\"}");
        Path log = dir.resolve("out.log");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.github.transformerslm.Application")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("PRETRAINED_MODEL_NAME_OR_PATH", dir.toString());
        pb.environment().put("SERVICE_PORT", "0");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the process ends by itself").isTrue();
        assertThat(p.exitValue()).isEqualTo(1);
        List<String> errors = Files.readAllLines(log).stream().filter(l -> l.contains("ERROR")).toList();
        assertThat(errors).hasSize(1);
        assertThat(errors.get(0)).contains("Cannot serve the model").contains("'t5'").contains("gpt2").contains("llama");
    }

    @Test
    void anUnknownQuantizationStopsTheStartNamingTheVariable() throws Exception {
        Path log = dir.resolve("quantize.log");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.github.transformerslm.Application")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("QUANTIZE", "int3");
        pb.environment().put("SERVICE_PORT", "0");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the process ends by itself").isTrue();
        assertThat(p.exitValue()).isEqualTo(1);
        assertThat(Files.readString(log)).contains("QUANTIZE must be int8, int4 or none, got int3").doesNotContain("\tat ");
    }

    @Test
    void quantizationWithoutTheVectorKernelsStopsTheStartSayingWhy() throws Exception {
        Path log = dir.resolve("kernels.log");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dlm.vectorKernels.disabled=true", "-cp", System.getProperty("java.class.path"),
                "io.github.transformerslm.Application").redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("QUANTIZE", "int4");
        pb.environment().put("SERVICE_PORT", "0");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the process ends by itself").isTrue();
        assertThat(p.exitValue()).isEqualTo(1);
        List<String> errors = Files.readAllLines(log).stream().filter(l -> l.contains("ERROR")).toList();
        assertThat(errors).hasSize(1);
        assertThat(errors.get(0)).contains("QUANTIZE=int4 needs the vector kernels");
    }
}
