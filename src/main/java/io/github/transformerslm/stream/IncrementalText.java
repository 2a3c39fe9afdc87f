package io.github.transformerslm.stream;

import io.github.transformerslm.generation.TextDecoder;
import java.util.Arrays;
import java.util.List;

/**
 * Turns a growing list of tokens into text deltas that are safe to send: never half a UTF-8 character
 * (the decoder shows an incomplete one as U+FFFD), never text that may be the start of a stop string,
 * and never a stop string itself.
 */
public final class IncrementalText {
    private final TextDecoder decoder;
    private final int[] prompt;
    private final List<String> stops;
    private int[] generated = new int[16];
    private int count;
    private int sent;

    public IncrementalText(TextDecoder decoder, int[] prompt, List<String> stops) {
        this.decoder = decoder;
        this.prompt = prompt;
        this.stops = stops;
    }

    /** The new text that {@code token} makes safe to send; often "", sometimes more than one token's worth. */
    public String add(int token) {
        if (count == generated.length) {
            generated = Arrays.copyOf(generated, count * 2);
        }
        generated[count++] = token;
        String full = decoder.generatedText(prompt, Arrays.copyOf(generated, count));
        int safe = full.length();
        while (safe > sent && full.charAt(safe - 1) == '\uFFFD') {
            safe--;
        }
        for (String stop : stops) {
            int at = full.indexOf(stop, Math.max(0, sent - stop.length()));
            if (at >= 0) {
                safe = Math.min(safe, at);
            }
            for (int k = Math.min(stop.length() - 1, safe - sent); k > 0; k--) {
                if (full.regionMatches(safe - k, stop, 0, k)) {
                    safe -= k; // may be the beginning of this stop string: hold it back
                    break;
                }
            }
        }
        if (safe <= sent) {
            return "";
        }
        String delta = full.substring(sent, safe);
        sent = safe;
        return delta;
    }

    /** Whatever of the final text is still unsent. */
    public String finish(String finalText) {
        if (finalText.length() <= sent) {
            return "";
        }
        String rest = finalText.substring(sent);
        sent = finalText.length();
        return rest;
    }
}
