package io.github.transformerslm.generation;

/** Turns generated token ids into text, for stop strings and answers. */
public interface TextDecoder {
    /** The text of {@code generated} as it reads after {@code prompt}, special tokens skipped. */
    String generatedText(int[] prompt, int[] generated);
}
