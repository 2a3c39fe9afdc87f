package io.github.transformerslm.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.GenerationPlan;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.SequenceListener;
import io.github.transformerslm.generation.ServiceStops;
import io.github.transformerslm.model.GoldenReference;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** SIGTERM's drain: nothing new is taken, what runs finishes, and what outlives DRAIN_TIMEOUT ends with a 503. */
class DrainTest {
    ModelHost host;

    @BeforeEach
    void start() {
        host = ModelLoadWaitTest.host(GoldenReference.directory("gpt2"));
        host.startLoading();
        host.awaitModel(Instant.now().plusSeconds(60));
    }

    @AfterEach
    void stop() {
        host.destroy();
    }

    CompletableFuture<List<GeneratedSequence>> submit(int newTokens) {
        GenerationConfig config = GenerationConfigParser.parse(JsonMapper.builder().build()
                .readTree("{\"max_new_tokens\": " + newTokens + ", \"eos_token_id\": []}"));
        int[] prompt = GoldenReference.of("gpt2").inputIds();
        GenerationPlan plan = GenerationPlan.resolve(config, prompt.length, 1024, host.limits(), ServiceStops.NONE);
        CompletableFuture<List<GeneratedSequence>> f = new CompletableFuture<>();
        host.submit(new GenerationRow(prompt, plan, new SplittableRandom(0)), SequenceListener.completing(f),
                Instant.now().plusSeconds(600));
        return f;
    }

    @Test
    void requestsInFlightFinishAndNewOnesAre503() throws Exception {
        CompletableFuture<List<GeneratedSequence>> running = submit(40);
        ModelHost.DrainReport report = host.drain(Duration.ofSeconds(60));
        assertThat(running.get(1, TimeUnit.SECONDS).get(0).tokens()).hasSize(40);
        assertThat(report.inFlightAtStart()).isEqualTo(1);
        assertThat(report.cutOff()).isZero();
        assertThat(host.state()).isEqualTo(ModelHost.State.DRAINING);
        assertThatThrownBy(() -> submit(2)).isInstanceOf(ModelNotReadyException.class).hasMessageContaining("shutting down");
    }

    @Test
    void aRequestOutlivingTheDrainEndsWithA503NotASilentDrop() {
        CompletableFuture<List<GeneratedSequence>> endless = submit(1000);
        ModelHost.DrainReport report = host.drain(Duration.ofMillis(1));
        assertThat(report.cutOff()).isEqualTo(1);
        assertThat(endless).isCompletedExceptionally();
        assertThatThrownBy(endless::join).hasCauseInstanceOf(ModelNotReadyException.class)
                .hasMessageContaining("DRAIN_TIMEOUT");
    }
}
