package io.github.transformerslm.model.nn;

import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The one way an architecture binds config.json into its config record: the record's Hugging Face defaults
 * fill the keys the file leaves out or sets to null, then Jackson binds by the Hugging Face field names.
 * Defaults that follow from other keys (a head size from the hidden size) stay in the record's constructor.
 */
public final class Configs {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private Configs() {}

    public static <T> T bind(JsonNode config, Class<T> type, Map<String, Object> defaults) {
        ObjectNode merged = config != null && config.isObject() ? ((ObjectNode) config).deepCopy() : JSON.createObjectNode();
        defaults.forEach((key, value) -> {
            JsonNode present = merged.get(key);
            if (present == null || present.isNull()) {
                merged.set(key, JSON.valueToTree(value));
            }
        });
        return JSON.treeToValue(merged, type);
    }

    public static <T> T orDefault(T value, T fallback) {
        return value != null ? value : fallback;
    }
}
