package io.github.transformerslm.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.transformerslm.config.TestServiceProperties;
import io.github.transformerslm.model.GoldenReference;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A request that arrives while the model loads waits for it, until loading ends or its deadline passes. */
class ModelLoadWaitTest {
    static ModelHost host(Path model) {
        return new ModelHost(TestServiceProperties.of(Map.of("model", model.toString(), "exit-on-load-failure", "false",
                "release-libtorch-code", "false")), new SimpleMeterRegistry());
    }

    @Test
    void aRequestDuringTheLoadGetsTheModelOnceItIsReady() {
        ModelHost host = host(GoldenReference.directory("gpt2"));
        try {
            host.startLoading();
            assertThat(host.state()).isEqualTo(ModelHost.State.LOADING);
            assertThatThrownBy(host::model).isInstanceOf(ModelNotReadyException.class);
            LoadedModel model = host.awaitModel(Instant.now().plusSeconds(60));
            assertThat(model).isNotNull();
            assertThat(host.state()).isEqualTo(ModelHost.State.READY);
        } finally {
            host.destroy();
        }
    }

    @Test
    void aFailedLoadEndsTheWaitAtOnceAndADeadlineThatPassesFirstIsA503(@TempDir Path empty) {
        ModelHost failing = host(empty);
        try {
            failing.startLoading();
            long start = System.nanoTime();
            assertThatThrownBy(() -> failing.awaitModel(Instant.now().plusSeconds(60)))
                    .isInstanceOf(ModelNotReadyException.class).hasMessageContaining("failed to load");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(50));
        } finally {
            failing.destroy();
        }
        ModelHost loading = host(GoldenReference.directory("gpt2"));
        try {
            loading.startLoading();
            assertThatThrownBy(() -> loading.awaitModel(Instant.now().minusMillis(1)))
                    .isInstanceOf(ModelNotReadyException.class).hasMessageContaining("before the request's deadline");
        } finally {
            loading.destroy();
        }
    }
}
