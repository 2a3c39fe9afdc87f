package io.github.transformerslm.web;

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
 * Request bodies bound to the endpoints' records, and what is wrong with one that does not bind: the field
 * at fault, as a JSON path, and what it must be ({@link #fieldError}).
 */
public final class JsonBodies {
    private JsonBodies() {}

    public static JsonNode requireObject(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new InvalidRequestException("$", "the request body must be a JSON object");
        }
        return body;
    }

    /**
     * {@code body} bound to {@code type} by {@code json} (the service's mapper, strict about scalars:
     * StrictRequestBodies); a field that does not bind is refused naming it ({@link #fieldError}).
     */
    public static <T> T bind(tools.jackson.databind.ObjectMapper json, JsonNode body, Class<T> type) {
        requireObject(body);
        try {
            return json.treeToValue(body, type);
        } catch (JacksonException e) {
            throw fieldError(e);
        }
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
