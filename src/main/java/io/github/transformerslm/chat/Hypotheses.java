package io.github.transformerslm.chat;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Dream's post-processing of a generated continuation: cut at the first speaker marker (the model
 * starting the next turn, Dream's GENERATIVE_ROBOT_TEMPLATE plus the Russian bot name), trim, and give
 * up on anything shorter than two characters.
 */
public final class Hypotheses {
    private static final Pattern SPEAKER_MARKER = Pattern.compile(
            "(AI:|Robot:|ROBOT:|Computer:|COMPUTER:|User:|USER:|Speaker:|SPEAKER:|Human:|HUMAN:|Assistant:|ASSISTANT:)");

    private Hypotheses() {}

    public static String extract(String generated) {
        String trimmed = cutAtSpeaker(generated);
        return trimmed.length() >= 2 ? trimmed : "";
    }

    /** The text before the first speaker marker, trimmed. */
    public static String cutAtSpeaker(String generated) {
        Matcher m = SPEAKER_MARKER.matcher(generated);
        return (m.find() ? generated.substring(0, m.start()) : generated).strip();
    }
}
