package io.github.transformerslm.model;

import io.github.transformerslm.weights.CheckpointException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The one way every architecture reads config.json. {@code config-defaults.json} holds, per architecture,
 * the defaults of its {@code transformers} config class (what a config.json may leave out) and its
 * {@code attribute_map} (its own names for {@link DecoderConfig}'s standard fields). A key the file leaves out
 * or sets to null takes the default; an architecture's own name fills the standard one unless the file sets
 * both. Then {@link #decoder()} binds the standard fields and {@link #bind} the architecture's own record.
 */
public final class ConfigJson {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final JsonNode ARCHITECTURES = readDefaults();

    private final ObjectNode merged;

    private ConfigJson(ObjectNode merged) {
        this.merged = merged;
    }

    /** {@code family}: the entry of config-defaults.json (Mistral and Qwen2 read Llama's). */
    static ConfigJson of(String family, JsonNode config) {
        JsonNode entry = ARCHITECTURES.get(family);
        if (entry == null) {
            throw new IllegalArgumentException("no defaults for " + family);
        }
        ObjectNode merged = config != null && config.isObject() ? ((ObjectNode) config).deepCopy() : JSON.createObjectNode();
        for (Map.Entry<String, JsonNode> d : entry.get("defaults").properties()) {
            if (absent(merged, d.getKey())) {
                merged.set(d.getKey(), d.getValue());
            }
        }
        for (Map.Entry<String, JsonNode> a : entry.get("attribute_map").properties()) {
            if (absent(merged, a.getKey()) && !absent(merged, a.getValue().asString())) {
                merged.set(a.getKey(), merged.get(a.getValue().asString()));
            }
        }
        return new ConfigJson(merged);
    }

    public DecoderConfig decoder() {
        return bind(DecoderConfig.class);
    }

    /** The architecture's own record; a value of the wrong type is the checkpoint's fault, named as such. */
    public <T> T bind(Class<T> type) {
        try {
            return JSON.treeToValue(merged, type);
        } catch (JacksonException e) {
            if (e.getCause() instanceof CheckpointException c) {
                throw c;
            }
            throw new CheckpointException("config.json: " + e.getOriginalMessage());
        }
    }

    private static boolean absent(ObjectNode node, String key) {
        JsonNode value = node.get(key);
        return value == null || value.isNull();
    }

    private static JsonNode readDefaults() {
        try (InputStream in = ConfigJson.class.getResourceAsStream("config-defaults.json")) {
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
