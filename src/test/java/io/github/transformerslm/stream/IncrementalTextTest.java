package io.github.transformerslm.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.generation.TextDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Stream deltas: whole UTF-8 characters only, and nothing that may start a stop string. */
class IncrementalTextTest {
    /** A byte-level "tokenizer": token i is byte i; incomplete UTF-8 decodes to U+FFFD, as real tokenizers do. */
    static final TextDecoder BYTES = (prompt, generated) -> {
        byte[] b = new byte[generated.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) generated[i];
        }
        return new String(b, StandardCharsets.UTF_8);
    };

    static List<String> stream(String text, List<String> stops) {
        IncrementalText inc = new IncrementalText(BYTES, new int[0], stops);
        List<String> deltas = new ArrayList<>();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            deltas.add(inc.add(b & 0xFF));
        }
        return deltas;
    }

    @Test
    void aMultiByteCharacterSplitAcrossTokensIsSentWhole() {
        List<String> deltas = stream("a€", List.of()); // € is three bytes
        assertThat(deltas).containsExactly("a", "", "", "€");
    }

    @Test
    void textThatMayStartAStopStringIsHeldUntilItCannot() {
        List<String> deltas = stream("ab\nHx", List.of("\nHuman:"));
        // "\n" and "\nH" could begin "\nHuman:"; "\nHx" cannot, so it is released whole.
        assertThat(deltas).containsExactly("a", "b", "", "", "\nHx");
    }

    @Test
    void aCompletedStopStringIsNeverSentAndFinishSendsTheRest() {
        IncrementalText inc = new IncrementalText(BYTES, new int[0], List.of("END"));
        StringBuilder sent = new StringBuilder();
        for (byte b : "okEND".getBytes(StandardCharsets.UTF_8)) {
            sent.append(inc.add(b));
        }
        assertThat(sent.toString()).isEqualTo("ok");
        assertThat(inc.finish("ok")).isEmpty();
        IncrementalText held = new IncrementalText(BYTES, new int[0], List.of("END"));
        held.add('o');
        held.add('E');
        assertThat(held.finish("oE")).isEqualTo("E"); // the sequence ended for another reason: release it
    }
}
