package io.github.transformerslm.respond;

import java.util.List;

/**
 * Dream's {@code replacement} pairs: each pattern is replaced in the model's input (ruXGLM was trained
 * with {@code </s>} for newlines), and the replacement turned back into the pattern in its output, as
 * Dream's add_replacement_tokens / remove_replacement_tokens do.
 */
final class Replacement {
    private Replacement() {}

    static String toModel(String text, List<List<String>> pairs) {
        if (pairs == null) {
            return text;
        }
        for (List<String> pair : pairs) {
            text = text.replace(pair.get(0), pair.get(1));
        }
        return text;
    }

    static String fromModel(String text, List<List<String>> pairs) {
        if (pairs == null || pairs.isEmpty()) {
            return text;
        }
        for (List<String> pair : pairs) {
            text = text.replace(pair.get(1), pair.get(0));
        }
        return text.replace("\n ", "\n");
    }
}
