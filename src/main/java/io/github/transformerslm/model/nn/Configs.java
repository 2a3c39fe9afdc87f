package io.github.transformerslm.model.nn;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Binding config.json into an architecture's config record. */
public final class Configs {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private Configs() {}

    public static <T> T bind(JsonNode config, Class<T> type) {
        return JSON.treeToValue(config, type);
    }

    public static <T> T orDefault(T value, T fallback) {
        return value != null ? value : fallback;
    }
}
