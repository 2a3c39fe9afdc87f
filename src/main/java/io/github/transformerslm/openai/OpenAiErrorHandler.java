package io.github.transformerslm.openai;

import io.github.transformerslm.serving.ClientDisconnectedException;
import io.github.transformerslm.serving.ClientLimitException;
import io.github.transformerslm.serving.ModelNotReadyException;
import io.github.transformerslm.serving.QueueFullException;
import io.github.transformerslm.serving.RequestTimeoutException;
import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.web.InvalidRequestException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * Errors of the /v1 endpoints in OpenAI's shape, {"error": {"message", "type", "param", "code"}}, which
 * its SDKs parse; the rest of the service answers RFC 9457 problem details.
 */
@RestControllerAdvice(basePackageClasses = OpenAiErrorHandler.class)
@Order(Ordered.HIGHEST_PRECEDENCE)
class OpenAiErrorHandler {
    private static final Logger log = LoggerFactory.getLogger(OpenAiErrorHandler.class);

    @ExceptionHandler(OpenAiException.class)
    ResponseEntity<OpenAiBodies.ErrorBody> openAi(OpenAiException e) {
        return error(e.status(), e.getMessage(), "invalid_request_error", e.param(), e.code());
    }

    /** Named as the client named it: n, not num_return_sequences; max_tokens or max_completion_tokens. */
    @ExceptionHandler(InvalidParameterException.class)
    ResponseEntity<OpenAiBodies.ErrorBody> invalidParameter(InvalidParameterException e, jakarta.servlet.http.HttpServletRequest request) {
        Object sent = request.getAttribute(SamplingParameters.SENT_KEYS);
        java.util.Set<String> keys = sent instanceof java.util.Set<?> set
                ? set.stream().map(String::valueOf).collect(java.util.stream.Collectors.toSet()) : java.util.Set.of();
        String ours = e.field();
        String theirs = SamplingParameters.openAiName(ours, keys);
        String message = ours.equals(theirs) ? e.getMessage()
                : e.getMessage().replaceAll("\\b" + java.util.regex.Pattern.quote(ours) + "\\b", theirs);
        return error(400, message, "invalid_request_error", theirs, null);
    }

    @ExceptionHandler({org.springframework.web.HttpMediaTypeNotAcceptableException.class,
            org.springframework.http.InvalidMediaTypeException.class})
    ResponseEntity<OpenAiBodies.ErrorBody> notAcceptable(Exception e) {
        return error(406, "this endpoint answers application/json (and text/event-stream when streaming); the Accept"
                + " header allows neither", "invalid_request_error", null, "not_acceptable");
    }

    @ExceptionHandler(io.github.transformerslm.chat.ConversationRejectedException.class)
    ResponseEntity<OpenAiBodies.ErrorBody> conversationRejected(io.github.transformerslm.chat.ConversationRejectedException e) {
        return error(400, e.getMessage(), "invalid_request_error", e.field(), null);
    }

    @ExceptionHandler(InvalidRequestException.class)
    ResponseEntity<OpenAiBodies.ErrorBody> invalidRequest(InvalidRequestException e) {
        return error(400, e.getMessage(), "invalid_request_error", e.field(), null);
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    ResponseEntity<OpenAiBodies.ErrorBody> unreadable(HttpMessageNotReadableException e) {
        InvalidRequestException invalid = io.github.transformerslm.web.JsonBodies.fieldError(e);
        return error(400, invalid.getMessage(), "invalid_request_error", invalid.field().equals("$") ? null : invalid.field(),
                null);
    }

    @ExceptionHandler({ModelNotReadyException.class, QueueFullException.class})
    ResponseEntity<OpenAiBodies.ErrorBody> unavailable(RuntimeException e) {
        return withRetry(error(503, e.getMessage(), "server_error", null, "service_unavailable"));
    }

    @ExceptionHandler(ClientLimitException.class)
    ResponseEntity<OpenAiBodies.ErrorBody> clientLimit(ClientLimitException e) {
        return withRetry(error(429, e.getMessage(), "rate_limit_error", null, "rate_limit_exceeded"));
    }

    @ExceptionHandler(RequestTimeoutException.class)
    ResponseEntity<OpenAiBodies.ErrorBody> timeout(RequestTimeoutException e) {
        return error(504, e.getMessage(), "server_error", null, "timeout");
    }

    /** Nobody reads this answer; 499 is what nginx logs for a client that closed its request. */
    @ExceptionHandler(ClientDisconnectedException.class)
    ResponseEntity<OpenAiBodies.ErrorBody> clientGone(ClientDisconnectedException e, jakarta.servlet.http.HttpServletRequest request) {
        log.info("499 {} {}: the client closed the connection; its generation was cancelled", request.getMethod(),
                request.getRequestURI());
        return error(499, e.getMessage(), "server_error", null, "client_closed_request");
    }

    /** A stream's client went away while it was being written: an everyday event, not an error. */
    @ExceptionHandler(org.springframework.web.context.request.async.AsyncRequestNotUsableException.class)
    void streamClientGone(jakarta.servlet.http.HttpServletRequest request) {
        // SseChannel logs the 499 once at INFO.
        log.debug("{} {}: write to a closed stream", request.getMethod(), request.getRequestURI());
    }

    /** Our own bug: logged whole under an id; the client gets the id, no class name or internal message. */
    @ExceptionHandler(Exception.class)
    ResponseEntity<OpenAiBodies.ErrorBody> internal(Exception e) {
        String id = io.github.transformerslm.web.InternalErrors.id();
        log.error("OpenAI request failed (error {})", id, e);
        return error(500, "the service failed to answer; the service log has the details under error " + id,
                "server_error", null, null);
    }

    private static ResponseEntity<OpenAiBodies.ErrorBody> withRetry(ResponseEntity<OpenAiBodies.ErrorBody> r) {
        return ResponseEntity.status(r.getStatusCode()).header(HttpHeaders.RETRY_AFTER, "5")
                .contentType(MediaType.APPLICATION_JSON).body(r.getBody());
    }

    static ResponseEntity<OpenAiBodies.ErrorBody> error(int status, String message, String type, String param,
            String code) {
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_JSON)
                .body(new OpenAiBodies.ErrorBody(new OpenAiBodies.Error(message, type, param, code)));
    }
}
