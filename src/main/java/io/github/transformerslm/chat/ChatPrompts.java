package io.github.transformerslm.chat;

import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.chat.DialogPrompt;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/**
 * Renders chat messages into the model's prompt: CHAT_TEMPLATE if set, else the model's own template,
 * else Dream's transcript (the system message as the prompt, then Human:/AI: turns, then "AI:").
 */
@Component
public class ChatPrompts {
    /** How a conversation became a prompt. */
    public record Rendered(String text, boolean transcript) {}

    private final ServiceProperties properties;
    private final Map<String, ChatTemplate> compiled = new ConcurrentHashMap<>();

    public ChatPrompts(ServiceProperties properties) {
        this.properties = properties;
    }

    public Rendered render(LoadedModel model, List<Map<String, Object>> messages) {
        String source = properties.chatTemplate() != null ? properties.chatTemplate()
                : model.tokenizer().chatTemplate().orElse(null);
        if (source == null) {
            return new Rendered(transcript(messages, properties.language()), true);
        }
        ChatTemplate template = compiled.computeIfAbsent(source, s -> new ChatTemplate(s,
                model.tokenizer().bosToken().orElse(null), model.tokenizer().eosToken().orElse(null)));
        return new Rendered(template.render(messages, true), false);
    }

    /** Dream's format, labelled by role rather than by alternation. */
    static String transcript(List<Map<String, Object>> messages, String language) {
        String[] names = DialogPrompt.speakers(language);
        StringBuilder text = new StringBuilder();
        for (Map<String, Object> m : messages) {
            String role = String.valueOf(m.get("role"));
            String content = String.valueOf(m.get("content"));
            if (role.equals("system") || role.equals("developer")) {
                text.append(content).append('\n');
            } else {
                text.append(role.equals("assistant") ? names[0] : names[1]).append(": ").append(content).append('\n');
            }
        }
        return text.append(names[0]).append(':').toString();
    }
}
