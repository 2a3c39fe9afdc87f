package io.github.transformerslm.respond;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Dream's ruXGLM replacement: newlines become </s> for the model and come back in its answer. */
class ReplacementTest {
    static final List<List<String>> RUXGLM = List.of(List.of("\n", "</s>"));

    @Test
    void replacesOnTheWayInAndReversesOnTheWayOut() {
        assertThat(Replacement.toModel("P\nHuman: hi\nAssistant:", RUXGLM)).isEqualTo("P</s>Human: hi</s>Assistant:");
        assertThat(Replacement.fromModel(" Привет!</s> Как дела?", RUXGLM)).isEqualTo(" Привет!\nКак дела?");
        assertThat(Replacement.toModel("a\nb", null)).isEqualTo("a\nb");
    }
}
