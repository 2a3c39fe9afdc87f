package io.github.transformerslm.docker;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.web.ServiceClient;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * Builds the project's Dockerfile and talks to the container over HTTP. Runs wherever a Docker engine
 * answers; where none does (this project's build machines), JUnit reports it as skipped with the
 * reason "Docker is not available".
 */
@Tag("integration")
@Testcontainers(disabledWithoutDocker = true)
class DockerImageTest {
    @Container
    static final GenericContainer<?> SERVICE = new GenericContainer<>(
            new ImageFromDockerfile("transformers-lm-test", false)
                    .withFileFromPath(".", Path.of(".").toAbsolutePath().normalize()))
            .withExposedPorts(8080)
            .waitingFor(Wait.forHttp("/actuator/health/readiness").forStatusCode(200)
                    .withStartupTimeout(Duration.ofMinutes(5)));

    @Test
    void containerServesTheBundledModel() {
        ServiceClient client = new ServiceClient("http://" + SERVICE.getHost() + ":" + SERVICE.getMappedPort(8080));
        assertThat(client.get("/actuator/health").json().get("status").asString()).isEqualTo("UP");
        ServiceClient.Response r = client.post("/respond",
                "{\"dialog_contexts\": [[\"hello\"]], \"configs\": [{\"max_new_tokens\": 8, \"num_return_sequences\": 1}]}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().size()).isEqualTo(1);
        assertThat(r.json().get(0).size()).isEqualTo(1);
    }

    @Test
    void serviceRunsOnTheClassDataArchiveTheImageTrained() throws Exception {
        // A JVM that cannot use /app/app.jsa (another JVM, changed jars) starts without it, only slower.
        assertThat(SERVICE.execInContainer("cat", "/proc/1/maps").getStdout()).contains("/app/app.jsa");
    }
}
