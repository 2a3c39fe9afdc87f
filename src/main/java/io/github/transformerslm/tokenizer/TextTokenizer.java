package io.github.transformerslm.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.github.transformerslm.generation.TextDecoder;
import io.github.transformerslm.weights.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The model's Hugging Face tokenizer ({@code tokenizer.json}) with the special tokens named in
 * {@code tokenizer_config.json}. Truncation is off: the service decides what to cut, never the
 * tokenizer's default of 512 tokens.
 */
public final class TextTokenizer implements TextDecoder, AutoCloseable {
    /** Prompt tokens decoded before the generated ones, so that leading spaces come out as in the full text. */
    private static final int PREFIX_TOKENS = 4;

    private final HuggingFaceTokenizer tokenizer;
    private final Optional<String> eosToken;
    private final Optional<String> bosToken;
    private final Optional<String> chatTemplate;
    private final int maxTokenBytes;

    private TextTokenizer(HuggingFaceTokenizer tokenizer, Optional<String> eosToken, Optional<String> bosToken,
            Optional<String> chatTemplate, int maxTokenBytes) {
        this.tokenizer = tokenizer;
        this.maxTokenBytes = maxTokenBytes;
        this.eosToken = eosToken;
        this.bosToken = bosToken;
        this.chatTemplate = chatTemplate;
    }

    public static TextTokenizer load(Path directory) {
        Path file = directory.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(directory + ": tokenizer.json is missing");
        }
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(file, Map.of(
                    "truncation", "false", "padding", "false", "addSpecialTokens", "true"));
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException("tokenizer.json: cannot be loaded: " + e.getMessage(), e);
        }
        JsonNode config = readConfig(directory.resolve("tokenizer_config.json"));
        return new TextTokenizer(tokenizer, special(config, "eos_token"), special(config, "bos_token"),
                chatTemplate(config), maxTokenBytes(file));
    }

    private static JsonNode readConfig(Path path) {
        if (!Files.isRegularFile(path)) {
            return JsonMapper.builder().build().createObjectNode();
        }
        try {
            return JsonMapper.builder().build().readTree(path.toFile());
        } catch (RuntimeException e) {
            throw new CheckpointException("tokenizer_config.json: not valid JSON: " + e.getMessage(), e);
        }
    }

    /** A string, or a list of {name, template} of which "default" is taken. */
    private static Optional<String> chatTemplate(JsonNode config) {
        JsonNode t = config.path("chat_template");
        if (t.isString()) {
            return Optional.of(t.asString());
        }
        if (t.isArray()) {
            for (JsonNode named : t) {
                if (named.path("name").asString("").equals("default") && named.path("template").isString()) {
                    return Optional.of(named.path("template").asString());
                }
            }
        }
        return Optional.empty();
    }

    /** A special token is a string or an AddedToken object with "content". */
    private static Optional<String> special(JsonNode config, String key) {
        JsonNode node = config.path(key);
        if (node.isString()) {
            return Optional.of(node.asString());
        }
        if (node.isObject() && node.path("content").isString()) {
            return Optional.of(node.path("content").asString());
        }
        return Optional.empty();
    }

    /**
     * The most UTF-8 bytes one token stands for, from the vocabulary: a text of more bytes than
     * {@code n} times this has more than {@code n} tokens, so no more of it needs tokenizing to know.
     */
    private static int maxTokenBytes(Path file) {
        try {
            JsonNode root = JsonMapper.builder().build().readTree(file.toFile());
            int longest = 1;
            JsonNode vocab = root.path("model").path("vocab");
            if (vocab.isObject()) {
                for (String piece : vocab.propertyNames()) {
                    longest = Math.max(longest, piece.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
                }
            } else if (vocab.isArray()) { // Unigram: [piece, score] pairs
                for (JsonNode entry : vocab) {
                    longest = Math.max(longest, entry.path(0).asString("").getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
                }
            }
            for (JsonNode added : root.path("added_tokens")) {
                longest = Math.max(longest, added.path("content").asString("").getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
            }
            return longest;
        } catch (RuntimeException e) {
            return 1024;
        }
    }

    /** A prompt with more tokens than the caller can keep; counted only as far as needed to know. */
    public static final class TooManyTokensException extends RuntimeException {
        private final int atLeast;

        TooManyTokensException(int atLeast) {
            super("more than " + atLeast + " tokens");
            this.atLeast = atLeast;
        }

        /** Tokens counted before giving up: the text has at least this many. */
        public int atLeast() {
            return atLeast;
        }
    }

    /**
     * The tokens of {@code text}, or {@link TooManyTokensException} when there are more than {@code maxTokens}.
     * Work is bounded by {@code maxTokens}, not by the text: a 5 MB prompt for a 1,024-token context is
     * refused after tokenizing only its first {@code maxTokens} tokens' worth of bytes.
     */
    public int[] encodeAtMost(String text, boolean addSpecialTokens, int maxTokens) {
        long window = (long) maxTokens * maxTokenBytes + 16;
        if (text.length() > window) {
            // Characters are at least one UTF-8 byte each, so this prefix holds at least `window` bytes.
            int[] head = encode(text.substring(0, (int) window), addSpecialTokens);
            if (head.length > maxTokens + 1) {
                throw new TooManyTokensException(head.length - 1);
            }
        }
        int[] ids = encode(text, addSpecialTokens);
        if (ids.length > maxTokens) {
            throw new TooManyTokensException(ids.length);
        }
        return ids;
    }

    /**
     * The last {@code keep} tokens of {@code text} (all of them if it has fewer), tokenizing only a suffix
     * long enough to hold them, as left truncation needs.
     */
    public int[] encodeTail(String text, int keep) {
        long window = (long) keep * maxTokenBytes + 16;
        if (text.length() > window) {
            int[] tail = encode(text.substring(text.length() - (int) window), false);
            // The suffix's first token may be cut mid-word: it is dropped unless the text is all kept.
            if (tail.length > keep) {
                return java.util.Arrays.copyOfRange(tail, tail.length - keep, tail.length);
            }
        }
        int[] ids = encode(text);
        return ids.length > keep ? java.util.Arrays.copyOfRange(ids, ids.length - keep, ids.length) : ids;
    }

    public int[] encode(String text) {
        return encode(text, true);
    }

    /** Chat templates write their own special tokens: render them with {@code addSpecialTokens} false. */
    public int[] encode(String text, boolean addSpecialTokens) {
        Encoding encoding = tokenizer.encode(text, addSpecialTokens, false);
        long[] ids = encoding.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] longs = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            longs[i] = ids[i];
        }
        return tokenizer.decode(longs, skipSpecialTokens);
    }

    /** The id of a string that is exactly one token of the vocabulary (a special token, say). */
    public Optional<Integer> singleTokenId(String token) {
        Encoding e = tokenizer.encode(token, false, false);
        long[] ids = e.getIds();
        if (ids.length == 1 && decode(new int[] {(int) ids[0]}, false).equals(token)) {
            return Optional.of((int) ids[0]);
        }
        return Optional.empty();
    }

    /**
     * The id of a special token ({@code <|endoftext|>}, {@code </s>}): one token that decoding without
     * special tokens drops, so that it can only ever be matched by id, never in the text.
     */
    public Optional<Integer> specialTokenId(String token) {
        return singleTokenId(token).filter(id -> decode(new int[] {id}, true).isEmpty());
    }

    public Optional<String> eosToken() {
        return eosToken;
    }

    /** The tokenizer_config.json chat_template (the "default" one when several are named), if any. */
    public Optional<String> chatTemplate() {
        return chatTemplate;
    }

    public Optional<String> bosToken() {
        return bosToken;
    }

    @Override
    public String generatedText(int[] prompt, int[] generated) {
        int from = Math.max(0, prompt.length - PREFIX_TOKENS);
        int[] prefix = java.util.Arrays.copyOfRange(prompt, from, prompt.length);
        int[] joined = java.util.Arrays.copyOf(prefix, prefix.length + generated.length);
        System.arraycopy(generated, 0, joined, prefix.length, generated.length);
        String prefixText = decode(prefix, true);
        String full = decode(joined, true);
        return full.startsWith(prefixText) ? full.substring(prefixText.length()) : decode(generated, true);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
