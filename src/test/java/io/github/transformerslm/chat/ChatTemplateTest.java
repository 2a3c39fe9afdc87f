package io.github.transformerslm.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.transformerslm.chat.ConversationRejectedException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Qwen3's real chat template renders byte for byte what transformers' apply_chat_template renders. */
class ChatTemplateTest {
    static final JsonMapper JSON = JsonMapper.builder().build();

    static ChatTemplate qwen3() {
        JsonNode config = JSON.readTree(Path.of("src/test/resources/tokenizers/qwen3/tokenizer_config.json").toFile());
        return new ChatTemplate(config.get("chat_template").asString(), null, config.get("eos_token").asString());
    }

    @Test
    void qwen3GoldenRendersByteForByte() {
        ChatTemplate template = qwen3();
        JsonNode golden = JSON.readTree(Path.of("src/test/resources/tokenizers/qwen3/chat_template_golden.json").toFile());
        assertThat(golden.get("cases").size()).isGreaterThan(0);
        for (JsonNode c : golden.get("cases")) {
            List<Map<String, Object>> messages = JSON.convertValue(c.get("messages"), new TypeReference<>() {});
            assertThat(template.render(messages, c.get("add_generation_prompt").booleanValue()))
                    .as(c.get("name").asString()).isEqualTo(c.get("rendered").asString());
        }
    }

    @Test
    void qwen3ThinkingBranchUsesPythonStringMethods() {
        // After the last user turn, an assistant message with <think> is split into reasoning and answer.
        String out = qwen3().render(List.of(Map.of("role", "user", "content", "hi"),
                Map.of("role", "assistant", "content", "<think>\nhmm\n</think>\n\nhello")), false);
        assertThat(out).isEqualTo("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\nhmm\n</think>\n\nhello<|im_end|>\n");
    }

    @Test
    void raiseExceptionBecomesABadRequestNamingMessages() {
        ChatTemplate strict = new ChatTemplate("{% if messages[0].role != 'user' %}{{ raise_exception('first must be user') }}{% endif %}ok",
                null, null);
        assertThat(strict.render(List.of(Map.of("role", "user", "content", "x")), true)).isEqualTo("ok");
        assertThatThrownBy(() -> strict.render(List.of(Map.of("role", "system", "content", "x")), true))
                .isInstanceOf(ConversationRejectedException.class).hasMessage("first must be user");
    }
}
