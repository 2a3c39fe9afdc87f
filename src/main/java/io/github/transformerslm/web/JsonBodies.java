package io.github.transformerslm.web;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.InputCoercionException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;

/**
 * Request bodies, and what is wrong with one: a body bound to a record names the field Jackson could not
 * bind ({@link #fieldError}); a JSON tree read field by field names its path the same way.
 */
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

    /**
     * What a request body that did not bind says to the client: the field at fault (a JSON path such as
     * {@code messages[2].content}, {@code $} for the body itself) and what it must be. {@code cause}: the
     * exception Spring's message converter failed with (its cause is Jackson's).
     */
    public static InvalidRequestException fieldError(Throwable cause) {
        Throwable found = cause;
        while (found != null && !(found instanceof JacksonException)) {
            found = found.getCause();
        }
        if (!(found instanceof JacksonException jackson) || jackson.getPath().isEmpty()) {
            return found instanceof StreamReadException && !(found instanceof InputCoercionException)
                    ? new InvalidRequestException("$", "the request body is not valid JSON")
                    : new InvalidRequestException("$", "the request body must be a JSON object");
        }
        String field = path(jackson.getPath());
        if (jackson instanceof UnrecognizedPropertyException) {
            return new InvalidRequestException(field, "unrecognized request argument: " + field);
        }
        Class<?> target = jackson instanceof MismatchedInputException m ? m.getTargetType()
                : jackson instanceof InputCoercionException c ? c.getTargetType() : null;
        return new InvalidRequestException(field, field + " must be " + kind(target));
    }

    private static String path(List<JacksonException.Reference> references) {
        StringBuilder path = new StringBuilder();
        for (JacksonException.Reference r : references) {
            if (r.getPropertyName() != null) {
                path.append(path.isEmpty() ? "" : ".").append(r.getPropertyName());
            } else if (r.getIndex() >= 0) {
                path.append('[').append(r.getIndex()).append(']');
            }
        }
        return path.isEmpty() ? "$" : path.toString();
    }

    private static String kind(Class<?> type) {
        if (type == null) {
            return "of another type";
        }
        if (type == String.class) {
            return "a string";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "an integer";
        }
        if (Number.class.isAssignableFrom(type) || type.isPrimitive()) {
            return "a number";
        }
        if (type.isArray() || Collection.class.isAssignableFrom(type)) {
            return "a list";
        }
        if (JsonNode.class.isAssignableFrom(type) || Map.class.isAssignableFrom(type) || type.isRecord()) {
            return "a JSON object";
        }
        return "of another type";
    }
}
