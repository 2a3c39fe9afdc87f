package io.github.transformerslm.launch;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.web.ServiceClient;
import java.io.File;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The built jar started the way Spring Boot users start it, {@code java -jar}, with no JVM flags and no
 * OMP_WAIT_POLICY: it must decode with the vector kernels, serve, and stop cleanly on SIGTERM.
 */
@Tag("integration")
class PlainJavaJarIT {
    @Test
    void plainJavaJarDecodesWithTheVectorKernelsAndStopsOnSigterm() throws Exception {
        Path jar;
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            jar = files.filter(p -> p.getFileName().toString().matches("transformers-lm-.*\\.jar")).findFirst().orElseThrow();
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path log = Files.createTempFile("plain-jar", ".log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-jar", jar.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().remove("OMP_WAIT_POLICY");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().put("SERVICE_PORT", String.valueOf(port));
        pb.environment().put("TORCH_THREADS", "1");
        Process parent = pb.start();
        try {
            ServiceClient client = new ServiceClient("http://localhost:" + port);
            client.awaitReady(Duration.ofSeconds(120));
            assertThat(Files.readString(log)).contains("decode_kernels=vector").doesNotContain("decode_kernels=libtorch");
            ServiceClient.Response r = client.post("/generate",
                    "{\"inputs\": \"Once upon a time\", \"parameters\": {\"max_new_tokens\": 5}}");
            assertThat(r.status()).isEqualTo(200);
            List<ProcessHandle> children = parent.descendants().toList();
            assertThat(children).as("the JVM started with the module").isNotEmpty();
            parent.destroy();
            assertThat(parent.waitFor(60, TimeUnit.SECONDS)).isTrue();
            for (ProcessHandle child : children) {
                child.onExit().get(30, TimeUnit.SECONDS);
                assertThat(child.isAlive()).isFalse();
            }
        } finally {
            parent.descendants().forEach(ProcessHandle::destroyForcibly);
            parent.destroyForcibly();
            Files.deleteIfExists(log);
        }
    }
}
