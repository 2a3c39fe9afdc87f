package io.github.transformerslm.generation;

import java.util.List;

/**
 * Finds stop strings in generated text. Text is matched after decoding, so a stop string that a token
 * boundary cuts in two still stops the sequence.
 */
final class StopStrings {
    private final List<String> stops;
    private final int longest;

    StopStrings(List<String> stops) {
        this.stops = stops;
        this.longest = stops.stream().mapToInt(String::length).max().orElse(0);
    }

    boolean isEmpty() {
        return stops.isEmpty();
    }

    /** The earliest match at or after {@code from - longest}, as {index, stop number}, or null. */
    int[] find(String text, int from) {
        int start = Math.max(0, from - longest);
        int bestIndex = -1;
        int bestStop = -1;
        for (int i = 0; i < stops.size(); i++) {
            int at = text.indexOf(stops.get(i), start);
            if (at >= 0 && (bestIndex < 0 || at < bestIndex)) {
                bestIndex = at;
                bestStop = i;
            }
        }
        return bestIndex < 0 ? null : new int[] {bestIndex, bestStop};
    }

    String get(int i) {
        return stops.get(i);
    }
}
