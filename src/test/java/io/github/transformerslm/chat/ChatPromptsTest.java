package io.github.transformerslm.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Without a chat template, a conversation becomes Dream's transcript, labelled by role. */
class ChatPromptsTest {
    @Test
    void transcriptPutsTheSystemMessageFirstAndEndsWithTheBotsLabel() {
        List<Map<String, Object>> messages = List.of(Map.of("role", "system", "content", "Be kind."),
                Map.of("role", "user", "content", "Hi"), Map.of("role", "assistant", "content", "Hello!"),
                Map.of("role", "user", "content", "How are you?"));
        assertThat(ChatPrompts.transcript(messages, "EN"))
                .isEqualTo("Be kind.\nHuman: Hi\nAI: Hello!\nHuman: How are you?\nAI:");
        assertThat(ChatPrompts.transcript(List.of(Map.of("role", "user", "content", "Привет")), "RU"))
                .isEqualTo("Human: Привет\nAssistant:");
    }
}
