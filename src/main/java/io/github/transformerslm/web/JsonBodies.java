package io.github.transformerslm.web;

import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/** Reading request bodies field by field, so that every shape error names its JSON path. */
public final class JsonBodies {
    private JsonBodies() {}

    public static JsonNode requireObject(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new InvalidRequestException("$", "the request body must be a JSON object");
        }
        return body;
    }

    /** A list field, or null when absent or null. */
    public static List<JsonNode> optionalList(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isArray()) {
            throw new InvalidRequestException(field, field + " must be a list");
        }
        List<JsonNode> out = new ArrayList<>();
        n.forEach(out::add);
        return out;
    }

    public static String string(JsonNode n, String field) {
        if (n == null || !n.isString()) {
            throw new InvalidRequestException(field, field + " must be a string");
        }
        return n.asString();
    }

    public static List<String> strings(JsonNode n, String field) {
        if (n == null || !n.isArray()) {
            throw new InvalidRequestException(field, field + " must be a list of strings");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            out.add(string(n.get(i), field + "[" + i + "]"));
        }
        return out;
    }
}
