package io.github.transformerslm.generation;

import java.util.Arrays;

/** The tokens of one row as generation proceeds: its prompt followed by what has been generated. */
public final class SequenceState {
    private int[] tokens;
    private final int promptLength;
    private int length;

    public SequenceState(int[] prompt, int maxNewTokens) {
        this.tokens = Arrays.copyOf(prompt, prompt.length + Math.max(maxNewTokens, 1));
        this.promptLength = prompt.length;
        this.length = prompt.length;
    }

    private SequenceState(int[] tokens, int promptLength, int length) {
        this.tokens = tokens;
        this.promptLength = promptLength;
        this.length = length;
    }

    /** An independent copy, for a beam that branches. */
    public SequenceState copy() {
        return new SequenceState(tokens.clone(), promptLength, length);
    }

    public void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
    }

    /** Prompt and generated tokens, as transformers' input_ids for this row. */
    public int[] tokens() {
        return tokens;
    }

    public int length() {
        return length;
    }

    public int promptLength() {
        return promptLength;
    }

    public int generatedCount() {
        return length - promptLength;
    }

    public int[] generated() {
        return Arrays.copyOfRange(tokens, promptLength, length);
    }

    public int[] prompt() {
        return Arrays.copyOf(tokens, promptLength);
    }

    public int lastToken() {
        return tokens[length - 1];
    }
}
