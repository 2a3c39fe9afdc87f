package io.github.transformerslm.chat;

import java.util.List;

/**
 * The text Dream's transformers_lm feeds the model: the prompt on its own line, then the utterances
 * labelled backwards from the last (always the human's), then the bot's label to continue from.
 * For prompt {@code P} and {@code [a, b, c]}: {@code "P\nHuman: a\nAI: b\nHuman: c\nAI:"}.
 */
public final class DialogPrompt {
    private DialogPrompt() {}

    /** Speaker names by LANGUAGE: {bot, human}. */
    public static String[] speakers(String language) {
        return language.equals("RU") ? new String[] {"Assistant", "Human"} : new String[] {"AI", "Human"};
    }

    public static String format(String prompt, List<String> utterances, String language) {
        String[] names = speakers(language);
        StringBuilder text = new StringBuilder();
        if (prompt != null && !prompt.isEmpty()) {
            text.append(prompt).append('\n');
        }
        int n = utterances.size();
        for (int i = 0; i < n; i++) {
            // The last utterance is the human's; speakers alternate going back.
            boolean human = (n - 1 - i) % 2 == 0;
            if (i > 0) {
                text.append('\n');
            }
            text.append(human ? names[1] : names[0]).append(": ").append(utterances.get(i));
        }
        return text.append('\n').append(names[0]).append(':').toString();
    }
}
